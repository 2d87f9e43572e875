//! Input locations: what kind of source a string names (printing one without its secrets
//! is [`crate::redact`]'s).

pub use crate::redact::redact;
pub(crate) use crate::redact::{scrub, secrets};

/// What kind of source an input string names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A local file (or anything without a network scheme).
    File,
    /// A network URL (http(s), HLS, RTSP, RTMP, SRT, UDP, TCP, RTP, RIST, …).
    Network {
        /// Whether the protocol only carries live streams (RTSP, SRT, UDP, …); for http(s)
        /// and HLS this is decided after opening (no duration or no size ⇒ live).
        always_live: bool,
    },
    /// A capture device such as `/dev/video0` (opened with FFmpeg's `video4linux2` input).
    Device,
}

impl InputKind {
    /// Classifies `input`.
    #[must_use]
    pub fn of(input: &str) -> Self {
        if input.starts_with("/dev/video") || input.starts_with("/dev/v4l/") {
            return Self::Device;
        }
        let Some(scheme) = scheme(input) else {
            return Self::File;
        };
        match scheme.as_str() {
            "http" | "https" | "hls" | "ftp" | "sftp" | "mmsh" | "mmst" => {
                Self::Network { always_live: false }
            }
            "rtsp" | "rtsps" | "rtmp" | "rtmps" | "rtmpt" | "rtmpts" | "rtmpe" | "srt" | "udp"
            | "tcp" | "rtp" | "rist" | "udplite" | "tls" | "unix" => {
                Self::Network { always_live: true }
            }
            _ => Self::File,
        }
    }

    /// Whether this is a network input.
    #[must_use]
    pub fn is_network(self) -> bool {
        matches!(self, Self::Network { .. })
    }
}

/// The lower-case scheme of a URL (`"http"` of `"HTTP://x"`, `"hls"` of `"hls+http://x"`),
/// `None` for paths. One-letter schemes are taken as Windows drive letters.
#[must_use]
pub fn scheme(input: &str) -> Option<String> {
    let (scheme, _) = input.split_once("://")?;
    let valid = scheme.len() > 1
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    Some(match scheme.split_once('+') {
        Some((first, _)) => first.to_owned(),
        None => scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_inputs() {
        assert_eq!(InputKind::of("clip.mp4"), InputKind::File);
        assert_eq!(InputKind::of("C://x.mp4"), InputKind::File);
        assert_eq!(InputKind::of("/dev/video0"), InputKind::Device);
        assert_eq!(
            InputKind::of("hls+https://x/a.m3u8"),
            InputKind::Network { always_live: false }
        );
        assert_eq!(
            InputKind::of("udp://127.0.0.1:1234"),
            InputKind::Network { always_live: true }
        );
    }
}
