//! The decoding thread: reads packets, decodes frames into the bounded queue, passes audio
//! through, reconnects dropped network inputs and, at the end of a file, checks it was whole.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use ff::{Packet, Rational, frame};
use ffmpeg_next as ff;

use super::VideoInput;
use super::open::{Cure, Opened, Stop, open_stream, rational_f64, sleep_unless};
use super::pixels::{Scaler, to_yuv};
use super::probe::file_cut;
use super::{AudioPacket, EndReason, EndStatus, Event, SourceOptions, SourceStats, StreamInfo};
use crate::video::url::{InputKind, scrub};

/// The decoding thread's state.
pub(super) struct Decoding {
    input: VideoInput,
    stop: Stop,
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
    pub(super) fn new(
        input: VideoInput,
        opened: Opened,
        stop: Stop,
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
        self.stop.is_set()
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
    pub(super) fn seek_start(&mut self, start: f64) {
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

    pub(super) fn run(mut self) {
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
                Err(e) if e.cure == Cure::Refused => {
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
