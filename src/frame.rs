//! Borrowed frame views: pixel format, size and explicit strides, no hidden copies; and
//! [`FrameBuf`], an owned frame that lends them.

use crate::{Error, Result};

/// `format()`, `width()` and `height()` of the frame types, which all have those fields.
macro_rules! size_getters {
    () => {
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
    };
}

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

/// The row length of a tightly packed one-plane frame, or why `format` has none.
fn packed_stride(format: PixelFormat, width: u32) -> std::result::Result<usize, String> {
    if format.is_yuv() {
        return Err(format!("{format:?} is not a packed format"));
    }
    let (_, _, c) = format.plane_shape(0, width, 1);
    Ok(width as usize * c)
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
        for (i, (slot, p)) in all.iter_mut().zip(planes).enumerate() {
            check_plane(format, i, (width, height), p.data.len(), p.stride)?;
            *slot = *p;
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
        let stride = packed_stride(format, width).map_err(Error::FrameLayout)?;
        Self::new(
            format,
            width,
            height,
            &[Plane { data, stride }],
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

    size_getters!();

    /// Plane `index` (empty past the format's planes).
    #[must_use]
    pub fn plane(&self, index: usize) -> Plane<'a> {
        self.planes.get(index).copied().unwrap_or(Plane {
            data: &[],
            stride: 0,
        })
    }

    /// YUV colour description (ignored for RGB and grey frames).
    #[must_use]
    pub fn color(&self) -> YuvColor {
        self.color
    }
}

/// Runs `f` on a view of `image` in its own layout (8-bit grey, RGB or RGBA), or on an RGBA8
/// copy of any other (grey with alpha, 16-bit, float): how the CLI reads a still.
pub fn with_image<T, E: From<Error>>(
    image: &image::DynamicImage,
    f: impl FnOnce(&Frame<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    match image {
        image::DynamicImage::ImageLuma8(gray) => f(&Frame::from_gray_image(gray)?),
        image::DynamicImage::ImageRgb8(rgb) => f(&Frame::from_rgb_image(rgb)?),
        image::DynamicImage::ImageRgba8(rgba) => f(&Frame::from_rgba_image(rgba)?),
        other => f(&Frame::from_rgba_image(&other.to_rgba8())?),
    }
}

/// A mutable plane of an output frame: bytes and the distance between row starts, both
/// fixed when it is made, so a [`FrameMut`]'s checked layout cannot be broken through
/// [`FrameMut::planes_mut`]; the bytes are lent out, whole or row by row.
#[derive(Debug, Default)]
pub struct PlaneMut<'a> {
    data: &'a mut [u8],
    stride: usize,
    /// Bytes of pixels in a row and rows: set when a [`FrameMut`] checks the plane.
    row_bytes: usize,
    rows: usize,
}

impl<'a> PlaneMut<'a> {
    /// A plane of `data`, rows `stride` bytes apart; [`FrameMut::new`] checks it against
    /// the frame's format and size.
    pub fn new(data: &'a mut [u8], stride: usize) -> Self {
        Self {
            data,
            stride,
            row_bytes: 0,
            rows: 0,
        }
    }

    /// Bytes from one row's start to the next.
    #[must_use]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// All the plane's bytes, padding included.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// All the plane's bytes, padding included, to write.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.data
    }

    /// The pixel bytes of row `y` (no padding); empty past the last row.
    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        if y >= self.rows {
            return &mut [];
        }
        let (start, row_bytes) = (y * self.stride, self.row_bytes);
        self.data
            .get_mut(start..)
            .and_then(|row| row.get_mut(..row_bytes))
            .unwrap_or_default()
    }

    /// The rows' pixel bytes (no padding), top to bottom.
    pub fn rows_mut(&mut self) -> impl ExactSizeIterator<Item = &mut [u8]> + '_ {
        let (stride, row_bytes) = (self.stride.max(1), self.row_bytes);
        self.data
            .chunks_mut(stride)
            .take(self.rows)
            .map(move |row| row.get_mut(..row_bytes).unwrap_or_default())
    }
}

/// A caller-owned output frame.
#[derive(Debug)]
pub struct FrameMut<'a> {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: [PlaneMut<'a>; 3],
}

impl<'a> FrameMut<'a> {
    /// An output frame from its planes (as many as the format has), checked. Dewarpers
    /// write RGBA8, RGB8, Gray8 and I420; they refuse NV12 outputs.
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: impl IntoIterator<Item = PlaneMut<'a>>,
    ) -> Result<Self> {
        let layout = |e: Error| Error::OutputLayout(e.to_string());
        check_size(width, height).map_err(layout)?;
        let mut all: [PlaneMut<'a>; 3] = Default::default();
        let mut count = 0;
        for plane in planes {
            if let Some(slot) = all.get_mut(count) {
                *slot = plane;
            }
            count += 1;
        }
        if count != format.plane_count() {
            return Err(Error::OutputLayout(format!(
                "{format:?} needs {} planes, got {count}",
                format.plane_count(),
            )));
        }
        for (i, p) in all.iter_mut().enumerate().take(count) {
            check_plane(format, i, (width, height), p.data.len(), p.stride).map_err(layout)?;
            let (w, h, c) = format.plane_shape(i, width, height);
            (p.row_bytes, p.rows) = (w as usize * c, h as usize);
        }
        Ok(Self {
            format,
            width,
            height,
            planes: all,
        })
    }

    /// A tightly packed one-plane output (RGBA8, RGB8 or Gray8).
    pub fn packed(
        format: PixelFormat,
        width: u32,
        height: u32,
        data: &'a mut [u8],
    ) -> Result<Self> {
        let stride = packed_stride(format, width).map_err(Error::OutputLayout)?;
        Self::new(format, width, height, [PlaneMut::new(data, stride)])
    }

    size_getters!();

    /// The planes (as many as the format has), for writing.
    pub fn planes_mut(&mut self) -> &mut [PlaneMut<'a>] {
        let count = self.format.plane_count();
        self.planes.get_mut(..count).unwrap_or_default()
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
/// buf.frame_mut().planes_mut()[1].data_mut().fill(128);
/// assert_eq!(buf.frame().plane(1).stride, 321);
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
    /// Where each plane starts in `data`, and where the last one ends (entries past the
    /// format's planes repeat the end).
    bounds: [usize; 4],
}

impl FrameBuf {
    /// A zeroed `width × height` frame of `format`, rows without padding.
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Result<Self> {
        check_size(width, height)?;
        let mut bounds = [0; 4];
        let mut end = 0;
        for (k, bound) in bounds.iter_mut().skip(1).enumerate() {
            let (w, h, c) = format.plane_shape(k, width, height);
            if k < format.plane_count() {
                end += w as usize * c * h as usize;
            }
            *bound = end;
        }
        Ok(Self {
            format,
            width,
            height,
            color: YuvColor::default(),
            data: vec![0; end],
            bounds,
        })
    }

    size_getters!();

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
        match self.bounds.windows(2).nth(index) {
            Some(&[start, end]) => self.data.get(start..end).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The frame, to read (dewarp or encode from).
    #[must_use]
    pub fn frame(&self) -> Frame<'_> {
        let mut planes = [Plane {
            data: &[],
            stride: 0,
        }; 3];
        for (k, plane) in planes
            .iter_mut()
            .enumerate()
            .take(self.format.plane_count())
        {
            *plane = Plane {
                data: self.plane(k),
                stride: self.stride(k),
            };
        }
        // The layout was checked by `FrameBuf::new`.
        Frame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes,
            color: self.color,
        }
    }

    /// The frame, to write (dewarp into; dewarpers refuse NV12 outputs).
    pub fn frame_mut(&mut self) -> FrameMut<'_> {
        let (format, width, height) = (self.format, self.width, self.height);
        let mut planes: [PlaneMut<'_>; 3] = Default::default();
        let mut rest = self.data.as_mut_slice();
        let [b0, b1, b2, b3] = self.bounds;
        let sizes = [b1 - b0, b2 - b1, b3 - b2];
        for (k, (plane, size)) in planes.iter_mut().zip(sizes).enumerate() {
            if k >= format.plane_count() {
                break;
            }
            let (w, h, c) = format.plane_shape(k, width, height);
            let (data, tail) = rest.split_at_mut(size);
            let row_bytes = w as usize * c;
            *plane = PlaneMut {
                data,
                stride: row_bytes,
                row_bytes,
                rows: h as usize,
            };
            rest = tail;
        }
        // The layout was checked by `FrameBuf::new`.
        FrameMut {
            format,
            width,
            height,
            planes,
        }
    }
}

#[cfg(test)]
mod frame_buf_tests {
    use super::*;

    #[test]
    fn planes_mut_lend_rows_but_keep_their_layout() {
        let mut data = vec![0u8; 3 * 8];
        let mut frame =
            FrameMut::new(PixelFormat::Rgb8, 2, 3, [PlaneMut::new(&mut data, 8)]).unwrap();
        let plane = &mut frame.planes_mut()[0];
        assert_eq!((plane.stride(), plane.rows_mut().len()), (8, 3));
        for (j, row) in plane.rows_mut().enumerate() {
            assert_eq!(row.len(), 6);
            row.fill(j as u8 + 1);
        }
        plane.row_mut(1)[0] = 9;
        assert!(plane.row_mut(3).is_empty());
        assert_eq!(&data[..9], [1, 1, 1, 1, 1, 1, 0, 0, 9]);
        // A plane too short for its stride is refused when the frame is made.
        let mut short = vec![0u8; 20];
        assert!(FrameMut::new(PixelFormat::Rgb8, 2, 3, [PlaneMut::new(&mut short, 8)]).is_err());
    }

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
            let frame = buf.frame();
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
            let mut frame = buf.frame_mut();
            for (k, plane) in frame.planes_mut().iter_mut().enumerate() {
                plane.data_mut().fill(10 * (k as u8 + 1));
            }
        }
        assert!(buf.plane(0).iter().all(|&v| v == 10));
        assert!(buf.plane(1).iter().all(|&v| v == 20));
        assert!(buf.plane(2).iter().all(|&v| v == 30));
        let frame = buf.frame();
        assert_eq!(frame.plane(2).data, [30, 30, 30, 30]);
        assert_eq!(frame.color().matrix, YuvMatrix::Bt709);
        // NV12 can be described but not written: tests/frames.rs checks that dewarpers
        // refuse it as an output.
        let mut nv12 = FrameBuf::new(PixelFormat::Nv12, 4, 4).unwrap();
        assert_eq!(nv12.frame_mut().planes_mut().len(), 2);
    }
}
