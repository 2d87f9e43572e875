//! Video files and live streams (feature `video`, through the system FFmpeg).
//!
//! - [`VideoSource`] opens a file, URL (http(s), HLS, RTSP, RTMP, SRT, UDP/TCP mpegts) or
//!   V4L2 device and decodes in a background thread into a bounded queue; frames come out as
//!   borrowed I420/NV12 [`Frame`](crate::Frame)s with their [`YuvColor`](crate::YuvColor)
//!   and timestamps in seconds. Network inputs reconnect with backoff.
//! - [`VideoWriter`] encodes I420 frames into mp4/mkv/mov/y4m/nut (H.264 by default, with
//!   equirectangular spherical metadata for panoramas), image sequences or `null`.
//! - [`convert`] runs the whole job — decode, dewarp, encode — as a pipeline of threads
//!   joined by bounded queues, so memory stays flat whatever the length of the input.
//!
//! Credentials in URLs and headers are never printed: every message uses
//! [`redact`]ed locations.

mod calibrate;
mod jpeg;
mod jpeg_scan;
mod metadata;
mod options;
mod path;
mod pipeline;
mod source;
mod url;
mod writer;

use std::sync::OnceLock;

/// The camera path types, now in [`crate::model`]; re-exported here for one release.
pub use crate::model::{CameraPath, Keyframe};
pub use calibrate::detect_in_first_frame;
pub use jpeg::jpeg_damage;
pub use metadata::Spherical;
pub use pipeline::{Limits, Progress, ProgressFn, VideoJob, VideoReport, convert};
pub use source::{
    DecodedFrame, EndReason, EndStatus, Reconnect, SourceOptions, SourceStats, StreamInfo,
    VideoInput, VideoSource,
};
pub use url::{InputKind, redact};
pub use writer::{EncoderSettings, OutputTarget, VideoWriter, WriterConfig};

/// The interrupt flag for [`VideoJob::cancel`]: the first Ctrl-C or SIGTERM finalises the
/// output, a second one discards it and exits with status 130 (see
/// [`crate::output::interrupt_flag`]).
pub use crate::output::interrupt_flag;

use crate::{Error, Result};

/// Initialises FFmpeg once and quiets its own logging to fatal errors: its messages may
/// quote URLs, and every failure reaches the caller as an [`Error`] anyway.
pub(crate) fn init() -> Result<()> {
    static INIT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| format!("cannot initialise FFmpeg: {e}"))?;
        // Quiet: FFmpeg's own lines would interleave with ours, and every failure it reports
        // comes back as an error we word (even "fatal" lines, such as the MJPEG decoder's
        // "No JPEG data found in image", are only errors returned).
        ffmpeg_next::log::set_level(ffmpeg_next::log::Level::Quiet);
        Ok(())
    })
    .clone()
    .map_err(Error::Video)
}

/// Sets how much FFmpeg itself logs to stderr (nothing by default). At `Info` and
/// above FFmpeg may print the URLs it opens, credentials included.
pub fn set_ffmpeg_log_level(level: ffmpeg_next::log::Level) {
    if init().is_ok() {
        ffmpeg_next::log::set_level(level);
    }
}

/// File extensions taken as video without probing.
const VIDEO_EXTENSIONS: [&str; 26] = [
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "flv", "wmv",
    "ogv", "3gp", "y4m", "nut", "mxf", "h264", "264", "hevc", "h265", "ivf", "m3u8", "gif", "asf",
];

/// File extensions taken as still images without probing.
const IMAGE_EXTENSIONS: [&str; 13] = [
    "png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "pnm", "ppm", "pgm", "tga", "exr", "hdr",
];

/// Whether `input` should be converted as a video (rather than read as a still image):
/// URLs and capture devices are, known video extensions are, known image extensions are
/// not, and anything else is probed with FFmpeg (a video stream that is not a single image).
#[must_use]
pub fn is_video_input(input: &str) -> bool {
    match InputKind::of(input) {
        InputKind::Network { .. } | InputKind::Device => return true,
        InputKind::File => {}
    }
    let ext = std::path::Path::new(input)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        return true;
    }
    if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return false;
    }
    if init().is_err() {
        return false;
    }
    let Ok(ctx) = ffmpeg_next::format::input(&input) else {
        return false;
    };
    let name = ctx.format().name().to_owned();
    let still = name.starts_with("image2") || name.ends_with("_pipe");
    !still
        && ctx
            .streams()
            .best(ffmpeg_next::media::Type::Video)
            .is_some()
}
