//! Decoding: open a file, URL or capture device and decode its video in a background thread
//! into a bounded queue; frames come out as borrowed I420/NV12 [`Frame`]s.

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ff::format::Pixel;
use ff::{Dictionary, Packet, Rational, codec, decoder, format, frame, media};
use ffmpeg_next as ff;

use super::url::{InputKind, redact, scheme, scrub, secrets};
use crate::frame::{Frame, PixelFormat, Plane, YuvColor, YuvMatrix, YuvRange};
use crate::{Error, Result};

/// How a network input that drops or stalls is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Whether to retry at all (on by default).
    pub enabled: bool,
    /// Attempts after each loss (and for the first connection) before giving up.
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
    /// ([`SourceStats::dropped`]) rather than read the input more slowly than it comes, which
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
    fn secrets(&self) -> Vec<String> {
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

/// How a [`VideoSource`] decodes.
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

/// What is known about an input after opening it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Frame width, pixels (of the first connection).
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Frame rate as a fraction, when the stream declares one.
    pub frame_rate: Option<(i32, i32)>,
    /// Time base of the video stream's timestamps.
    pub time_base: (i32, i32),
    /// Duration, seconds, when known (files, VOD).
    pub duration: Option<f64>,
    /// Number of video frames, when the container says (its frame count, or a Matroska
    /// `NUMBER_OF_FRAMES` statistics tag).
    pub frame_count: Option<u64>,
    /// Whether this is a live stream (network without a known length, or a device).
    pub live: bool,
    /// Video codec name.
    pub codec: String,
    /// Container (demuxer) name.
    pub container: String,
    /// Whether the input has an audio stream.
    pub has_audio: bool,
}

impl StreamInfo {
    /// Frame rate in frames per second, when known.
    #[must_use]
    pub fn fps(&self) -> Option<f64> {
        self.frame_rate
            .filter(|&(n, d)| n > 0 && d > 0)
            .map(|(n, d)| f64::from(n) / f64::from(d))
    }
}

/// One decoded video frame, in I420 or NV12, with its colour description and timestamp.
pub struct DecodedFrame {
    frame: frame::Video,
    format: PixelFormat,
    color: YuvColor,
    pts: f64,
    index: u64,
}

impl fmt::Debug for DecodedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedFrame")
            .field("format", &self.format)
            .field("width", &self.frame.width())
            .field("height", &self.frame.height())
            .field("color", &self.color)
            .field("pts", &self.pts)
            .field("index", &self.index)
            .finish()
    }
}

impl DecodedFrame {
    fn new(
        frame: frame::Video,
        format: PixelFormat,
        color: YuvColor,
        pts: f64,
        index: u64,
    ) -> Result<Self> {
        let out = Self {
            frame,
            format,
            color,
            pts,
            index,
        };
        out.try_frame()?;
        Ok(out)
    }

    fn try_frame(&self) -> Result<Frame<'_>> {
        let f = &self.frame;
        let planes: Vec<Plane<'_>> = (0..self.format.plane_count())
            .map(|i| Plane {
                data: f.data(i),
                stride: f.stride(i),
            })
            .collect();
        Frame::new(self.format, f.width(), f.height(), &planes, self.color)
    }

    /// The frame's planes, borrowed (no copy).
    #[must_use]
    pub fn frame(&self) -> Frame<'_> {
        // The layout was checked when the frame was made.
        self.try_frame()
            .expect("decoded frame layout was validated on creation")
    }

    /// Presentation time, seconds (continuous across reconnections).
    #[must_use]
    pub fn pts(&self) -> f64 {
        self.pts
    }

    /// Index of this frame among those delivered, from 0.
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Pixel format (I420 or NV12).
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// YUV matrix and range.
    #[must_use]
    pub fn color(&self) -> YuvColor {
        self.color
    }

    /// Width, pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.frame.width()
    }

    /// Height, pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.frame.height()
    }
}

/// A compressed audio packet passed through for copying.
pub(crate) struct AudioPacket {
    pub packet: Packet,
    pub time_base: Rational,
    /// Seconds added to this packet's timestamps to keep them continuous across reconnects.
    pub offset: f64,
}

/// How decoding ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The input ended normally.
    Finished,
    /// [`VideoSource::stop`] was called (or the consumer went away).
    Stopped,
    /// A live stream was lost and could not be reconnected to.
    Lost(String),
    /// The input could not be read further (I/O error, corrupt or truncated data, a finite
    /// network input whose connection could not be restored).
    Failed(String),
}

/// Counters of a decoding run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames delivered.
    pub frames: u64,
    /// Successful reconnections.
    pub reconnects: u32,
    /// Packets the demuxer could not read or flagged as corrupt (damaged or truncated data).
    pub read_errors: u64,
    /// Packets the decoder rejected, and frames it flagged as damaged.
    pub decode_errors: u64,
    /// Frames of a live input dropped because the consumer was behind
    /// ([`VideoInput::drop_late`]).
    pub dropped: u64,
}

/// The final state of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndStatus {
    /// Why it ended.
    pub reason: EndReason,
    /// Counters.
    pub stats: SourceStats,
}

pub(crate) enum Event {
    Frame(DecodedFrame),
    Audio(AudioPacket),
    Notice(String),
    Reconnected(String),
    End(EndStatus),
}

/// Audio stream parameters for an output that copies audio.
pub(crate) struct AudioParameters {
    pub parameters: codec::Parameters,
    pub time_base: Rational,
}

/// A decoding input: a background thread demuxes and decodes into a bounded queue.
///
/// ```no_run
/// use omnidewarp::video::{SourceOptions, VideoInput, VideoSource};
/// # fn main() -> omnidewarp::Result<()> {
/// let mut source = VideoSource::open(&VideoInput::new("clip.mp4"), &SourceOptions::default())?;
/// while let Some(decoded) = source.next_frame()? {
///     let frame = decoded.frame(); // I420 or NV12 planes, borrowed
///     println!("{} at {:.3} s", frame.width(), decoded.pts());
/// }
/// # Ok(()) }
/// ```
pub struct VideoSource {
    info: StreamInfo,
    rx: Option<Receiver<Event>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    warnings: Vec<String>,
    end: Option<EndStatus>,
    audio: Option<AudioParameters>,
    input: VideoInput,
}

impl fmt::Debug for VideoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoSource")
            .field("input", &self.input)
            .field("info", &self.info)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl VideoSource {
    /// Opens `input` (retrying network inputs per its reconnect policy) and starts decoding.
    pub fn open(input: &VideoInput, options: &SourceOptions) -> Result<Self> {
        super::init()?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut warnings = Vec::new();
        let opened = open_with_retries(input, &stop, &mut warnings)?;
        let info = opened.info.clone();
        let audio = if options.audio {
            opened.audio.as_ref().map(|a| AudioParameters {
                parameters: a.parameters.clone(),
                time_base: a.time_base,
            })
        } else {
            None
        };
        let (tx, rx) = sync_channel(options.queue.max(1));
        let mut decoding = Decoding::new(input.clone(), opened, stop.clone(), tx, options);
        if let Some(start) = options.start {
            decoding.seek_start(start);
        }
        let thread = std::thread::Builder::new()
            .name("omnidewarp-decode".into())
            .spawn(move || decoding.run())
            .map_err(|e| Error::Video(format!("cannot start the decoding thread: {e}")))?;
        Ok(Self {
            info,
            rx: Some(rx),
            stop,
            thread: Some(thread),
            warnings,
            end: None,
            audio,
            input: input.clone(),
        })
    }

    /// What the input is.
    #[must_use]
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Notices so far (reconnections, skipped damage), credentials redacted.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How decoding ended, once [`VideoSource::next_frame`] has returned `None`.
    #[must_use]
    pub fn end_status(&self) -> Option<&EndStatus> {
        self.end.as_ref()
    }

    /// Asks the decoding thread to stop (aborting any blocking network read).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// The flag [`VideoSource::stop`] sets, for stopping from another thread.
    pub(crate) fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The audio stream's parameters, when audio was requested and exists.
    pub(crate) fn take_audio(&mut self) -> Option<AudioParameters> {
        self.audio.take()
    }

    /// The next frame; `Ok(None)` at the end of the input or after [`VideoSource::stop`].
    /// A live stream that was lost for good, or an input that failed, ends with an error
    /// (the frames before it were delivered).
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>> {
        loop {
            match self.next_event(None) {
                Some(Event::Frame(f)) => return Ok(Some(f)),
                Some(Event::Audio(_)) => {}
                Some(Event::Notice(n) | Event::Reconnected(n)) => self.warnings.push(n),
                Some(Event::End(_)) | None => {
                    return match self.end.as_ref().map(|e| &e.reason) {
                        Some(EndReason::Lost(m) | EndReason::Failed(m)) => {
                            Err(Error::Video(m.clone()))
                        }
                        _ => Ok(None),
                    };
                }
            }
        }
    }

    /// The next event, waiting at most `timeout` (forever with `None`). `None` once ended
    /// (the end status is kept) or on timeout (check [`VideoSource::end_status`]).
    pub(crate) fn next_event(&mut self, timeout: Option<Duration>) -> Option<Event> {
        if self.end.is_some() {
            return None;
        }
        let rx = self.rx.as_ref()?;
        let event = match timeout {
            None => rx.recv().ok(),
            Some(t) => match rx.recv_timeout(t) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => None,
            },
        };
        match event {
            Some(Event::End(status)) => {
                self.end = Some(status.clone());
                Some(Event::End(status))
            }
            Some(e) => Some(e),
            None => {
                self.end = Some(EndStatus {
                    reason: EndReason::Failed(format!(
                        "{}: the decoding thread stopped unexpectedly",
                        self.input.redacted()
                    )),
                    stats: SourceStats::default(),
                });
                None
            }
        }
    }
}

impl Drop for VideoSource {
    fn drop(&mut self) {
        self.stop();
        // Dropping the receiver unblocks a decoder waiting on a full queue.
        self.rx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An opened input: demuxer, decoder and stream facts.
struct Opened {
    ctx: format::context::Input,
    video_index: usize,
    decoder: decoder::Video,
    time_base: Rational,
    frame_step: f64,
    start_time: f64,
    /// Where the video stream should end (seconds, stream time), from a Matroska `DURATION`
    /// statistics tag.
    end_time: Option<f64>,
    audio: Option<OpenedAudio>,
    info: StreamInfo,
}

struct OpenedAudio {
    index: usize,
    parameters: codec::Parameters,
    time_base: Rational,
}

/// Why opening an input failed.
#[derive(Debug)]
struct OpenError {
    message: String,
    /// The server turned the credentials down (HTTP/RTSP 401 or 403): retrying cannot help,
    /// and resending wrong credentials can lock the account on an IP camera.
    refused: bool,
}

impl From<String> for OpenError {
    fn from(message: String) -> Self {
        Self {
            message,
            refused: false,
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
    stop: &Arc<AtomicBool>,
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
            "udp" | "udplite" => dict.set("overrun_nonfatal", "1"),
            "http" | "https" | "hls" if input.reconnect.enabled => {
                // FFmpeg's own retry of a dropped seekable HTTP transfer (resumes by
                // range); live streams are reopened by us.
                dict.set("reconnect", "1");
                dict.set("reconnect_on_network_error", "1");
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
    let interrupt = ff::util::interrupt::new(Box::new(move || flag.load(Ordering::Relaxed)));
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
            let error = ff::Error::from(res);
            return Err(OpenError {
                message: error.to_string(),
                refused: matches!(
                    error,
                    ff::Error::HttpUnauthorized | ff::Error::HttpForbidden
                ),
            });
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

fn rational_f64(r: Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| f64::from(r.numerator()) / f64::from(r.denominator()))
}

/// Opens the input and its video decoder.
fn open_stream(
    input: &VideoInput,
    stop: &Arc<AtomicBool>,
) -> std::result::Result<Opened, OpenError> {
    let kind = input.kind();
    let ctx = open_context(input, stop)?;
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

/// Opens, retrying a network input per its policy (not when the server refused the
/// credentials). Each failure is noted.
fn open_with_retries(
    input: &VideoInput,
    stop: &Arc<AtomicBool>,
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
        match open_stream(input, stop) {
            Ok(o) => return Ok(o),
            Err(e) if !e.refused && attempt < retries && !stop.load(Ordering::SeqCst) => {
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
                sleep_unless(stop, delay);
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
fn sleep_unless(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
    !stop.load(Ordering::SeqCst)
}

/// The decoding thread's state.
struct Decoding {
    input: VideoInput,
    stop: Arc<AtomicBool>,
    tx: SyncSender<Event>,
    opened: Opened,
    want_audio: bool,
    /// Seconds added to the current connection's timestamps.
    offset: f64,
    /// Whether the next frame is the first of a new connection.
    new_segment: bool,
    last_pts: Option<f64>,
    /// After reopening a seekable input: drop frames up to this time.
    skip_until: Option<f64>,
    /// Drop frames before this time (absolute stream seconds).
    start: Option<f64>,
    stats: SourceStats,
    /// Video packets read, including those the demuxer marks for discarding (edit lists):
    /// compared with the container's frame count to spot files cut short.
    video_packets: u64,
    /// The latest video timestamp decoded (seconds, stream time).
    max_pts: Option<f64>,
    consecutive_read_errors: u32,
    warned_damage: bool,
}

/// What the decoding loop should do next.
enum Flow {
    Continue,
    /// The consumer has gone or asked to stop.
    Stop,
}

impl Decoding {
    fn new(
        input: VideoInput,
        opened: Opened,
        stop: Arc<AtomicBool>,
        tx: SyncSender<Event>,
        options: &SourceOptions,
    ) -> Self {
        Self {
            input,
            stop,
            tx,
            want_audio: options.audio && opened.audio.is_some(),
            opened,
            offset: 0.0,
            new_segment: true,
            last_pts: None,
            skip_until: None,
            start: None,
            stats: SourceStats::default(),
            video_packets: 0,
            max_pts: None,
            consecutive_read_errors: 0,
            warned_damage: false,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn notice(&mut self, msg: String) -> Flow {
        let msg = scrub(&msg, &self.input.secrets());
        log::warn!("{msg}");
        self.send(Event::Notice(msg))
    }

    fn send(&self, event: Event) -> Flow {
        match self.tx.send(event) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }

    /// Seeks to `start` seconds after the stream's start (where possible) and drops the
    /// frames before it.
    fn seek_start(&mut self, start: f64) {
        let target = self.opened.start_time + start;
        self.start = Some(target);
        if self.opened.info.live {
            return;
        }
        let ts = (target * f64::from(ff::ffi::AV_TIME_BASE)) as i64;
        if let Err(e) = self.opened.ctx.seek(ts, ..ts) {
            log::info!("seek failed ({e}); decoding from the start");
        }
    }

    fn run(mut self) {
        // The scaler is not `Send`: it lives on this thread only.
        let mut scaler = None;
        let reason = self.pump(&mut scaler);
        let status = EndStatus {
            reason,
            stats: self.stats,
        };
        let _ = self.tx.send(Event::End(status));
    }

    fn pump(&mut self, scaler: &mut Scaler) -> EndReason {
        loop {
            if self.stopped() {
                return EndReason::Stopped;
            }
            let mut packet = Packet::empty();
            match packet.read(&mut self.opened.ctx) {
                Ok(()) => {
                    self.consecutive_read_errors = 0;
                    if let Flow::Stop = self.on_packet(packet, scaler) {
                        return EndReason::Stopped;
                    }
                }
                Err(ff::Error::Eof) => {
                    if let Flow::Stop = self.flush_decoder(scaler) {
                        return EndReason::Stopped;
                    }
                    if self.stopped() {
                        return EndReason::Stopped;
                    }
                    if !self.opened.info.live {
                        return self.check_complete();
                    }
                    match self.reconnect("the stream ended") {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Stop) => return EndReason::Stopped,
                        Err(reason) => return reason,
                    }
                }
                Err(ff::Error::InvalidData) => {
                    self.stats.read_errors += 1;
                    self.consecutive_read_errors += 1;
                    if self.consecutive_read_errors > 10_000 {
                        return EndReason::Failed(format!(
                            "{}: the input is unreadable from here on (corrupt data)",
                            self.input.redacted()
                        ));
                    }
                }
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) if self.stopped() => return EndReason::Stopped,
                Err(e) => {
                    if let Flow::Stop = self.flush_decoder(scaler) {
                        return EndReason::Stopped;
                    }
                    if !self.input.kind().is_network() {
                        return EndReason::Failed(self.input.error("read error", e).to_string());
                    }
                    match self.reconnect(&format!("read error: {e}")) {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Stop) => return EndReason::Stopped,
                        Err(reason) => return reason,
                    }
                }
            }
        }
    }

    fn on_packet(&mut self, packet: Packet, scaler: &mut Scaler) -> Flow {
        let index = packet.stream();
        if packet.is_corrupt() {
            // The demuxer knows the packet is damaged (mpegts: a PES shorter than it
            // declares, or a continuity counter that skips).
            self.stats.read_errors += 1;
        }
        if index == self.opened.video_index {
            self.video_packets += 1;
            if self.opened.decoder.send_packet(&packet).is_err() {
                self.stats.decode_errors += 1;
            }
            return self.drain(scaler);
        }
        if self.want_audio
            && self.opened.audio.as_ref().is_some_and(|a| a.index == index)
            && !self.new_segment
        {
            let time_base = self
                .opened
                .audio
                .as_ref()
                .map_or(Rational(1, 1), |a| a.time_base);
            return self.send(Event::Audio(AudioPacket {
                packet,
                time_base,
                offset: self.offset,
            }));
        }
        Flow::Continue
    }

    fn flush_decoder(&mut self, scaler: &mut Scaler) -> Flow {
        let _ = self.opened.decoder.send_eof();
        self.drain(scaler)
    }

    fn drain(&mut self, scaler: &mut Scaler) -> Flow {
        loop {
            let mut frame = frame::Video::empty();
            if self.opened.decoder.receive_frame(&mut frame).is_err() {
                return Flow::Continue;
            }
            if let Flow::Stop = self.deliver(frame, scaler) {
                return Flow::Stop;
            }
        }
    }

    /// At the end of a file: `Failed` when the file shows it was cut short, whose demuxer
    /// just reports the end:
    /// - a local Matroska/WebM file shorter than its `Segment` declares (a file written live,
    ///   with the "unknown" size, cannot tell);
    /// - a local MPEG-TS file that ends inside a transport packet;
    /// - clearly fewer video packets than the container's frame count (mp4/mov `nb_frames`,
    ///   Matroska `NUMBER_OF_FRAMES`);
    /// - video that stops clearly before the end a Matroska `DURATION` tag gives.
    ///
    /// A transport stream cut exactly between packets, between two frames, looks like a
    /// shorter recording: the format has no index or length to compare with. So does any
    /// container without one of the facts above (raw streams, y4m, nut, …).
    fn check_complete(&self) -> EndReason {
        let failed = |why: String| {
            EndReason::Failed(format!(
                "{}: the input is corrupt or truncated ({why})",
                self.input.redacted()
            ))
        };
        if self.input.kind() == InputKind::File {
            let path = std::path::Path::new(&self.input.location);
            if let Some(why) = file_cut(path, &self.opened.info.container) {
                return failed(why);
            }
        }
        // After a seek the frames before the start are never decoded: no count to compare.
        if let Some(expected) = self
            .opened
            .info
            .frame_count
            .filter(|_| self.start.is_none())
        {
            let missing = expected.saturating_sub(self.video_packets);
            if missing > (expected / 100).max(1) {
                return failed(format!(
                    "it ends after {} of its {expected} frames",
                    self.video_packets
                ));
            }
        }
        if let (Some(end), Some(last)) = (self.opened.end_time, self.max_pts) {
            let step = self.opened.frame_step;
            let reached = last + step;
            if end - reached > (2.5 * step).max(end * 0.01) {
                return failed(format!(
                    "the video ends at {reached:.3} s of its {end:.3} s"
                ));
            }
        }
        EndReason::Finished
    }

    fn deliver(&mut self, frame: frame::Video, scaler: &mut Scaler) -> Flow {
        if frame.has_decode_errors() {
            self.stats.decode_errors += 1;
        }
        let tb = rational_f64(self.opened.time_base).unwrap_or(0.0);
        let raw = frame.timestamp().or(frame.pts()).map(|t| t as f64 * tb);
        let step = self.opened.frame_step;
        let pts = match raw {
            Some(r) => {
                if self.new_segment {
                    self.new_segment = false;
                    if let (Some(last), true) = (self.last_pts, self.opened.info.live) {
                        self.offset = last + step - r;
                    }
                }
                r + self.offset
            }
            None => {
                self.new_segment = false;
                self.last_pts.map_or(0.0, |l| l + step)
            }
        };
        if let Some(r) = raw {
            self.max_pts = Some(self.max_pts.map_or(r, |m| m.max(r)));
        }
        let eps = step * 0.25;
        if let Some(until) = self.skip_until {
            if pts <= until + eps {
                return Flow::Continue;
            }
            self.skip_until = None;
        }
        if self.start.is_some_and(|start| pts < start - eps) {
            return Flow::Continue;
        }
        let decoded = match to_yuv(frame, pts, self.stats.frames, scaler) {
            Ok(d) => d,
            Err(e) => {
                self.stats.decode_errors += 1;
                if !self.warned_damage {
                    self.warned_damage = true;
                    return self.notice(format!("skipping a frame that cannot be converted: {e}"));
                }
                return Flow::Continue;
            }
        };
        self.last_pts = Some(pts);
        if self.input.drop_late && self.opened.info.live {
            return match self.tx.try_send(Event::Frame(decoded)) {
                Ok(()) => {
                    self.stats.frames += 1;
                    Flow::Continue
                }
                Err(TrySendError::Full(_)) => {
                    self.stats.dropped += 1;
                    if self.stats.dropped == 1 {
                        return self.notice(format!(
                            "{}: dewarping is slower than the live stream; dropping frames to \
                             keep up",
                            self.input.redacted()
                        ));
                    }
                    Flow::Continue
                }
                Err(TrySendError::Disconnected(_)) => Flow::Stop,
            };
        }
        self.stats.frames += 1;
        self.send(Event::Frame(decoded))
    }

    /// The end of a connection that could not be restored: a lost live stream (what came
    /// before is a complete recording), or a failed download of a finite input.
    fn lost(&self, message: String) -> EndReason {
        if self.opened.info.live {
            EndReason::Lost(message)
        } else {
            EndReason::Failed(message)
        }
    }

    /// Reopens a dropped network input per the policy. `Err` with the end reason when it
    /// gives up.
    fn reconnect(&mut self, why: &str) -> std::result::Result<Flow, EndReason> {
        let policy = self.input.reconnect;
        let name = self.input.redacted();
        if !policy.enabled || !self.input.kind().is_network() {
            return Err(self.lost(format!("{name}: {why}; reconnecting is off")));
        }
        let mut delay = policy.initial_delay;
        let mut last_error = String::new();
        for attempt in 1..=policy.max_attempts {
            let msg = format!(
                "{name}: {why}; reconnecting ({attempt}/{}) in {:.1} s",
                policy.max_attempts,
                delay.as_secs_f64()
            );
            if let Flow::Stop = self.notice(msg) {
                return Ok(Flow::Stop);
            }
            if !sleep_unless(&self.stop, delay) {
                return Ok(Flow::Stop);
            }
            match open_stream(&self.input, &self.stop) {
                Ok(opened) => {
                    let live = self.opened.info.live;
                    self.opened = Opened {
                        info: StreamInfo {
                            live,
                            ..opened.info.clone()
                        },
                        ..opened
                    };
                    self.stats.reconnects += 1;
                    self.new_segment = true;
                    match self.last_pts {
                        Some(last) if !live => {
                            // A seekable input resumes where it broke off.
                            let ts = (last * f64::from(ff::ffi::AV_TIME_BASE)) as i64;
                            let _ = self.opened.ctx.seek(ts, ..ts);
                            self.skip_until = Some(last);
                        }
                        _ => {}
                    }
                    let msg = format!("{name}: reconnected (attempt {attempt})");
                    log::warn!("{msg}");
                    return Ok(self.send(Event::Reconnected(msg)));
                }
                Err(e) if self.stopped() => {
                    let _ = e;
                    return Ok(Flow::Stop);
                }
                Err(e) if e.refused => {
                    return Err(self.lost(scrub(
                        &format!("{name}: {why}; reconnecting failed: {e}"),
                        &self.input.secrets(),
                    )));
                }
                Err(e) => last_error = e.message,
            }
            delay = (delay * 2).min(policy.max_delay);
        }
        Err(self.lost(scrub(
            &format!(
                "{name}: {why}; gave up after {} reconnection attempts (last error: {last_error})",
                policy.max_attempts
            ),
            &self.input.secrets(),
        )))
    }
}

/// Bytes read from the start of a file to find its layout.
const HEAD_BYTES: u64 = 4096;

/// Why the local `path` (opened by the `container` demuxer) is known to be cut short, from
/// its size and first bytes; `None` when it is whole or the format cannot tell.
fn file_cut(path: &std::path::Path, container: &str) -> Option<String> {
    use std::io::Read;
    let len = std::fs::metadata(path).ok()?.len();
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    if container.split(',').any(|c| c == "matroska" || c == "webm") {
        let end = matroska_segment_end(&head)?;
        (len < end).then(|| format!("the file has {len} of the {end} bytes its segment declares"))
    } else if container == "mpegts" {
        let size = ts_packet_size(&head)?;
        (len % size != 0).then(|| format!("it ends inside a {size}-byte transport packet"))
    } else {
        None
    }
}

/// An EBML variable-length integer at the start of `bytes`: (value, length). Element IDs
/// keep their length marker (`keep_marker`); sizes drop it, and an all-ones size ("unknown")
/// is `u64::MAX`.
fn ebml_vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || bytes.len() < len {
        return None;
    }
    // The marker bit and the zeros before it (all of the first byte for 8-byte vints).
    let mask = if keep_marker {
        0xff
    } else {
        (0xffu16 >> len) as u8
    };
    let mut value = u64::from(first & mask);
    for &b in &bytes[1..len] {
        value = value << 8 | u64::from(b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    if !keep_marker && value == all_ones {
        return Some((u64::MAX, len));
    }
    Some((value, len))
}

/// Where the first Matroska `Segment` of a file ends (byte offset), from the file's first
/// bytes; `None` when its size is unknown (written live) or the bytes are not Matroska.
fn matroska_segment_end(head: &[u8]) -> Option<u64> {
    const EBML: u64 = 0x1A45_DFA3;
    const SEGMENT: u64 = 0x1853_8067;
    let mut at = 0usize;
    let mut first = true;
    loop {
        let (id, id_len) = ebml_vint(head.get(at..)?, true)?;
        let (size, size_len) = ebml_vint(head.get(at + id_len..)?, false)?;
        if first && id != EBML {
            return None;
        }
        first = false;
        let data = (at + id_len + size_len) as u64;
        if id == SEGMENT {
            return (size != u64::MAX).then(|| data.saturating_add(size));
        }
        if size == u64::MAX {
            return None;
        }
        at = usize::try_from(data.checked_add(size)?).ok()?;
    }
}

/// The transport packet size of an MPEG-TS file (188, 192 for BDAV/m2ts with its 4-byte
/// timestamp, or 204 with FEC), from the sync bytes of its first packets.
fn ts_packet_size(head: &[u8]) -> Option<u64> {
    [(188usize, 0usize), (192, 4), (204, 0)]
        .into_iter()
        .find(|&(size, prefix)| {
            let packets = (head.len().saturating_sub(prefix) / size).min(8);
            packets >= 2 && (0..packets).all(|k| head[prefix + k * size] == 0x47)
        })
        .map(|(size, _)| size as u64)
}

/// A cached swscale context and the (format, width, height) it converts from.
type Scaler = Option<(ff::software::scaling::Context, (Pixel, u32, u32))>;

/// The frame as I420/NV12 (converted by swscale when it is in another format).
fn to_yuv(frame: frame::Video, pts: f64, index: u64, scaler: &mut Scaler) -> Result<DecodedFrame> {
    let (w, h) = (frame.width(), frame.height());
    let direct = match frame.format() {
        Pixel::YUV420P => Some((PixelFormat::I420, false)),
        Pixel::YUVJ420P => Some((PixelFormat::I420, true)),
        Pixel::NV12 => Some((PixelFormat::Nv12, false)),
        _ => None,
    };
    if let Some((format, full)) = direct {
        let color = color_of(&frame, full);
        return DecodedFrame::new(frame, format, color, pts, index);
    }
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
        ctx.run(&frame, &mut out)
            .map_err(|e| Error::Video(format!("conversion from {name} failed: {e}")))?;
    }
    let color = if rgb {
        YuvColor {
            matrix: YuvMatrix::Bt601,
            range: YuvRange::Limited,
        }
    } else {
        color_of(&frame, full)
    };
    DecodedFrame::new(out, PixelFormat::I420, color, pts, index)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An EBML element with a 1-byte ID (or the 4-byte ones below) and an 8-byte size.
    fn element(id: &[u8], size: Option<u64>, data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        match size {
            Some(n) => {
                out.push(0x01);
                out.extend_from_slice(&n.to_be_bytes()[1..]);
            }
            None => out.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        }
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn ebml_vints() {
        assert_eq!(ebml_vint(&[0x81], false), Some((1, 1)));
        assert_eq!(ebml_vint(&[0x40, 0x02], false), Some((2, 2)));
        assert_eq!(ebml_vint(&[0xff], false), Some((u64::MAX, 1)));
        assert_eq!(
            ebml_vint(&[0x01, 0, 0, 0, 0, 0, 0x01, 0x02], false),
            Some((258, 8))
        );
        assert_eq!(
            ebml_vint(&[0x1a, 0x45, 0xdf, 0xa3], true),
            Some((0x1A45_DFA3, 4))
        );
        assert_eq!(ebml_vint(&[0x00, 1, 2], false), None);
        assert_eq!(ebml_vint(&[0x20, 1], false), None, "cut short");
    }

    #[test]
    fn matroska_segment_sizes() {
        let header = element(
            &[0x1a, 0x45, 0xdf, 0xa3],
            Some(5),
            &[0x42, 0x86, 0x81, 0x01, 0],
        );
        let void = [0xec, 0x83, 0, 0, 0];
        let segment_id = [0x18, 0x53, 0x80, 0x67];
        let mut file = header.clone();
        file.extend_from_slice(&void);
        let data_start = (file.len() + 4 + 8) as u64;
        file.extend(element(&segment_id, Some(1000), &[0; 16]));
        assert_eq!(matroska_segment_end(&file), Some(data_start + 1000));
        // Written live: the size is unknown.
        let mut live = header.clone();
        live.extend(element(&segment_id, None, &[0; 16]));
        assert_eq!(matroska_segment_end(&live), None);
        // Not Matroska, or cut before the segment.
        assert_eq!(matroska_segment_end(&[0x47; 64]), None);
        assert_eq!(matroska_segment_end(&header), None);
    }

    #[test]
    fn ts_packet_sizes() {
        let packets = |size: usize, prefix: usize, n: usize| {
            let mut out = vec![0u8; size * n];
            for k in 0..n {
                out[k * size + prefix] = 0x47;
            }
            out
        };
        assert_eq!(ts_packet_size(&packets(188, 0, 10)), Some(188));
        assert_eq!(ts_packet_size(&packets(192, 4, 10)), Some(192));
        assert_eq!(ts_packet_size(&packets(204, 0, 10)), Some(204));
        assert_eq!(
            ts_packet_size(&packets(188, 0, 1)),
            None,
            "one packet tells nothing"
        );
        assert_eq!(ts_packet_size(&[0u8; 2000]), None);
    }

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
