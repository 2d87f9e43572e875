//! The `with_*` setters of the video option structs (`Limits`, `SourceOptions`,
//! `EncoderSettings`, `Reconnect`): each is `#[non_exhaustive]`, so outside this crate they
//! are made from `Default` and these.

use std::time::Duration;

use super::{EncoderSettings, Limits, Reconnect, SourceOptions};

impl Limits {
    with_setters! {
        /// At most this many frames (`None`: all).
        with_frames(frames: impl Into<Option<u64>>).into();
        /// Start this many seconds into the input (`None`: at its start).
        with_start(start: impl Into<Option<f64>>).into();
        /// Convert at most this many seconds of media time (`None`: to the end).
        with_duration(duration: impl Into<Option<f64>>).into();
    }
}

impl SourceOptions {
    with_setters! {
        /// Decoded frames held ahead of the consumer (≥ 1).
        with_queue(queue: usize);
        /// Skip to this many seconds after the start of the stream.
        with_start(start: impl Into<Option<f64>>).into();
        /// Also pass the audio stream's packets through.
        with_audio(audio: bool);
    }
}

impl EncoderSettings {
    with_setters! {
        /// The encoder or codec name (`None`: libx264 when there, else mpeg4).
        with_codec(codec: impl Into<Option<String>>).into();
        /// A constant rate factor.
        with_crf(crf: impl Into<Option<f32>>).into();
        /// A target bit rate, bits per second.
        with_bitrate(bitrate: impl Into<Option<u64>>).into();
        /// An encoder preset (`veryfast`, …).
        with_preset(preset: impl Into<Option<String>>).into();
        /// Whether to write spherical metadata for equirectangular views.
        with_spherical(spherical: bool);
        /// Whether to copy the input's audio.
        with_copy_audio(copy_audio: bool);
    }

    /// Adds an encoder option passed to FFmpeg.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }
}

impl Reconnect {
    with_setters! {
        /// Whether to retry at all (see also [`Reconnect::disabled`]).
        with_enabled(enabled: bool);
        /// Attempts after each loss before giving up.
        with_max_attempts(max_attempts: u32);
        /// Wait before the first attempt (doubled after each failed one).
        with_initial_delay(initial_delay: Duration);
        /// Longest wait between attempts.
        with_max_delay(max_delay: Duration);
    }
}
