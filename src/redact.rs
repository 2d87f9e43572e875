//! Credentials in URLs and headers: locations printed without them ([`redact`]), the
//! secrets an input holds ([`secrets`]) and messages cleaned of them ([`scrub`]). Every
//! front end prints locations and errors through these, whatever the input turns out to
//! be (a URL given where a file was expected is still redacted).

/// Whether `input` starts with a URL scheme (`http://`, `hls+https://`); one letter is a
/// Windows drive (`C://`).
fn has_scheme(input: &str) -> bool {
    input.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
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
    if !has_scheme(input) {
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

/// Whether a query or option key names a secret (`token`, `passphrase`, `api_key`, `sig`,
/// …; any case).
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

/// Replaces every occurrence of each secret (of at least 3 characters) in `message` by
/// `***`: for messages that might quote a URL or header back (FFmpeg's, the system's
/// "No such file" naming a URL given as a path).
#[must_use]
pub fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// The secrets in a URL (anywhere in `input`, so `--calib=http://u:p@h/…` counts) and its
/// headers: the userinfo, its user and password, secret-looking query values and all
/// header values; longest first, so that scrubbing a longer one comes before its parts.
#[must_use]
pub fn secrets(input: &str, headers: &[(String, String)]) -> Vec<String> {
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

    #[test]
    fn secrets_of_a_url_inside_a_flag() {
        let s = secrets("--calib=http://eve:pw12345@h/c.toml?sig=s1g4ture", &[]);
        let clean = scrub("--calib=http://eve:pw12345@h/c.toml?sig=s1g4ture: 404", &s);
        assert!(
            !clean.contains("pw12345") && !clean.contains("s1g4ture") && !clean.contains("eve")
        );
    }
}
