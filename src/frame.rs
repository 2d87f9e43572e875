//! Borrowed frame views: pixel format, size and explicit strides, no hidden copies; and
//! [`FrameBuf`], an owned frame that lends them.

use crate::{Error, Result};

/// Pixel layouts the dewarpers read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 8-bit RGBA, one plane.
    Rgba8,
    /// 8-bit RGB, one plane.
    Rgb8,
    /// 8-bit grey, one plane.
    Gray8,
    /// 8-bit YUV 4:2:0: Y, then U and V at half resolution (rounded up), three planes.
    I420,
    /// 8-bit YUV 4:2:0: Y, then interleaved UV at half resolution (rounded up), two planes.
    Nv12,
}

impl PixelFormat {
    /// Number of planes.
    #[must_use]
    pub fn plane_count(self) -> usize {
        match self {
            Self::Rgba8 | Self::Rgb8 | Self::Gray8 => 1,
            Self::Nv12 => 2,
            Self::I420 => 3,
        }
    }

    /// Whether this is a YUV format.
    #[must_use]
    pub fn is_yuv(self) -> bool {
        matches!(self, Self::I420 | Self::Nv12)
    }

    /// Width, height and channel count of plane `index` for a `width × height` frame.
    #[must_use]
    pub fn plane_shape(self, index: usize, width: u32, height: u32) -> (u32, u32, usize) {
        let chroma = (width.div_ceil(2), height.div_ceil(2));
        match (self, index) {
            (Self::Rgba8, _) => (width, height, 4),
            (Self::Rgb8, _) => (width, height, 3),
            (Self::Gray8, _) | (Self::I420 | Self::Nv12, 0) => (width, height, 1),
            (Self::Nv12, _) => (chroma.0, chroma.1, 2),
            (Self::I420, _) => (chroma.0, chroma.1, 1),
        }
    }
}

/// YUV → RGB matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YuvMatrix {
    /// ITU-R BT.601 (SD video, JPEG).
    #[default]
    Bt601,
    /// ITU-R BT.709 (HD video).
    Bt709,
}

/// YUV value range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YuvRange {
    /// Y in 16..235, chroma in 16..240 ("TV", the video default).
    #[default]
    Limited,
    /// 0..255 ("PC", JPEG).
    Full,
}

/// How a YUV frame's values map to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YuvColor {
    /// The matrix.
    pub matrix: YuvMatrix,
    /// The range.
    pub range: YuvRange,
}

impl YuvColor {
    /// `(Kr, Kb)` of the matrix.
    #[must_use]
    pub fn coefficients(self) -> (f32, f32) {
        match self.matrix {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
        }
    }

    /// RGB (0..255, unclamped) of a YUV triple (0..255 code values).
    #[must_use]
    pub fn to_rgb(self, y: f32, u: f32, v: f32) -> [f32; 3] {
        let (kr, kb) = self.coefficients();
        let kg = 1.0 - kr - kb;
        let (y, cb, cr) = match self.range {
            YuvRange::Limited => (
                (y - 16.0) * (255.0 / 219.0),
                (u - 128.0) * (255.0 / 224.0),
                (v - 128.0) * (255.0 / 224.0),
            ),
            YuvRange::Full => (y, u - 128.0, v - 128.0),
        };
        [
            y + (2.0 - 2.0 * kr) * cr,
            y - ((2.0 - 2.0 * kb) * kb / kg) * cb - ((2.0 - 2.0 * kr) * kr / kg) * cr,
            y + (2.0 - 2.0 * kb) * cb,
        ]
    }

    /// YUV code values (rounded) of an RGB colour.
    #[must_use]
    pub fn from_rgb(self, rgb: [u8; 3]) -> [u8; 3] {
        let (kr, kb) = self.coefficients();
        let [r, g, b] = rgb.map(f32::from);
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let cb = (b - y) / (2.0 - 2.0 * kb);
        let cr = (r - y) / (2.0 - 2.0 * kr);
        let (y, u, v) = match self.range {
            YuvRange::Limited => (
                16.0 + y * (219.0 / 255.0),
                128.0 + cb * (224.0 / 255.0),
                128.0 + cr * (224.0 / 255.0),
            ),
            YuvRange::Full => (y, 128.0 + cb, 128.0 + cr),
        };
        [y, u, v].map(|c| c.round().clamp(0.0, 255.0) as u8)
    }
}

/// One image plane: bytes and the distance between row starts.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    /// Pixel bytes, row after row.
    pub data: &'a [u8],
    /// Bytes from one row's start to the next.
    pub stride: usize,
}

/// A borrowed frame: format, size, planes.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: [Plane<'a>; 3],
    color: YuvColor,
}

fn check_plane(
    format: PixelFormat,
    index: usize,
    (width, height): (u32, u32),
    data_len: usize,
    stride: usize,
) -> Result<()> {
    let (w, h, c) = format.plane_shape(index, width, height);
    let row = w as usize * c;
    if stride < row {
        return Err(Error::FrameLayout(format!(
            "plane {index}: stride {stride} is less than a row of {row} bytes"
        )));
    }
    let needed = stride * (h as usize - 1) + row;
    if data_len < needed {
        return Err(Error::FrameLayout(format!(
            "plane {index}: {data_len} bytes, {needed} needed for {w}×{h}×{c} at stride {stride}"
        )));
    }
    Ok(())
}

fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::FrameLayout(format!("empty frame {width}×{height}")));
    }
    if width > 1 << 16 || height > 1 << 16 {
        return Err(Error::FrameLayout(format!(
            "frame {width}×{height} is too large"
        )));
    }
    Ok(())
}

impl<'a> Frame<'a> {
    /// A frame from its planes (`planes.len()` = the format's plane count), checked.
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: &[Plane<'a>],
        color: YuvColor,
    ) -> Result<Self> {
        check_size(width, height)?;
        if planes.len() != format.plane_count() {
            return Err(Error::FrameLayout(format!(
                "{format:?} needs {} planes, got {}",
                format.plane_count(),
                planes.len()
            )));
        }
        let mut all = [Plane {
            data: &[],
            stride: 0,
        }; 3];
        for (i, p) in planes.iter().enumerate() {
            check_plane(format, i, (width, height), p.data.len(), p.stride)?;
            all[i] = *p;
        }
        Ok(Self {
            format,
            width,
            height,
            planes: all,
            color,
        })
    }

    /// A tightly packed one-plane frame (RGBA8, RGB8 or Gray8).
    pub fn packed(format: PixelFormat, width: u32, height: u32, data: &'a [u8]) -> Result<Self> {
        if format.is_yuv() {
            return Err(Error::FrameLayout(format!(
                "{format:?} is not a packed format"
            )));
        }
        let (_, _, c) = format.plane_shape(0, width, height);
        Self::new(
            format,
            width,
            height,
            &[Plane {
                data,
                stride: width as usize * c,
            }],
            YuvColor::default(),
        )
    }

    /// A view of an `image` crate RGBA buffer.
    pub fn from_rgba_image(image: &'a image::RgbaImage) -> Result<Self> {
        Self::packed(
            PixelFormat::Rgba8,
            image.width(),
            image.height(),
            image.as_raw(),
        )
    }

    /// A view of an `image` crate RGB buffer.
    pub fn from_rgb_image(image: &'a image::RgbImage) -> Result<Self> {
        Self::packed(
            PixelFormat::Rgb8,
            image.width(),
            image.height(),
            image.as_raw(),
        )
    }

    /// A view of an `image` crate grey buffer.
    pub fn from_gray_image(image: &'a image::GrayImage) -> Result<Self> {
        Self::packed(
            PixelFormat::Gray8,
            image.width(),
            image.height(),
            image.as_raw(),
        )
    }

    /// Pixel format.
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width, pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height, pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Plane `index`.
    #[must_use]
    pub fn plane(&self, index: usize) -> Plane<'a> {
        self.planes[index]
    }

    /// YUV colour description (ignored for RGB and grey frames).
    #[must_use]
    pub fn color(&self) -> YuvColor {
        self.color
    }
}

/// A mutable plane of an output frame.
#[derive(Debug)]
pub struct PlaneMut<'a> {
    /// Pixel bytes, row after row.
    pub data: &'a mut [u8],
    /// Bytes from one row's start to the next.
    pub stride: usize,
}

/// A caller-owned output frame.
#[derive(Debug)]
pub struct FrameMut<'a> {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: Vec<PlaneMut<'a>>,
}

impl<'a> FrameMut<'a> {
    /// An output frame from its planes, checked. YUV outputs are I420.
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: Vec<PlaneMut<'a>>,
    ) -> Result<Self> {
        check_size(width, height).map_err(|e| Error::OutputLayout(e.to_string()))?;
        if format == PixelFormat::Nv12 {
            return Err(Error::OutputLayout(
                "NV12 output is not supported; use I420".into(),
            ));
        }
        if planes.len() != format.plane_count() {
            return Err(Error::OutputLayout(format!(
                "{format:?} needs {} planes, got {}",
                format.plane_count(),
                planes.len()
            )));
        }
        for (i, p) in planes.iter().enumerate() {
            check_plane(format, i, (width, height), p.data.len(), p.stride)
                .map_err(|e| Error::OutputLayout(e.to_string()))?;
        }
        Ok(Self {
            format,
            width,
            height,
            planes,
        })
    }

    /// A tightly packed one-plane output (RGBA8, RGB8 or Gray8).
    pub fn packed(
        format: PixelFormat,
        width: u32,
        height: u32,
        data: &'a mut [u8],
    ) -> Result<Self> {
        if format.is_yuv() {
            return Err(Error::OutputLayout(format!(
                "{format:?} is not a packed format"
            )));
        }
        let (_, _, c) = format.plane_shape(0, width, height);
        Self::new(
            format,
            width,
            height,
            vec![PlaneMut {
                data,
                stride: width as usize * c,
            }],
        )
    }

    /// Pixel format.
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width, pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height, pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The planes, for writing.
    pub fn planes_mut(&mut self) -> &mut [PlaneMut<'a>] {
        &mut self.planes
    }
}

/// An owned frame: tightly packed planes of one format and size, the buffer a video loop
/// dewarps into and encodes from. [`FrameBuf::frame`] and [`FrameBuf::frame_mut`] lend the
/// borrowed views the dewarpers take.
///
/// ```
/// use omnidewarp::{FrameBuf, PixelFormat};
/// # fn main() -> omnidewarp::Result<()> {
/// let mut buf = FrameBuf::new(PixelFormat::I420, 641, 361)?;
/// buf.frame_mut()?.planes_mut()[1].data.fill(128);
/// assert_eq!(buf.frame()?.plane(1).stride, 321);
/// assert!(buf.plane(1).iter().all(|&u| u == 128));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameBuf {
    format: PixelFormat,
    width: u32,
    height: u32,
    color: YuvColor,
    /// The planes one after the other.
    data: Vec<u8>,
    /// Where each plane starts in `data`, and where the last one ends.
    bounds: Vec<usize>,
}

impl FrameBuf {
    /// A zeroed `width × height` frame of `format`, rows without padding.
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Result<Self> {
        check_size(width, height)?;
        let mut bounds = vec![0];
        for k in 0..format.plane_count() {
            let (w, h, c) = format.plane_shape(k, width, height);
            bounds.push(bounds[k] + w as usize * c * h as usize);
        }
        Ok(Self {
            format,
            width,
            height,
            color: YuvColor::default(),
            data: vec![0; bounds[bounds.len() - 1]],
            bounds,
        })
    }

    /// Pixel format.
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width, pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height, pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The YUV colour description [`FrameBuf::frame`] carries (BT.601 limited by default).
    #[must_use]
    pub fn color(&self) -> YuvColor {
        self.color
    }

    /// Sets the YUV colour description (that of the frames dewarped into it, for YUV).
    pub fn set_color(&mut self, color: YuvColor) {
        self.color = color;
    }

    /// Bytes from one row of plane `index` to the next.
    fn stride(&self, index: usize) -> usize {
        let (w, _, c) = self.format.plane_shape(index, self.width, self.height);
        w as usize * c
    }

    /// The bytes of plane `index`, rows packed (empty for a plane the format lacks).
    #[must_use]
    pub fn plane(&self, index: usize) -> &[u8] {
        match (self.bounds.get(index), self.bounds.get(index + 1)) {
            (Some(&start), Some(&end)) => &self.data[start..end],
            _ => &[],
        }
    }

    /// The frame, to read (dewarp or encode from).
    pub fn frame(&self) -> Result<Frame<'_>> {
        let planes: Vec<Plane<'_>> = (0..self.format.plane_count())
            .map(|k| Plane {
                data: self.plane(k),
                stride: self.stride(k),
            })
            .collect();
        Frame::new(self.format, self.width, self.height, &planes, self.color)
    }

    /// The frame, to write (dewarp into); NV12 cannot be written.
    pub fn frame_mut(&mut self) -> Result<FrameMut<'_>> {
        let strides: Vec<usize> = (0..self.format.plane_count())
            .map(|k| self.stride(k))
            .collect();
        let mut planes = Vec::with_capacity(strides.len());
        let mut rest = self.data.as_mut_slice();
        for (k, stride) in strides.into_iter().enumerate() {
            let (plane, tail) = rest.split_at_mut(self.bounds[k + 1] - self.bounds[k]);
            planes.push(PlaneMut {
                data: plane,
                stride,
            });
            rest = tail;
        }
        FrameMut::new(self.format, self.width, self.height, planes)
    }
}

#[cfg(test)]
mod frame_buf_tests {
    use super::*;

    #[test]
    fn planes_have_their_format_shape() {
        for (format, sizes) in [
            (PixelFormat::Rgba8, vec![5 * 3 * 4]),
            (PixelFormat::Rgb8, vec![5 * 3 * 3]),
            (PixelFormat::Gray8, vec![5 * 3]),
            (PixelFormat::I420, vec![5 * 3, 3 * 2, 3 * 2]),
            (PixelFormat::Nv12, vec![5 * 3, 3 * 2 * 2]),
        ] {
            let buf = FrameBuf::new(format, 5, 3).unwrap();
            let got: Vec<usize> = (0..format.plane_count())
                .map(|k| buf.plane(k).len())
                .collect();
            assert_eq!(got, sizes, "{format:?}");
            let frame = buf.frame().unwrap();
            assert_eq!((frame.width(), frame.height()), (5, 3));
        }
        assert!(FrameBuf::new(PixelFormat::I420, 0, 3).is_err());
        assert!(
            FrameBuf::new(PixelFormat::Gray8, 2, 2)
                .unwrap()
                .plane(1)
                .is_empty()
        );
    }

    #[test]
    fn writes_through_frame_mut_are_read_back_per_plane() {
        let mut buf = FrameBuf::new(PixelFormat::I420, 3, 3).unwrap();
        buf.set_color(YuvColor {
            matrix: YuvMatrix::Bt709,
            range: YuvRange::Full,
        });
        {
            let mut frame = buf.frame_mut().unwrap();
            for (k, plane) in frame.planes_mut().iter_mut().enumerate() {
                plane.data.fill(10 * (k as u8 + 1));
            }
        }
        assert!(buf.plane(0).iter().all(|&v| v == 10));
        assert!(buf.plane(1).iter().all(|&v| v == 20));
        assert!(buf.plane(2).iter().all(|&v| v == 30));
        let frame = buf.frame().unwrap();
        assert_eq!(frame.plane(2).data, [30, 30, 30, 30]);
        assert_eq!(frame.color().matrix, YuvMatrix::Bt709);
        assert!(
            FrameBuf::new(PixelFormat::Nv12, 4, 4)
                .unwrap()
                .frame_mut()
                .is_err()
        );
    }
}
