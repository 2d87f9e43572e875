//! Decoding: open a file, URL or capture device and decode its video in a background thread
//! into a bounded queue; frames come out as borrowed I420/NV12 [`Frame`]s.
//!
//! | module | what |
//! |---|---|
//! | `input` | [`VideoInput`], [`Reconnect`], [`SourceOptions`]: what to open and how |
//! | `open` | opening the demuxer and decoder, retrying network inputs |
//! | `decode` | the decoding thread: packets → frames, reconnections, end-of-input checks |
//! | `probe` | container facts a demuxer does not report (a Matroska or MPEG-TS file cut short) |
//! | `pixels` | decoded frames as I420/NV12, with their colour description |

mod decode;
mod input;
mod open;
mod pixels;
mod probe;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use ff::{Packet, Rational, codec, frame};
use ffmpeg_next as ff;

pub use input::{Reconnect, SourceOptions, VideoInput};

use crate::frame::{Frame, PixelFormat, Plane, YuvColor};
use crate::{Error, Result};
use decode::Decoding;
use open::{Stop, open_with_retries};

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
    /// `self` once its planes are known to make a [`Frame`] (so [`Self::frame`] cannot fail).
    fn checked(self) -> Result<Self> {
        self.try_frame()?;
        Ok(self)
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
    #[expect(
        clippy::expect_used,
        reason = "`new`, the only way to make one, returns an error where `try_frame` fails"
    )]
    pub fn frame(&self) -> Frame<'_> {
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
    stop: Stop,
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
    /// Opens `input` and starts decoding. A network input's first connection is retried
    /// per its reconnect policy where a retry can help: after an error of the server's own
    /// (HTTP 5xx) or a dropped connection, not when nothing listens, the name is unknown,
    /// nothing came within [`VideoInput::timeout`] or the credentials were refused.
    pub fn open(input: &VideoInput, options: &SourceOptions) -> Result<Self> {
        Self::open_cancellable(input, options, None)
    }

    /// [`VideoSource::open`], cut short when `cancel` is set (from another thread or a
    /// signal handler, e.g. [`interrupt_flag`](crate::output::interrupt_flag)): a blocking
    /// connect, read or wait between retries ends at once with [`Error::Interrupted`], and
    /// decoding later stops as with [`VideoSource::stop`].
    pub fn open_cancellable(
        input: &VideoInput,
        options: &SourceOptions,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<Self> {
        super::init()?;
        let stop = Stop::new(cancel);
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
        self.stop.own().store(true, Ordering::SeqCst);
    }

    /// The flag [`VideoSource::stop`] sets, for stopping from another thread.
    pub(crate) fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.own().clone()
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
