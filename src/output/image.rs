//! Frames as `image` buffers, and saved as image files (atomically).

use std::path::Path;

use image::{DynamicImage, ImageFormat};

use super::AtomicFile;
use crate::frame::{Frame, PixelFormat, Plane};
use crate::{Error, Result};

/// A copy of `frame` as an `image` buffer: RGBA8, RGB8 and grey as they are; I420 and NV12
/// as RGB8, converted with the frame's [`YuvColor`](crate::YuvColor), each pixel's chroma
/// taken from its co-sited 2×2 block.
pub fn frame_to_image(frame: &Frame<'_>) -> Result<DynamicImage> {
    let (w, h) = (frame.width(), frame.height());
    let rows = |c: usize| -> Vec<u8> {
        let p = frame.plane(0);
        let row = w as usize * c;
        let mut out = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            // A frame's planes hold their rows (`Frame::new` checks); a short one fails below.
            if let Some(bytes) = p.data.get(y * p.stride..y * p.stride + row) {
                out.extend_from_slice(bytes);
            }
        }
        out
    };
    match frame.format() {
        PixelFormat::Rgba8 => image::RgbaImage::from_raw(w, h, rows(4)).map(Into::into),
        PixelFormat::Rgb8 => image::RgbImage::from_raw(w, h, rows(3)).map(Into::into),
        PixelFormat::Gray8 => image::GrayImage::from_raw(w, h, rows(1)).map(Into::into),
        PixelFormat::I420 | PixelFormat::Nv12 => {
            image::RgbImage::from_raw(w, h, yuv_to_rgb(frame)).map(Into::into)
        }
    }
    .ok_or_else(|| Error::OutputLayout(format!("{w}×{h} image buffer size")))
}

/// Saves `frame` as an image in the format of the path's extension (`.png`, `.jpg`/`.jpeg`),
/// converted as by [`frame_to_image`] (JPEG drops alpha). Atomic: the file is written beside
/// `path` under a temporary name and renamed over it when complete (see [the module
/// doc](super)); on any failure an existing file at `path` is untouched and nothing is left.
pub fn save_image(frame: &Frame<'_>, path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    if !format.writing_enabled() {
        return Err(Error::Image(image::ImageError::Unsupported(
            image::error::UnsupportedError::from_format_and_kind(
                format.into(),
                image::error::UnsupportedErrorKind::Format(format.into()),
            ),
        )));
    }
    let image = frame_to_image(frame)?;
    let image = if format == ImageFormat::Jpeg && image.color().has_alpha() {
        DynamicImage::ImageRgb8(image.to_rgb8())
    } else {
        image
    };
    let mut file = AtomicFile::create(path)?;
    image.write_to(&mut file, format)?;
    file.commit()
}

/// RGB8 of a YUV frame, chroma taken from the co-sited 2×2 block.
fn yuv_to_rgb(frame: &Frame<'_>) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let color = frame.color();
    let nv12 = frame.format() == PixelFormat::Nv12;
    let (yp, up) = (frame.plane(0), frame.plane(1));
    let vp = if nv12 { up } else { frame.plane(2) };
    // A frame's planes hold their pixels (`Frame::new` checks); a missing byte reads 0.
    let at = |p: Plane<'_>, i: usize| p.data.get(i).copied().unwrap_or(0);
    let mut out = vec![0u8; w * h * 3];
    for (i, pixel) in out.chunks_exact_mut(3).enumerate() {
        let (y, x) = (i / w, i % w);
        let luma = f32::from(at(yp, y * yp.stride + x));
        let (u, v) = if nv12 {
            let i = (y / 2) * up.stride + (x / 2) * 2;
            (at(up, i), at(up, i + 1))
        } else {
            (
                at(up, (y / 2) * up.stride + x / 2),
                at(vp, (y / 2) * vp.stride + x / 2),
            )
        };
        let rgb = color.to_rgb(luma, f32::from(u), f32::from(v));
        for (byte, value) in pixel.iter_mut().zip(rgb) {
            *byte = value.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FrameBuf, YuvColor};

    #[test]
    fn frames_become_images_of_their_layout() {
        let mut rgba = FrameBuf::new(PixelFormat::Rgba8, 3, 2).unwrap();
        rgba.frame_mut().planes_mut()[0]
            .data_mut()
            .copy_from_slice(&(0..24).collect::<Vec<u8>>());
        let img = frame_to_image(&rgba.frame()).unwrap();
        assert_eq!(img.as_bytes(), (0..24).collect::<Vec<u8>>());
        assert!(matches!(img, DynamicImage::ImageRgba8(_)));
        // A strided grey view keeps only the pixels.
        let data = [1u8, 2, 9, 3, 4, 9];
        let plane = crate::frame::Plane {
            data: &data,
            stride: 3,
        };
        let gray = Frame::new(PixelFormat::Gray8, 2, 2, &[plane], YuvColor::default()).unwrap();
        assert_eq!(frame_to_image(&gray).unwrap().as_bytes(), [1, 2, 3, 4]);
        // Mid-grey I420 (limited range) is RGB (128, 128, 128) give or take one.
        let mut yuv = FrameBuf::new(PixelFormat::I420, 4, 2).unwrap();
        for (k, v) in [(0, 126u8), (1, 128), (2, 128)] {
            yuv.frame_mut().planes_mut()[k].data_mut().fill(v);
        }
        let img = frame_to_image(&yuv.frame()).unwrap();
        assert!(matches!(img, DynamicImage::ImageRgb8(_)));
        assert!(
            img.as_bytes().iter().all(|&c| c.abs_diff(128) <= 1),
            "{:?}",
            img.as_bytes()
        );
    }

    #[test]
    fn save_refuses_formats_it_cannot_write_before_touching_the_disk() {
        let frame = FrameBuf::new(PixelFormat::Rgb8, 2, 2).unwrap();
        let dir = std::env::temp_dir().join(format!("omnidewarp-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["a.xyz", "a.gif", "noext"] {
            assert!(
                save_image(&frame.frame(), &dir.join(name)).is_err(),
                "{name}"
            );
        }
        save_image(&frame.frame(), &dir.join("a.jpg")).unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.jpg"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
