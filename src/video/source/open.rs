//! Opening an input: the demuxer (with our options, an interrupt callback, a forced input
//! format for devices), its video decoder and stream facts, retried per the reconnect policy.

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ff::{Dictionary, Rational, codec, decoder, format, media};
use ffmpeg_next as ff;

use super::{StreamInfo, VideoInput};
use crate::Result;
use crate::video::url::{InputKind, scheme, scrub};

/// An opened input: demuxer, decoder and stream facts.
pub(super) struct Opened {
    pub(super) ctx: format::context::Input,
    pub(super) video_index: usize,
    pub(super) decoder: decoder::Video,
    pub(super) time_base: Rational,
    pub(super) frame_step: f64,
    pub(super) start_time: f64,
    /// Where the video stream should end (seconds, stream time), from a Matroska `DURATION`
    /// statistics tag.
    pub(super) end_time: Option<f64>,
    pub(super) audio: Option<OpenedAudio>,
    pub(super) info: StreamInfo,
}

pub(super) struct OpenedAudio {
    pub(super) index: usize,
    pub(super) parameters: codec::Parameters,
    pub(super) time_base: Rational,
}

/// The flag that stops opening and decoding: the source's own (set by
/// [`VideoSource::stop`](super::VideoSource::stop)) or the caller's cancel flag (Ctrl-C),
/// checked by FFmpeg's interrupt callback, so that a blocking connect or read ends at once.
#[derive(Clone, Default)]
pub(super) struct Stop {
    own: Arc<AtomicBool>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Stop {
    pub(super) fn new(cancel: Option<Arc<AtomicBool>>) -> Self {
        Self {
            own: Arc::default(),
            cancel,
        }
    }

    /// Whether either flag is set.
    pub(super) fn is_set(&self) -> bool {
        self.own.load(Ordering::SeqCst) || self.cancelled()
    }

    /// Whether the caller's cancel flag is set.
    pub(super) fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// The source's own flag.
    pub(super) fn own(&self) -> &Arc<AtomicBool> {
        &self.own
    }
}

/// Whether another attempt could open what this attempt could not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cure {
    /// The server turned the credentials down (HTTP/RTSP 401 or 403): retrying cannot help,
    /// and resending wrong credentials can lock the account on an IP camera.
    Refused,
    /// The server answered but failed (HTTP 5xx) or dropped the connection: it is there, and
    /// may serve on the next attempt.
    Transient,
    /// Nothing listens there (connection refused), the name or route is unknown, nothing
    /// came within the timeout, the address or data is wrong: a first connection is not
    /// retried (the user would wait for nothing), a lost one is (its server may be restarting).
    Absent,
}

/// Why opening an input failed.
#[derive(Debug)]
pub(super) struct OpenError {
    pub(super) message: String,
    pub(super) cure: Cure,
}

impl From<String> for OpenError {
    fn from(message: String) -> Self {
        Self {
            message,
            cure: Cure::Absent,
        }
    }
}

impl OpenError {
    /// Classifies an FFmpeg error of `avformat_open_input`.
    fn of(error: ff::Error) -> Self {
        use ff::util::error::{EAGAIN, ECONNABORTED, ECONNRESET, EPIPE};
        let cure = match error {
            ff::Error::HttpUnauthorized | ff::Error::HttpForbidden => Cure::Refused,
            ff::Error::HttpServerError => Cure::Transient,
            ff::Error::Other { errno }
                if [ECONNRESET, ECONNABORTED, EPIPE, EAGAIN].contains(&errno) =>
            {
                Cure::Transient
            }
            _ => Cure::Absent,
        };
        Self {
            message: error.to_string(),
            cure,
        }
    }
}

impl From<&str> for OpenError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Opens the demuxer with our options, an interrupt callback and (for devices or when asked)
/// a forced input format.
fn open_context(
    input: &VideoInput,
    stop: &Stop,
) -> std::result::Result<format::context::Input, OpenError> {
    let kind = input.kind();
    let mut dict = Dictionary::new();
    let scheme = scheme(&input.location).unwrap_or_default();
    if kind.is_network() {
        let micros = input
            .timeout
            .as_micros()
            .clamp(1, i64::MAX as u128)
            .to_string();
        dict.set("rw_timeout", &micros);
        match scheme.as_str() {
            "rtsp" | "rtsps" => dict.set("timeout", &micros),
            "udp" | "udplite" => {
                dict.set("overrun_nonfatal", "1");
                // UDP's reads ignore `rw_timeout` (its receiving thread's queue always
                // answers "try again"): without its own timeout a port with no sender is
                // read forever.
                dict.set("timeout", &micros);
            }
            "http" | "https" | "hls" if input.reconnect.enabled => {
                // FFmpeg's own retry of a dropped seekable HTTP transfer (resumes by
                // range); live streams are reopened by us. Not `reconnect_on_network_error`:
                // it retries a refused connection inside each attempt for up to 15 s.
                dict.set("reconnect", "1");
                dict.set(
                    "reconnect_delay_max",
                    &input.reconnect.max_delay.as_secs().max(1).to_string(),
                );
            }
            _ => {}
        }
        if !input.headers.is_empty() {
            let headers: String = input
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\r\n"))
                .collect();
            dict.set("headers", &headers);
        }
    }
    for (k, v) in &input.options {
        dict.set(k, v);
    }
    let format_name = match (&input.format, kind) {
        (Some(f), _) => Some(f.clone()),
        (None, InputKind::Device) => Some("video4linux2".to_owned()),
        _ => None,
    };
    let location = CString::new(input.location.as_str())
        .map_err(|_| "the location holds a NUL byte".to_owned())?;
    let format_name = format_name
        .map(|f| CString::new(f).map_err(|_| "the format name holds a NUL byte".to_owned()))
        .transpose()?;
    let flag = stop.clone();
    let interrupt = ff::util::interrupt::new(Box::new(move || flag.is_set()));
    // SAFETY: plain FFmpeg C API use, mirroring ffmpeg-next's own
    // `input_with_interrupt_and_dictionary` (which cannot also force an input format):
    // `ps` is allocated here and either handed to `Input::wrap_with_interrupt` (which owns and
    // frees it, and keeps the interrupt closure alive as long as the context) or freed by
    // `avformat_open_input` / `avformat_close_input` on failure. The CStrings outlive the
    // calls; the option dictionary is disowned for the call and re-owned (freed) after it.
    unsafe {
        let mut ps = ff::ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err("out of memory".into());
        }
        (*ps).interrupt_callback = interrupt.interrupt;
        let ifmt = match &format_name {
            Some(name) => {
                let f = ff::ffi::av_find_input_format(name.as_ptr());
                if f.is_null() {
                    ff::ffi::avformat_free_context(ps);
                    return Err(
                        format!("FFmpeg has no input format `{}`", name.to_string_lossy()).into(),
                    );
                }
                f
            }
            None => std::ptr::null(),
        };
        let mut opts = dict.disown();
        let res = ff::ffi::avformat_open_input(&mut ps, location.as_ptr(), ifmt as _, &mut opts);
        drop(Dictionary::own(opts));
        if res < 0 {
            return Err(OpenError::of(ff::Error::from(res)));
        }
        let res = ff::ffi::avformat_find_stream_info(ps, std::ptr::null_mut());
        if res < 0 {
            ff::ffi::avformat_close_input(&mut ps);
            return Err(format!("cannot read stream info: {}", ff::Error::from(res)).into());
        }
        Ok(format::context::Input::wrap_with_interrupt(
            ps,
            interrupt.guard,
        ))
    }
}

pub(super) fn rational_f64(r: Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| f64::from(r.numerator()) / f64::from(r.denominator()))
}

/// Opens the input and its video decoder.
pub(super) fn open_stream(
    input: &VideoInput,
    stop: &Stop,
) -> std::result::Result<Opened, OpenError> {
    let kind = input.kind();
    let began = Instant::now();
    let ctx = open_context(input, stop).map_err(|mut e| {
        // FFmpeg reports a timeout as a plain I/O error (UDP, SRT) or "timed out": say
        // what happened.
        let waited = began.elapsed();
        if kind.is_network() && waited + Duration::from_millis(100) >= input.timeout {
            e.message = format!(
                "{} (nothing received for {:.1} s)",
                e.message,
                waited.as_secs_f64()
            );
        }
        e
    })?;
    let video = ctx
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| "no video stream".to_owned())?;
    let video_index = video.index();
    let time_base = video.time_base();
    if rational_f64(time_base).is_none() {
        return Err("the video stream has no time base".into());
    }
    let rate = [video.avg_frame_rate(), video.rate()]
        .into_iter()
        .find(|r| rational_f64(*r).is_some_and(|f| f > 0.5 && f < 1000.0));
    let mut context = codec::context::Context::from_parameters(video.parameters())
        .map_err(|e| format!("bad video stream parameters: {e}"))?;
    context.set_threading(ff::threading::Config {
        kind: ff::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut dec = context.decoder();
    dec.set_packet_time_base(time_base);
    let decoder = dec
        .video()
        .map_err(|e| format!("cannot open the video decoder: {e}"))?;
    let codec_name = decoder
        .codec()
        .map(|c| c.name().to_owned())
        .unwrap_or_else(|| format!("{:?}", decoder.id()).to_lowercase());
    let start_time = match video.start_time() {
        t if t == ff::ffi::AV_NOPTS_VALUE => 0.0,
        t => t as f64 * rational_f64(time_base).unwrap_or(0.0),
    };
    let metadata = video.metadata();
    let frames = match video.frames() {
        n if n > 0 => Some(n as u64),
        _ => statistics_tag(&metadata, "NUMBER_OF_FRAMES").and_then(|n| n.parse().ok()),
    };
    let end_time = statistics_tag(&metadata, "DURATION").and_then(parse_clock);
    let audio = ctx.streams().best(media::Type::Audio).map(|a| OpenedAudio {
        index: a.index(),
        parameters: a.parameters(),
        time_base: a.time_base(),
    });
    let duration = match ctx.duration() {
        d if d > 0 && d != ff::ffi::AV_NOPTS_VALUE => {
            Some(d as f64 / f64::from(ff::ffi::AV_TIME_BASE))
        }
        _ => None,
    };
    let live = match kind {
        InputKind::Device => true,
        InputKind::Network { always_live: true } => true,
        InputKind::Network { always_live: false } => duration.is_none() || ctx.io_size().is_none(),
        InputKind::File => false,
    };
    let info = StreamInfo {
        width: decoder.width(),
        height: decoder.height(),
        frame_rate: rate.map(|r| (r.numerator(), r.denominator())),
        time_base: (time_base.numerator(), time_base.denominator()),
        duration,
        frame_count: frames.filter(|&n| n > 0),
        live,
        codec: codec_name,
        container: ctx.format().name().to_owned(),
        has_audio: audio.is_some(),
    };
    if info.width == 0 || info.height == 0 {
        return Err("the video stream has no frame size".into());
    }
    Ok(Opened {
        frame_step: rate.and_then(rational_f64).map_or(1.0 / 25.0, |f| 1.0 / f),
        ctx,
        video_index,
        decoder,
        time_base,
        start_time,
        end_time,
        audio,
        info,
    })
}

/// A per-track statistics tag as mkvmerge (`NUMBER_OF_FRAMES`, `DURATION`) or FFmpeg's
/// Matroska muxer (`DURATION`) write it; FFmpeg names it `KEY-lang` for a tagged language.
fn statistics_tag<'a>(metadata: &'a ff::DictionaryRef<'_>, key: &str) -> Option<&'a str> {
    metadata.iter().find_map(|(k, v)| {
        let name = k.split_once('-').map_or(k, |(name, _)| name);
        name.eq_ignore_ascii_case(key).then_some(v)
    })
}

/// Seconds of a `HH:MM:SS.nnnnnnnnn` clock.
fn parse_clock(text: &str) -> Option<f64> {
    let mut parts = text.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, s): (u64, u64, f64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    let t = (h * 3600 + m * 60) as f64 + s;
    (m < 60 && (0.0..60.0).contains(&s) && t.is_finite()).then_some(t)
}

/// Opens, retrying a network input per its policy only where a retry can help (a server
/// that answered with an error of its own or dropped the connection; see [`Cure`]). Each
/// failure is noted. When `stop` is set meanwhile, the attempt is cut short and the result
/// is [`Error::Interrupted`](crate::Error::Interrupted).
pub(super) fn open_with_retries(
    input: &VideoInput,
    stop: &Stop,
    notices: &mut Vec<String>,
) -> Result<Opened> {
    let retries = if input.kind().is_network() && input.reconnect.enabled {
        input.reconnect.max_attempts
    } else {
        0
    };
    let mut delay = input.reconnect.initial_delay;
    let mut attempt = 0;
    loop {
        let result = open_stream(input, stop);
        if stop.is_set() {
            return Err(crate::Error::Interrupted);
        }
        match result {
            Ok(o) => return Ok(o),
            Err(e) if e.cure == Cure::Transient && attempt < retries => {
                attempt += 1;
                let msg = scrub(
                    &format!(
                        "{}: cannot open ({e}); retrying ({attempt}/{retries}) in {:.1} s",
                        input.redacted(),
                        delay.as_secs_f64()
                    ),
                    &input.secrets(),
                );
                log::warn!("{msg}");
                notices.push(msg);
                if !sleep_unless(stop, delay) {
                    return Err(crate::Error::Interrupted);
                }
                delay = (delay * 2).min(input.reconnect.max_delay);
            }
            Err(e) => {
                let what = if attempt > 0 {
                    format!("cannot open (after {attempt} retries)")
                } else {
                    "cannot open".to_owned()
                };
                return Err(input.error(&what, e.message));
            }
        }
    }
}

/// Sleeps `d` in small steps; `false` if `stop` was set meanwhile.
pub(super) fn sleep_unless(stop: &Stop, d: Duration) -> bool {
    let until = Instant::now() + d;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if stop.is_set() {
            return false;
        }
        if left.is_zero() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20).min(left));
    }
    !stop.is_set()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        assert_eq!(parse_clock("00:00:01.200000000"), Some(1.2));
        assert_eq!(parse_clock("01:02:03.5"), Some(3723.5));
        assert_eq!(parse_clock("00:61:00"), None);
        assert_eq!(parse_clock("1.5"), None);
        assert_eq!(parse_clock("a:b:c"), None);
    }

    #[test]
    fn statistics_tags_with_and_without_language() {
        let mut d = ff::Dictionary::new();
        d.set("NUMBER_OF_FRAMES-eng", "42");
        d.set("DURATION", "00:00:01.000000000");
        d.set("BPS", "1000");
        let r: &ff::DictionaryRef<'_> = &d;
        assert_eq!(statistics_tag(r, "NUMBER_OF_FRAMES"), Some("42"));
        assert_eq!(statistics_tag(r, "duration"), Some("00:00:01.000000000"));
        assert_eq!(statistics_tag(r, "TITLE"), None);
    }
}
