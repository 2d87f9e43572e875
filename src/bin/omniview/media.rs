//! Sources: stills loaded and videos decoded off the UI thread. Each source has a thread
//! that resolves its calibration (`calib::resolve`: `--calib`, else the sidecar, else the
//! ring detected in its first frame) and hands the newest frame over a one-slot mailbox;
//! a frame the UI had no time to show is replaced and counted as dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use omnidewarp::calib::{self, CalibrationOrigin, ResolvedCalibration};
use omnidewarp::video::{self, DecodedFrame, InputKind, SourceOptions, VideoInput, VideoSource};
use omnidewarp::{DetectOptions, Frame};

/// A frame to show: a still image or a decoded video frame, shared without copying.
#[derive(Clone)]
pub enum Picture {
    /// A still, RGBA.
    Still(Arc<image::RgbaImage>),
    /// A video frame (I420/NV12) and when it reached the viewer.
    Video(Arc<DecodedFrame>, Instant),
}

impl Picture {
    /// The frame's planes.
    pub fn frame(&self) -> omnidewarp::Result<Frame<'_>> {
        match self {
            Self::Still(image) => Frame::from_rgba_image(image),
            Self::Video(decoded, _) => Ok(decoded.frame()),
        }
    }

    /// Width and height.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Self::Still(image) => image.dimensions(),
            Self::Video(decoded, _) => (decoded.width(), decoded.height()),
        }
    }
}

/// Where a source stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Opening or loading.
    Loading,
    /// A still image.
    Still,
    /// Playing.
    Playing,
    /// Paused by the user.
    Paused,
    /// A file played to its end: its last frame stays.
    Ended,
    /// Failed: the message (credentials redacted).
    Failed(String),
}

/// What the stream is, for the HUD.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// Codec name (`h264`, `jpeg` for stills, …).
    pub codec: String,
    /// Declared frame rate.
    pub fps: Option<f64>,
    /// Whether it is live (network stream or device).
    pub live: bool,
    /// Duration in seconds, when known.
    pub duration: Option<f64>,
}

/// The mailbox between a source's thread and the UI.
pub struct Shared {
    /// The newest frame.
    pub picture: Option<Picture>,
    /// Increments with every new picture (the UI redraws when it changes).
    pub serial: u64,
    /// The serial the UI last took.
    pub taken: u64,
    /// The calibration, once resolved (or why not).
    pub calibration: Option<Result<ResolvedCalibration, String>>,
    /// What the stream is.
    pub info: Option<Info>,
    /// Where it stands.
    pub status: Status,
    /// Frames replaced before the UI took them.
    pub dropped: u64,
    /// When the last frame arrived.
    pub last_frame: Option<Instant>,
    /// Time of the last frame, seconds.
    pub pts: f64,
    /// Milliseconds the last `next_frame` waited for the decoder.
    pub decode_ms: f64,
}

/// Requests to a video thread.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Control {
    /// Seek by seconds from the current frame.
    Seek(f64),
    /// Start again from the beginning (after the end).
    Restart,
}

/// One source and its thread.
pub struct Media {
    /// The location as shown (credentials redacted).
    pub label: String,
    /// The file path, for stills and video files (where a calibration is saved beside).
    pub path: Option<PathBuf>,
    shared: Arc<Mutex<Shared>>,
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

/// Wakes the UI when something arrived.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A stalled live stream is shown as reconnecting after this long without a frame.
const STALL: Duration = Duration::from_millis(1500);

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Media {
    /// Starts loading `location` with calibration `explicit` (else the sidecar, else the
    /// detected ring).
    pub fn open(location: &str, explicit: Option<PathBuf>, wake: Wake) -> Self {
        let label = video::redact(location);
        let is_file =
            matches!(InputKind::of(location), InputKind::File) && Path::new(location).is_file();
        let path = is_file.then(|| PathBuf::from(location));
        let shared = Arc::new(Mutex::new(Shared {
            picture: None,
            serial: 0,
            taken: 0,
            calibration: None,
            info: None,
            status: Status::Loading,
            dropped: 0,
            last_frame: None,
            pts: 0.0,
            decode_ms: 0.0,
        }));
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (control, rx) = channel();
        let worker = Worker {
            location: location.to_owned(),
            label: label.clone(),
            path: path.clone(),
            explicit,
            shared: shared.clone(),
            paused: paused.clone(),
            stop: stop.clone(),
            control: rx,
            wake,
        };
        let thread = std::thread::Builder::new()
            .name("omniview-source".into())
            .spawn(move || worker.run())
            .ok();
        Self {
            label,
            path,
            shared,
            paused,
            stop,
            control,
            thread,
        }
    }

    /// The mailbox, locked.
    pub fn shared(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// The newest picture and whether it is new since the last call.
    pub fn take(&self) -> (Option<Picture>, bool) {
        let mut s = self.shared();
        let new = s.taken != s.serial;
        s.taken = s.serial;
        (s.picture.clone(), new)
    }

    /// Replaces the calibration (an edit by eye, a detection on request).
    pub fn set_calibration(&self, resolved: ResolvedCalibration) {
        let mut s = self.shared();
        s.calibration = Some(Ok(resolved));
        s.serial += 1;
    }

    /// The line the status bar shows for the stream state.
    pub fn status_text(&self) -> String {
        let s = self.shared();
        let live = s.info.as_ref().is_some_and(|i| i.live);
        match &s.status {
            Status::Playing if live && s.last_frame.is_some_and(|t| t.elapsed() > STALL) => {
                "reconnecting…".into()
            }
            Status::Playing if s.picture.is_none() => "connecting…".into(),
            Status::Playing => "playing".into(),
            Status::Loading => "loading…".into(),
            Status::Still => "still".into(),
            Status::Paused => "paused".into(),
            Status::Ended => "ended (space plays again)".into(),
            Status::Failed(e) => format!("error: {e}"),
        }
    }

    /// Pauses or resumes a video (restarts one that ended).
    pub fn play_pause(&self) {
        let status = self.shared().status.clone();
        match status {
            Status::Ended => {
                let _ = self.control.send(Control::Restart);
            }
            Status::Playing | Status::Paused => {
                let paused = !self.paused.load(Ordering::SeqCst);
                self.paused.store(paused, Ordering::SeqCst);
                self.shared().status = if paused {
                    Status::Paused
                } else {
                    Status::Playing
                };
            }
            _ => {}
        }
    }

    /// Seeks a video file by `seconds`.
    pub fn seek(&self, seconds: f64) {
        let _ = self.control.send(Control::Seek(seconds));
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The source's thread.
struct Worker {
    location: String,
    label: String,
    path: Option<PathBuf>,
    explicit: Option<PathBuf>,
    shared: Arc<Mutex<Shared>>,
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    control: Receiver<Control>,
    wake: Wake,
}

impl Worker {
    fn run(self) {
        if video::is_video_input(&self.location) {
            self.run_video();
        } else {
            self.run_still();
        }
        (self.wake)();
    }

    fn fail(&self, message: String) {
        lock(&self.shared).status = Status::Failed(message);
        (self.wake)();
    }

    fn resolve(&self, frame: &Frame<'_>) -> Result<ResolvedCalibration, String> {
        calib::resolve(self.explicit.as_deref(), self.path.as_deref(), || {
            ResolvedCalibration::detect(frame, &DetectOptions::default())
        })
        .map_err(|e| e.to_string())
    }

    fn run_still(&self) {
        let decoded = std::fs::read(&self.location)
            .map_err(image::ImageError::IoError)
            .and_then(|bytes| {
                let format = image::guess_format(&bytes)?;
                if format == image::ImageFormat::Jpeg {
                    if let Some(why) = video::jpeg_damage(&bytes) {
                        eprintln!(
                            "omniview: {}: the JPEG's coded data is damaged ({why}): parts \
                             of the frame may be wrong",
                            self.label
                        );
                    }
                }
                image::load_from_memory_with_format(&bytes, format)
            });
        let image = match decoded {
            Ok(image) => image.to_rgba8(),
            Err(e) => return self.fail(format!("{}: {e}", self.label)),
        };
        let calibration = match Frame::from_rgba_image(&image) {
            Ok(frame) => self.resolve(&frame),
            Err(e) => Err(e.to_string()),
        };
        let mut s = lock(&self.shared);
        s.info = Some(Info {
            codec: Path::new(&self.location)
                .extension()
                .map_or_else(|| "image".into(), |e| e.to_string_lossy().to_lowercase()),
            fps: None,
            live: false,
            duration: None,
        });
        s.calibration = Some(calibration);
        s.picture = Some(Picture::Still(Arc::new(image)));
        s.serial += 1;
        s.status = Status::Still;
        s.last_frame = Some(Instant::now());
        drop(s);
        (self.wake)();
    }

    fn input(&self) -> VideoInput {
        let mut input = VideoInput::new(self.location.clone());
        if !matches!(input.kind(), InputKind::File) {
            // Notice a dead stream within a few seconds and show the newest frame only.
            input.timeout = Duration::from_secs(3);
            input.drop_late = true;
        }
        input
    }

    /// Waits while paused; `false` when asked to stop.
    fn wait_while_paused(&self) -> bool {
        while self.paused.load(Ordering::SeqCst) {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn run_video(&self) {
        let input = self.input();
        let mut start: Option<f64> = None;
        loop {
            let options = SourceOptions::default().with_queue(2).with_start(start);
            let mut source = match VideoSource::open(&input, &options) {
                Ok(source) => source,
                Err(e) => return self.fail(e.to_string()),
            };
            let info = source.info().clone();
            {
                let mut s = lock(&self.shared);
                s.info = Some(Info {
                    codec: info.codec.clone(),
                    fps: info.fps(),
                    live: info.live,
                    duration: info.duration,
                });
                s.status = if self.paused.load(Ordering::SeqCst) {
                    Status::Paused
                } else {
                    Status::Playing
                };
            }
            match self.play(&mut source, info.live, start.unwrap_or(0.0)) {
                Next::Stop => return,
                Next::Seek(t) => start = Some(t.max(0.0)),
                Next::End(result) => {
                    {
                        let mut s = lock(&self.shared);
                        s.status = match result {
                            Ok(()) => Status::Ended,
                            Err(e) => Status::Failed(e),
                        };
                    }
                    (self.wake)();
                    // Wait for a seek or a restart.
                    loop {
                        if self.stop.load(Ordering::SeqCst) {
                            return;
                        }
                        match self.control.recv_timeout(Duration::from_millis(50)) {
                            Ok(Control::Restart) => {
                                start = None;
                                break;
                            }
                            Ok(Control::Seek(d)) if !info.live => {
                                start = Some((lock(&self.shared).pts + d).max(0.0));
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    /// Plays `source` until it ends, a seek is asked for, or the viewer stops.
    fn play(&self, source: &mut VideoSource, live: bool, start: f64) -> Next {
        // Files play at their own pace from `start`; live streams as they come.
        let mut clock: Option<(Instant, f64)> = None;
        loop {
            match self.control.try_recv() {
                Ok(Control::Seek(d)) if !live => return Next::Seek(lock(&self.shared).pts + d),
                Ok(Control::Restart) if !live => return Next::Seek(0.0),
                Ok(_) | Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
            if !self.wait_while_paused() {
                return Next::Stop;
            }
            let asked = Instant::now();
            let decoded = match source.next_frame() {
                Ok(Some(decoded)) => decoded,
                Ok(None) => return Next::End(Ok(())),
                Err(e) => return Next::End(Err(e.to_string())),
            };
            if self.stop.load(Ordering::SeqCst) {
                return Next::Stop;
            }
            let decode_ms = asked.elapsed().as_secs_f64() * 1e3;
            let pts = decoded.pts();
            if !live {
                let (t0, p0) = *clock.get_or_insert((Instant::now(), pts.max(start)));
                let due = t0 + Duration::from_secs_f64((pts - p0).max(0.0));
                let mut due = due;
                while Instant::now() < due {
                    if self.stop.load(Ordering::SeqCst) {
                        return Next::Stop;
                    }
                    if self.paused.load(Ordering::SeqCst) {
                        // The clock stops while paused.
                        let paused_at = Instant::now();
                        if !self.wait_while_paused() {
                            return Next::Stop;
                        }
                        let pause = paused_at.elapsed();
                        due += pause;
                        clock = clock.map(|(t, p)| (t + pause, p));
                    }
                    std::thread::sleep(
                        due.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(10)),
                    );
                }
            }
            let need_calibration = lock(&self.shared).calibration.is_none();
            if need_calibration {
                let calibration = self.resolve(&decoded.frame());
                lock(&self.shared).calibration = Some(calibration);
            }
            {
                let mut s = lock(&self.shared);
                if s.taken != s.serial && s.picture.is_some() {
                    s.dropped += 1;
                }
                s.picture = Some(Picture::Video(Arc::new(decoded), Instant::now()));
                s.serial += 1;
                s.last_frame = Some(Instant::now());
                s.pts = pts;
                s.decode_ms = decode_ms;
            }
            (self.wake)();
        }
    }
}

/// How a play loop ended.
enum Next {
    Stop,
    Seek(f64),
    End(Result<(), String>),
}

/// The one-line origin shown in the status bar: "ring auto-detected", the file, or the
/// sidecar.
pub fn origin_text(origin: &CalibrationOrigin) -> String {
    match origin {
        CalibrationOrigin::Detected(_) => "ring auto-detected".into(),
        CalibrationOrigin::Sidecar(path) => format!("{} (beside the source)", file_name(path)),
        CalibrationOrigin::File(path) => file_name(path),
        _ => origin.to_string(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
