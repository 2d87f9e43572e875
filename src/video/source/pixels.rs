//! Decoded frames as I420/NV12 with their colour description (other pixel formats through
//! swscale).

use ff::format::Pixel;
use ff::frame;
use ffmpeg_next as ff;

use super::DecodedFrame;
use crate::frame::{PixelFormat, YuvColor, YuvMatrix, YuvRange};
use crate::{Error, Result};

/// A cached swscale context and the (format, width, height) it converts from.
pub(super) type Scaler = Option<(ff::software::scaling::Context, (Pixel, u32, u32))>;

/// The frame as I420/NV12 (converted by swscale when it is in another format).
pub(super) fn to_yuv(
    frame: frame::Video,
    pts: f64,
    index: u64,
    scaler: &mut Scaler,
) -> Result<DecodedFrame> {
    let direct = match frame.format() {
        Pixel::YUV420P => Some((PixelFormat::I420, false)),
        Pixel::YUVJ420P => Some((PixelFormat::I420, true)),
        Pixel::NV12 => Some((PixelFormat::Nv12, false)),
        _ => None,
    };
    let (frame, format, color) = match direct {
        Some((format, full)) => {
            let color = color_of(&frame, full);
            (frame, format, color)
        }
        None => {
            let (out, color) = convert_to_i420(&frame, scaler)?;
            (out, PixelFormat::I420, color)
        }
    };
    DecodedFrame {
        frame,
        format,
        color,
        pts,
        index,
    }
    .checked()
}

/// A frame in another pixel format converted to I420 by swscale, with the colour it then has.
fn convert_to_i420(frame: &frame::Video, scaler: &mut Scaler) -> Result<(frame::Video, YuvColor)> {
    let (w, h) = (frame.width(), frame.height());
    let src = frame.format();
    let name = src.descriptor().map_or("", |d| d.name());
    let rgb = ["rgb", "bgr", "gbr", "pal8", "argb", "abgr"]
        .iter()
        .any(|k| name.contains(k));
    let full = name.starts_with("yuvj");
    let dst = if full {
        Pixel::YUVJ420P
    } else {
        Pixel::YUV420P
    };
    let key = (src, w, h);
    if scaler.as_ref().is_none_or(|(_, k)| *k != key) {
        let ctx = ff::software::scaling::Context::get(
            src,
            w,
            h,
            dst,
            w,
            h,
            ff::software::scaling::Flags::BILINEAR,
        )
        .map_err(|e| Error::Video(format!("no conversion from {name}: {e}")))?;
        *scaler = Some((ctx, key));
    }
    let mut out = frame::Video::empty();
    if let Some((ctx, _)) = scaler.as_mut() {
        ctx.run(frame, &mut out)
            .map_err(|e| Error::Video(format!("conversion from {name} failed: {e}")))?;
    }
    let color = if rgb {
        YuvColor {
            matrix: YuvMatrix::Bt601,
            range: YuvRange::Limited,
        }
    } else {
        color_of(frame, full)
    };
    Ok((out, color))
}

/// The YUV description of a decoded frame. Unspecified matrices are taken as BT.601, as
/// FFmpeg's own conversions do.
fn color_of(frame: &frame::Video, full: bool) -> YuvColor {
    use ff::color::{Range, Space};
    let matrix = match frame.color_space() {
        Space::BT709 => YuvMatrix::Bt709,
        _ => YuvMatrix::Bt601,
    };
    let range = if full || frame.color_range() == Range::JPEG {
        YuvRange::Full
    } else {
        YuvRange::Limited
    };
    YuvColor { matrix, range }
}
