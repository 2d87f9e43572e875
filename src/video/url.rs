//! Input locations: what kind of source a string names, and how to print it without secrets.

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

/// Query keys whose values are secrets.
const SECRET_KEYS: [&str; 8] = [
    "pass",
    "pwd",
    "token",
    "key",
    "secret",
    "auth",
    "sig",
    "credential",
];

/// `input` fit for logs and error messages: the userinfo of a URL (`user:password@`) becomes
/// `***@`, and values of query parameters that look like secrets (`token=`, `passphrase=`,
/// `key=`, `sig=`, …) become `***`. Paths are returned unchanged.
#[must_use]
pub fn redact(input: &str) -> String {
    let Some((scheme, rest)) = input.split_once("://") else {
        return input.to_owned();
    };
    if self::scheme(input).is_none() {
        return input.to_owned();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            let mut t = format!("{path}?{}", query.join("&"));
            if let Some(f) = fragment {
                t.push('#');
                t.push_str(f);
            }
            t
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

/// Replaces every occurrence of each secret in `message` by `***` (for FFmpeg messages that
/// might quote a URL or header back).
#[must_use]
pub(crate) fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// The secrets in a URL and its headers: the userinfo, secret-looking query values and all
/// header values.
pub(crate) fn secrets(input: &str, headers: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = headers.iter().map(|(_, v)| v.clone()).collect();
    if let Some((_, rest)) = input.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            out.push(userinfo.to_owned());
            if let Some((user, pass)) = userinfo.split_once(':') {
                out.push(pass.to_owned());
                out.push(user.to_owned());
            }
        }
        if let Some((_, query)) = rest.split_once('?') {
            for pair in query.split(['&', '#']) {
                match pair.split_once('=') {
                    Some((k, v)) if is_secret_key(k) => out.push(v.to_owned()),
                    _ => {}
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_and_secret_query_values() {
        assert_eq!(
            redact("rtsp://admin:hunter2@10.0.0.5:554/stream1"),
            "rtsp://***@10.0.0.5:554/stream1"
        );
        assert_eq!(
            redact("https://cdn.example/live.m3u8?token=abc&x=1#t"),
            "https://cdn.example/live.m3u8?token=***&x=1#t"
        );
        assert_eq!(
            redact("srt://h:9000?passphrase=s3cr3tpass&latency=20"),
            "srt://h:9000?passphrase=***&latency=20"
        );
        assert_eq!(redact("/tmp/a@b.mp4"), "/tmp/a@b.mp4");
        assert_eq!(redact("http://h/p@q"), "http://h/p@q");
    }

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

    #[test]
    fn scrub_removes_all_secrets() {
        let secrets = secrets(
            "http://bob:pa55word@h/x?key=k3y123",
            &[("Authorization".into(), "Bearer zzz999".into())],
        );
        let msg = "failed bob:pa55word Bearer zzz999 k3y123";
        let clean = scrub(msg, &secrets);
        assert!(!clean.contains("pa55word") && !clean.contains("zzz999"));
        assert!(!clean.contains("k3y123"));
    }
}
