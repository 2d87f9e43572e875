//! Calibrating a video input from its first frame, for [`crate::calib::resolve`].

use super::{SourceOptions, VideoInput, VideoSource};
use crate::calib::ResolvedCalibration;
use crate::detect::DetectOptions;
use crate::{Error, Result};

/// The ring calibration detected in the first frame of `input` at `start` seconds
/// ([`ResolvedCalibration::detect`]). The input is opened for that one frame and closed
/// again, so a conversion opens it a second time.
pub fn detect_in_first_frame(
    input: &VideoInput,
    start: Option<f64>,
    options: &DetectOptions,
) -> Result<ResolvedCalibration> {
    let source_options = SourceOptions {
        queue: 1,
        start,
        audio: false,
    };
    let mut source = VideoSource::open(input, &source_options)?;
    let first = source
        .next_frame()?
        .ok_or_else(|| Error::Video(format!("{}: no video frame", input.redacted())))?;
    ResolvedCalibration::detect(&first.frame(), options)
}
