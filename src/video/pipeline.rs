//! `convert`: decode → dewarp → encode, three stages joined by bounded queues.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, channel, sync_channel};
use std::time::{Duration, Instant};

use super::metadata::Spherical;
use super::source::{
    AudioPacket, EndReason, EndStatus, Event, SourceOptions, StreamInfo, VideoInput, VideoSource,
};
use super::writer::{EncoderSettings, OutputTarget, VideoWriter, WriterConfig};
use crate::dewarper::Dewarper;
use crate::frame::{FrameBuf, PixelFormat};
use crate::model::{Calibration, CameraPath, View};
use crate::options::DewarpOptions;
use crate::{Error, Result};

/// Which part of the input to convert.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Limits {
    /// At most this many frames.
    pub frames: Option<u64>,
    /// Start this many seconds into the input.
    pub start: Option<f64>,
    /// Convert at most this many seconds (of media time).
    pub duration: Option<f64>,
}

/// Progress of a running conversion, reported to [`VideoJob::progress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Frames written so far.
    pub frames: u64,
    /// Frames expected in all, when known (files, or a frame/duration limit).
    pub total: Option<u64>,
    /// Media time of the last frame written, seconds from the first.
    pub media_time: f64,
    /// Wall time since the conversion started.
    pub elapsed: Duration,
    /// Frames per second so far.
    pub fps: f64,
    /// Estimated time left, when the total is known.
    pub eta: Option<Duration>,
    /// Reconnections so far (live inputs).
    pub reconnects: u32,
    /// Whether this is the last report.
    pub done: bool,
}

/// A progress callback.
pub type ProgressFn = Box<dyn Fn(&Progress) + Send + Sync>;

/// Everything [`convert`] needs.
pub struct VideoJob {
    /// The input.
    pub input: VideoInput,
    /// The output.
    pub output: OutputTarget,
    /// Encoder choices.
    pub encoder: EncoderSettings,
    /// Frames / start / duration.
    pub limits: Limits,
    /// The camera.
    pub calibration: Calibration,
    /// The output view (its size is the output size).
    pub view: View,
    /// A virtual camera path that sets the view's orientation (and field of view) per frame.
    pub path: Option<CameraPath>,
    /// Sampling options, and where frames are dewarped: [`Backend::Auto`](crate::Backend)
    /// (the default) takes a hardware GPU when there is one and the CPU otherwise; both keep
    /// the video in YUV (I420/NV12 in, I420 out).
    pub options: DewarpOptions,
    /// Called from the calling thread every `progress_interval` and once at the end.
    pub progress: Option<ProgressFn>,
    /// How often `progress` is called.
    pub progress_interval: Duration,
    /// Set it (e.g. from [`interrupt_flag`](super::interrupt_flag)) to stop early; the output
    /// is finalised with what was converted.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Frames in flight between stages (each queue holds this many, ≥ 1).
    pub queue: usize,
}

impl fmt::Debug for VideoJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoJob")
            .field("input", &self.input)
            .field("output", &self.output)
            .field("encoder", &self.encoder)
            .field("limits", &self.limits)
            .field("view", &self.view)
            .field("path", &self.path.as_ref().map(|p| p.keyframes().len()))
            .field("options", &self.options)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl VideoJob {
    /// A job with default encoder settings, no limits, no path, no progress callback.
    #[must_use]
    pub fn new(
        input: VideoInput,
        output: OutputTarget,
        calibration: Calibration,
        view: View,
    ) -> Self {
        Self {
            input,
            output,
            encoder: EncoderSettings::default(),
            limits: Limits::default(),
            calibration,
            view,
            path: None,
            options: DewarpOptions::default(),
            progress: None,
            progress_interval: Duration::from_millis(250),
            cancel: None,
            queue: 3,
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoReport {
    /// Frames written.
    pub frames: u64,
    /// Media time covered, seconds (last timestamp − first + one frame).
    pub media_duration: f64,
    /// Wall time.
    pub elapsed: Duration,
    /// Frames per second, end to end.
    pub fps: f64,
    /// Successful reconnections of a live input.
    pub reconnects: u32,
    /// Frames of a live input dropped to keep up with it ([`VideoInput::drop_late`]), as
    /// counted when the input ended or a limit stopped it.
    pub dropped: u64,
    /// Whether [`VideoJob::cancel`] stopped it.
    pub interrupted: bool,
    /// Set when a live stream was lost for good: the output holds what came before.
    pub stream_lost: Option<String>,
    /// The encoder used, for encoded outputs.
    pub encoder: Option<String>,
    /// The backend that dewarped, e.g. `CPU (2 threads)` or `GPU (NVIDIA H200, Vulkan)`.
    pub backend: String,
    /// The input as opened.
    pub input: StreamInfo,
    /// Notices: reconnections, encoder fallback, audio not copied, …
    pub warnings: Vec<String>,
}

/// An output frame and its time, recycled between the dewarp and encode stages.
struct OutBuf {
    frame: FrameBuf,
    pts: f64,
}

/// What the dewarp stage hands the encode stage.
enum Stage {
    Frame(OutBuf),
    Audio(AudioPacket, f64),
    Notice(String),
    Reconnected(String),
    Failed(Error),
    End(EndStatus),
}

/// Converts a video or live stream: decode (background thread) → dewarp (background thread)
/// → encode (the calling thread), joined by bounded queues of `job.queue` frames.
///
/// The output is created when the first frame is ready, so an input that yields nothing
/// leaves no output. It is written under a temporary name and renamed over its path only
/// when finalised ([`crate::output`]), so an existing file there changes only then. On
/// Ctrl-C (`job.cancel`), on a live stream lost for good, and on input or dewarping errors
/// the output is finalised with the frames converted so far. A damaged or truncated file is
/// converted as far as it decodes, then reported as an error naming how many frames were
/// written. A failure of the writer itself (the encoder refusing its settings, a full disk)
/// discards the unfinished file: the error says so, and an existing file at the output
/// path is left as it was.
pub fn convert(job: &VideoJob) -> Result<VideoReport> {
    job.view.validate()?;
    check_limits(&job.limits)?;
    let started = Instant::now();
    // Before the input is opened: a GPU that cannot be had fails the job at once.
    // A frame limit tells `Backend::Auto` how long the work is, unless the caller did.
    let options = job
        .options
        .with_expected_frames(job.options.expected_frames.or(job.limits.frames));
    let dewarper = Dewarper::new(job.calibration.clone(), job.view, options)?;
    let backend = dewarper.description();
    let images = matches!(job.output, OutputTarget::Images(_));
    let copy_audio = job.encoder.copy_audio && matches!(job.output, OutputTarget::File(_));
    let mut source = VideoSource::open_cancellable(
        &job.input,
        &SourceOptions {
            queue: job.queue.max(1),
            start: job.limits.start,
            audio: copy_audio,
        },
        job.cancel.clone(),
    )?;
    let info = source.info().clone();
    let mut warnings: Vec<String> = source.warnings().to_vec();
    let audio = source.take_audio();
    let stop = source.stop_handle();
    // A live input that drops late frames writes an unknown share of what it receives.
    let total = (!(info.live && job.input.drop_late))
        .then(|| expected_frames(&info, &job.limits))
        .flatten();

    let (out_tx, out_rx) = sync_channel::<Stage>(job.queue.max(1));
    let (free_tx, free_rx) = channel::<OutBuf>();
    let stage = DewarpStage {
        dewarper,
        view: job.view,
        path: job.path.clone(),
        limits: job.limits,
        format: if images {
            PixelFormat::Rgba8
        } else {
            PixelFormat::I420
        },
        out: out_tx,
        free: free_rx,
        pool: job.queue.max(1) + 2,
        allocated: 0,
    };
    let dewarp = std::thread::Builder::new()
        .name("omnidewarp-dewarp".into())
        .spawn(move || stage.run(source))
        .map_err(|e| Error::Video(format!("cannot start the dewarping thread: {e}")))?;

    let mut writer: Option<VideoWriter> = None;
    let mut pending_audio: VecDeque<(AudioPacket, f64)> = VecDeque::new();
    let mut frames = 0u64;
    let mut first_last: Option<(f64, f64)> = None;
    let mut interrupted = false;
    let mut end: Option<EndStatus> = None;
    let mut failure: Option<Error> = None;
    // Whether `failure` is the writer's (encoder, full disk): its output is then discarded,
    // while an input or dewarp failure keeps what was converted before it.
    let mut writer_failed = false;
    let mut reconnects = 0u32;
    let mut last_report = Instant::now();
    let report = |frames: u64, media_time: f64, reconnects: u32, done: bool| {
        if let Some(cb) = &job.progress {
            let elapsed = started.elapsed();
            let fps = frames as f64 / elapsed.as_secs_f64().max(1e-9);
            let eta = total
                .filter(|_| fps > 0.0)
                .map(|t| Duration::from_secs_f64(t.saturating_sub(frames) as f64 / fps));
            cb(&Progress {
                frames,
                total,
                media_time,
                elapsed,
                fps,
                eta,
                reconnects,
                done,
            });
        }
    };
    let fps = info.fps().unwrap_or(25.0);

    loop {
        if job
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
        {
            interrupted = true;
            break;
        }
        let item = match out_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                failure = Some(Error::Video(
                    "the dewarping thread stopped unexpectedly".into(),
                ));
                break;
            }
        };
        match item {
            Stage::Frame(buf) => {
                if writer.is_none() {
                    let config = WriterConfig {
                        width: job.view.width,
                        height: job.view.height,
                        frame_rate: info.frame_rate.unwrap_or((25, 1)),
                        time_base: info.time_base,
                        color: buf.frame.color(),
                        spherical: Spherical::of_view(&job.view),
                    };
                    match VideoWriter::create_with_audio(
                        &job.output,
                        &job.encoder,
                        &config,
                        audio.as_ref(),
                    ) {
                        Ok(w) => {
                            warnings.extend(w.warnings().iter().cloned());
                            writer = Some(w);
                        }
                        Err(e) => {
                            failure = Some(e);
                            writer_failed = true;
                            break;
                        }
                    }
                }
                let Some(w) = writer.as_mut() else { break };
                for (packet, shift) in pending_audio.drain(..) {
                    if let Err(e) = w.write_audio(packet, shift) {
                        failure = Some(e);
                        writer_failed = true;
                    }
                }
                let n_warn = w.warnings().len();
                let written = w.write(&buf.frame.frame(), buf.pts);
                warnings.extend(w.warnings().iter().skip(n_warn).cloned());
                if let Err(e) = written {
                    failure = Some(e);
                    writer_failed = true;
                    break;
                }
                frames += 1;
                first_last = Some(first_last.map_or((buf.pts, buf.pts), |(a, _)| (a, buf.pts)));
                let media_time = buf.pts;
                let _ = free_tx.send(buf);
                if last_report.elapsed() >= job.progress_interval {
                    last_report = Instant::now();
                    report(frames, media_time, reconnects, false);
                }
            }
            Stage::Audio(packet, shift) => match writer.as_mut() {
                Some(w) if w.has_audio() => {
                    if let Err(e) = w.write_audio(packet, shift) {
                        failure = Some(e);
                        writer_failed = true;
                        break;
                    }
                }
                Some(_) => {}
                None => {
                    if audio.is_some() {
                        if pending_audio.len() >= 256 {
                            pending_audio.pop_front();
                        }
                        pending_audio.push_back((packet, shift));
                    }
                }
            },
            Stage::Notice(n) => warnings.push(n),
            Stage::Reconnected(n) => {
                reconnects += 1;
                warnings.push(n);
            }
            Stage::Failed(e) => {
                failure = Some(e);
                break;
            }
            Stage::End(status) => {
                end = Some(status);
                break;
            }
        }
    }
    // The decoder sees the cancel flag too, and may have ended first.
    interrupted |= job
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::SeqCst));
    // Stop the other stages: the flag aborts blocking reads, dropping the queue unblocks
    // the dewarp stage.
    stop.store(true, Ordering::SeqCst);
    drop(out_rx);
    drop(free_tx);
    let _ = dewarp.join();

    let encoder = writer
        .as_ref()
        .and_then(|w| w.encoder_name().map(str::to_owned));
    let output = job.output.display();
    if let Some(w) = writer.take() {
        // After a writer failure this discards the unfinished file; a failure to finish
        // (the trailer, the rename) discards it too.
        if let Err(e) = w.finish() {
            if failure.is_none() || writer_failed {
                failure = failure.or(Some(e));
                writer_failed = true;
            }
        }
    }
    let media_time = first_last.map_or(0.0, |(_, b)| b);
    report(frames, media_time, reconnects, true);
    if let Some(e) = failure {
        let message = |e: Error| match e {
            Error::Video(m) => m,
            e => e.to_string(),
        };
        return Err(match (e, frames) {
            (e, 0) => e,
            (e, n) if writer_failed && images => Error::Video(format!(
                "{} ({n} images were written to {output} before it)",
                message(e)
            )),
            (e, n) if writer_failed => Error::Video(format!(
                "{}; the {n} frames converted were discarded and {output} was not written",
                message(e)
            )),
            (Error::Video(m), n) => Error::Video(format!(
                "{m} ({n} frames were written to {output} and it was finalised)"
            )),
            (e, _) => e,
        });
    }
    let elapsed = started.elapsed();
    let mut stream_lost = None;
    let dropped = end.as_ref().map_or(0, |status| status.stats.dropped);
    if dropped > 0 {
        warnings.push(format!(
            "{dropped} frames of the live input were dropped to keep up with it"
        ));
    }
    if let Some(status) = &end {
        reconnects = status.stats.reconnects;
        match &status.reason {
            EndReason::Lost(m) => {
                warnings.push(m.clone());
                stream_lost = Some(m.clone());
            }
            EndReason::Failed(m) => {
                return Err(Error::Video(written_before(m, frames, &output)));
            }
            EndReason::Finished | EndReason::Stopped => {}
        }
        let damaged = status.stats.read_errors + status.stats.decode_errors;
        if !info.live && damaged > 0 {
            let m = format!(
                "{}: the input is corrupt or truncated ({} unreadable packets, {} decoding errors)",
                job.input.redacted(),
                status.stats.read_errors,
                status.stats.decode_errors
            );
            return Err(Error::Video(written_before(&m, frames, &output)));
        }
    }
    if frames == 0 && !interrupted {
        return Err(Error::Video(format!(
            "{}: no video frame could be decoded{}",
            job.input.redacted(),
            stream_lost.map(|m| format!(" ({m})")).unwrap_or_default()
        )));
    }
    Ok(VideoReport {
        frames,
        media_duration: first_last.map_or(0.0, |(a, b)| b - a + 1.0 / fps),
        elapsed,
        fps: frames as f64 / elapsed.as_secs_f64().max(1e-9),
        reconnects,
        dropped,
        interrupted,
        stream_lost,
        encoder,
        backend,
        input: info,
        warnings,
    })
}

fn written_before(message: &str, frames: u64, output: &str) -> String {
    if frames == 0 {
        format!("{message}; nothing was written")
    } else {
        format!("{message}; the {frames} frames that decoded were written to {output}")
    }
}

fn check_limits(limits: &Limits) -> Result<()> {
    if limits.frames == Some(0) {
        return Err(crate::error::invalid("frames", "must be at least 1"));
    }
    if let Some(s) = limits.start {
        if !(s.is_finite() && s >= 0.0) {
            return Err(crate::error::invalid(
                "start",
                format!("must be a time ≥ 0 s, got {s}"),
            ));
        }
    }
    if let Some(d) = limits.duration {
        if !(d.is_finite() && d > 0.0) {
            return Err(crate::error::invalid(
                "duration",
                format!("must be a positive time, got {d}"),
            ));
        }
    }
    Ok(())
}

/// Frames a conversion should produce, when that can be known.
fn expected_frames(info: &StreamInfo, limits: &Limits) -> Option<u64> {
    let fps = info.fps();
    let from_duration = limits.duration.zip(fps).map(|(d, f)| (d * f).ceil() as u64);
    let from_input = if info.live {
        None
    } else {
        let skipped = limits
            .start
            .zip(fps)
            .map_or(0, |(s, f)| (s * f).round() as u64);
        info.frame_count
            .or_else(|| info.duration.zip(fps).map(|(d, f)| (d * f).round() as u64))
            .map(|n| n.saturating_sub(skipped))
    };
    [limits.frames, from_duration, from_input]
        .into_iter()
        .flatten()
        .min()
}

/// The dewarp stage: pulls decoded frames, applies limits and the camera path, dewarps into
/// recycled buffers.
struct DewarpStage {
    dewarper: Dewarper,
    view: View,
    path: Option<CameraPath>,
    limits: Limits,
    format: PixelFormat,
    out: SyncSender<Stage>,
    free: Receiver<OutBuf>,
    pool: usize,
    allocated: usize,
}

impl DewarpStage {
    fn run(mut self, mut source: VideoSource) {
        let mut origin: Option<f64> = None;
        let mut sent = 0u64;
        let mut done = false;
        let mut early_audio: VecDeque<AudioPacket> = VecDeque::new();
        loop {
            let Some(event) = source.next_event(None) else {
                let status = source.end_status().cloned().unwrap_or(EndStatus {
                    reason: EndReason::Stopped,
                    stats: Default::default(),
                });
                let _ = self.out.send(Stage::End(status));
                return;
            };
            let forwarded = match event {
                Event::Frame(decoded) => {
                    if done {
                        continue;
                    }
                    let t0 = *origin.get_or_insert(decoded.pts());
                    let t = decoded.pts() - t0;
                    let past_end = self.limits.duration.is_some_and(|d| t >= d - 1e-6);
                    if past_end {
                        done = true;
                        source.stop();
                        continue;
                    }
                    for packet in early_audio.drain(..) {
                        let shift = packet.offset - t0;
                        if self.out.send(Stage::Audio(packet, shift)).is_err() {
                            return;
                        }
                    }
                    let buf = match self.dewarp(&decoded, t) {
                        Ok(b) => b,
                        Err(e) => {
                            let _ = self.out.send(Stage::Failed(e));
                            return;
                        }
                    };
                    drop(decoded);
                    sent += 1;
                    if self.limits.frames.is_some_and(|n| sent >= n) {
                        done = true;
                        source.stop();
                    }
                    self.out.send(Stage::Frame(buf))
                }
                Event::Audio(packet) => {
                    if done {
                        continue;
                    }
                    match origin {
                        Some(t0) => {
                            let shift = packet.offset - t0;
                            self.out.send(Stage::Audio(packet, shift))
                        }
                        None => {
                            if early_audio.len() >= 256 {
                                early_audio.pop_front();
                            }
                            early_audio.push_back(packet);
                            Ok(())
                        }
                    }
                }
                Event::Notice(n) => self.out.send(Stage::Notice(n)),
                Event::Reconnected(n) => self.out.send(Stage::Reconnected(n)),
                Event::End(status) => {
                    let _ = self.out.send(Stage::End(status));
                    return;
                }
            };
            if forwarded.is_err() {
                // The encode stage has gone; dropping the source stops decoding.
                return;
            }
        }
    }

    /// A free buffer: a recycled one, a new one while the pool is not full, else wait for
    /// the encoder to hand one back.
    fn buffer(&mut self) -> Result<OutBuf> {
        if let Ok(b) = self.free.try_recv() {
            return Ok(b);
        }
        if self.allocated < self.pool {
            self.allocated += 1;
            return Ok(OutBuf {
                frame: FrameBuf::new(self.format, self.view.width, self.view.height)?,
                pts: 0.0,
            });
        }
        self.free
            .recv()
            .map_err(|_| Error::Video("the encoder stopped".into()))
    }

    fn dewarp(&mut self, decoded: &super::source::DecodedFrame, t: f64) -> Result<OutBuf> {
        if let Some(path) = &self.path {
            self.dewarper.set_view(path.view_at(&self.view, t))?;
        }
        let mut buf = self.buffer()?;
        buf.pts = t;
        buf.frame.set_color(decoded.color());
        let frame = decoded.frame();
        self.dewarper.dewarp(&frame, &mut buf.frame.frame_mut())?;
        Ok(buf)
    }
}
