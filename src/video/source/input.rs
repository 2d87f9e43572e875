//! What to open: the input's location, headers, options and reconnection policy, and how
//! a [`VideoSource`](super::VideoSource) decodes it.

use std::fmt;
use std::time::Duration;

use crate::Error;
use crate::Result;
use crate::video::url::{InputKind, redact, scrub, secrets};

/// How a network input that drops or stalls is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Whether to retry at all (on by default).
    pub enabled: bool,
    /// Attempts after each loss before giving up. The first connection is retried too, but
    /// only after failures a retry can cure (an HTTP 5xx, a dropped connection): a refused
    /// port, an unknown host or a timeout fails at once.
    pub max_attempts: u32,
    /// Wait before the first attempt; doubled after each failed one.
    pub initial_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            enabled: true,
            max_attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl Reconnect {
    /// No retries: a dropped stream ends the input.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// Where frames come from: a file path, a URL (http(s), HLS, RTSP, RTMP, SRT, UDP/TCP
/// mpegts, …) or a V4L2 device path such as `/dev/video0`.
///
/// Credentials may sit in the URL (`rtsp://user:pass@host/…`) or in `headers`; neither is
/// ever printed: messages show [`VideoInput::redacted`].
#[derive(Clone)]
pub struct VideoInput {
    /// Path, URL or device.
    pub location: String,
    /// Extra HTTP headers (`("Authorization", "Bearer …")`), sent with every request of
    /// http(s) and HLS inputs (FFmpeg's `headers` protocol option).
    pub headers: Vec<(String, String)>,
    /// Extra FFmpeg demuxer/protocol options (`("probesize", "32768")`, …).
    pub options: Vec<(String, String)>,
    /// Force an FFmpeg input format (`"video4linux2"` is chosen for `/dev/video*`).
    pub format: Option<String>,
    /// Reconnection policy for network inputs.
    pub reconnect: Reconnect,
    /// A network read that brings no data for this long counts as a dropped stream
    /// (FFmpeg's `rw_timeout`).
    pub timeout: Duration,
    /// Live inputs only: when the consumer is a full queue behind, drop decoded frames
    /// ([`SourceStats::dropped`](super::SourceStats::dropped)) rather than read the input more slowly than it comes, which
    /// a camera or server may answer by dropping the connection or data. Off by default:
    /// every frame is kept and the input waits.
    pub drop_late: bool,
}

impl fmt::Debug for VideoInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoInput")
            .field("location", &self.redacted())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field(
                "options",
                &self.options.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("format", &self.format)
            .field("reconnect", &self.reconnect)
            .field("timeout", &self.timeout)
            .field("drop_late", &self.drop_late)
            .finish()
    }
}

impl VideoInput {
    /// An input with default options (reconnect on, 10 s stall timeout).
    #[must_use]
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            headers: Vec::new(),
            options: Vec::new(),
            format: None,
            reconnect: Reconnect::default(),
            timeout: Duration::from_secs(10),
            drop_late: false,
        }
    }

    /// Adds an HTTP header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Parses and adds a `"Name: value"` header.
    pub fn add_header_line(&mut self, line: &str) -> Result<()> {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            crate::error::invalid("header", "expected `Name: value` (value not shown)")
        })?;
        let name = name.trim();
        if name.is_empty() || name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
            return Err(crate::error::invalid(
                "header",
                "empty name or a line break in the header",
            ));
        }
        self.headers
            .push((name.to_owned(), value.trim().to_owned()));
        Ok(())
    }

    /// The location with credentials and secret query values masked.
    #[must_use]
    pub fn redacted(&self) -> String {
        redact(&self.location)
    }

    /// What kind of input this is.
    #[must_use]
    pub fn kind(&self) -> InputKind {
        InputKind::of(&self.location)
    }

    /// Every secret this input holds, longest first (for scrubbing messages).
    pub(super) fn secrets(&self) -> Vec<String> {
        secrets(&self.location, &self.headers)
    }

    /// `what: error` with the location redacted and secrets scrubbed.
    pub(crate) fn error(&self, what: &str, err: impl fmt::Display) -> Error {
        Error::Video(scrub(
            &format!("{}: {what}: {err}", self.redacted()),
            &self.secrets(),
        ))
    }
}

/// How a [`VideoSource`](super::VideoSource) decodes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SourceOptions {
    /// Decoded frames held ahead of the consumer (≥ 1). Memory is bounded by this, whatever
    /// the length of the video.
    pub queue: usize,
    /// Skip to this many seconds after the start of the stream (seeking where the input can).
    pub start: Option<f64>,
    /// Also pass the audio stream's packets through (for copying into an output).
    pub audio: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            queue: 4,
            start: None,
            audio: false,
        }
    }
}
