//! The app loop: a winit 0.30 `ApplicationHandler` that turns window events into state
//! commands, asks the renderer for the view, draws the overlays with egui and presents.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egui_wgpu::wgpu;
use glam::DVec2;
use omnidewarp::calib::{CalibrationOrigin, ResolvedCalibration};
use omnidewarp::model::{Calibration, ProjectionKind, View, ViewRequest};
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoopProxy};
use winit::keyboard::{Key as WinitKey, NamedKey};
use winit::window::{Fullscreen, Window, WindowId};

use crate::args::{Args, RendererArg};
use crate::media::{Media, Picture, origin_text};
use crate::persist::Store;
use crate::record::Recorder;
use crate::render::{Backend, Drawn, Gpu, Placement, Timings, ViewRenderer};
use crate::state::calib_edit::{CalibEdit, GRAB_RADIUS};
use crate::state::camera::Motion;
use crate::state::keys::{self, Command, Key, Modifiers};
use crate::state::stats::FrameStats;
use crate::state::{AppState, Effect, Mode, Viewport};
use crate::ui::{self, FrameToScreen};

mod frame;
mod gfx;
mod pointer;

/// Wakes the loop from a source's thread.
#[derive(Debug, Clone, Copy)]
pub struct WakeUp;

/// The window, its device and egui.
struct Gfx {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: wgpu::SurfaceConfiguration,
    egui_ctx: egui::Context,
    egui_state: egui_winit::State,
    egui_renderer: egui_wgpu::Renderer,
    renderer: ViewRenderer,
    adapter: String,
    /// Why the device was lost, once it was (set by its lost callback): the next wake-up
    /// replaces everything made on it, keeping the window.
    lost: Arc<OnceLock<String>>,
}

/// What the last redraw showed, for mapping the pointer.
#[derive(Clone)]
struct Shown {
    /// The view and where it sits (physical pixels).
    view: Option<(View, [f64; 2])>,
    /// The raw frame's placement (mode 0).
    raw: Option<FrameToScreen>,
    calibration: Calibration,
    picture: Picture,
    pixels_per_point: f64,
}

/// The viewer.
pub struct App {
    args: Args,
    start: Instant,
    state: AppState,
    media: Vec<Media>,
    gfx: Option<Gfx>,
    /// A fatal error for `main` to print.
    pub error: Option<String>,
    stats: FrameStats,
    timings: Timings,
    present_ms: f64,
    cursor: Option<(f64, f64)>,
    pressed: bool,
    last_click: Option<(Instant, (f64, f64))>,
    modifiers: Modifiers,
    shown: Option<Shown>,
    message: Option<(String, Instant)>,
    screenshots: u32,
    recorder: Option<Recorder>,
    store: Store,
    /// Frames shown of the current source.
    frames_shown: u64,
    /// The status text last seen (a change redraws).
    last_status: String,
    /// What the last redraw showed, in short (a change draws once more).
    signature: String,
    last_serial: Option<(usize, u64)>,
    /// `OMNIVIEW_TEST_LOSE_DEVICE` is set: the device is destroyed once, after the first
    /// frame shown, so that tests see a lost device replaced.
    lose_device_for_test: bool,
}

fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// The sources opened with no argument: the shipped samples.
fn samples() -> Vec<(String, Option<PathBuf>)> {
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    vec![
        (
            assets
                .join("synthetic_ring/ring_1440.jpg")
                .display()
                .to_string(),
            Some(assets.join("synthetic_ring/ring_1440.toml")),
        ),
        (
            assets
                .join("opencv_sample/sample.jpg")
                .display()
                .to_string(),
            Some(assets.join("opencv_sample/sample_mei_calib.toml")),
        ),
    ]
}

impl App {
    /// Opens every source (their threads start loading at once).
    pub fn new(args: Args, proxy: EventLoopProxy<WakeUp>) -> Result<Self, String> {
        let sources: Vec<(String, Option<PathBuf>)> = if args.sources.is_empty() {
            samples()
        } else {
            if args.calib.len() > 1 && args.calib.len() != args.sources.len() {
                return Err(format!(
                    "{} --calib files for {} sources: give one for every source, or one for all",
                    args.calib.len(),
                    args.sources.len()
                ));
            }
            args.sources
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let calib = args
                        .calib
                        .get(i)
                        .or(args.calib.first().filter(|_| args.calib.len() == 1));
                    (s.clone(), calib.cloned())
                })
                .collect()
        };
        let wake: crate::media::Wake = Arc::new(move || {
            let _ = proxy.send_event(WakeUp);
        });
        let media: Vec<Media> = sources
            .iter()
            .map(|(location, calib)| Media::open(location, calib.clone(), wake.clone()))
            .collect();
        let motion = Motion {
            zoom_step: args.zoom_step,
            fov_min: args.fov_min.to_radians(),
            fov_max: args.fov_max.to_radians(),
            friction: args.friction,
            ..Motion::default()
        };
        if !(motion.fov_min > 0.0 && motion.fov_min < motion.fov_max && args.fov_max < 180.0) {
            return Err("--fov-min and --fov-max must satisfy 0 < min < max < 180".into());
        }
        let mut state = AppState::new(media.len(), motion);
        let store = Store::open(args.reset);
        for (source, m) in state.sources.iter_mut().zip(&media) {
            store.restore(&m.label, source);
            if let Some(n) = args.mode {
                if let Some(mode) = Mode::from_number(n) {
                    source.set_mode(mode);
                }
            }
        }
        Ok(Self {
            args,
            start: Instant::now(),
            state,
            media,
            gfx: None,
            error: None,
            stats: FrameStats::new(1.0),
            timings: Timings::default(),
            present_ms: 0.0,
            cursor: None,
            pressed: false,
            last_click: None,
            modifiers: Modifiers::default(),
            shown: None,
            message: None,
            screenshots: 0,
            recorder: None,
            store,
            frames_shown: 0,
            last_status: String::new(),
            signature: String::new(),
            last_serial: None,
            lose_device_for_test: std::env::var_os("OMNIVIEW_TEST_LOSE_DEVICE").is_some(),
        })
    }

    fn now(&self) -> f64 {
        seconds(self.start)
    }

    fn say(&mut self, text: String) {
        println!("{text}");
        self.message = Some((text, Instant::now()));
    }

    /// The calibration the current source is shown with: an edit by eye, else the resolved one.
    fn calibration(&self) -> Option<Result<(Calibration, String), String>> {
        let source = self.state.source();
        if let Some(edit) = &source.edit {
            return Some(
                edit.to_calibration()
                    .map(|c| (c, "edited by eye (Ctrl+S saves)".to_string()))
                    .map_err(|e| e.to_string()),
            );
        }
        let media = &self.media[self.state.current];
        let shared = media.shared();
        shared.calibration.clone().map(|r| {
            r.map(|resolved| {
                let origin = origin_text(&resolved.origin);
                (resolved.calibration, origin)
            })
        })
    }

    /// The view of the current source at window size `(w, h)`: PTZ, planet and quad fill the
    /// window; panoramas keep square pixels and are letterboxed. Returns it with its offset.
    fn fit_view(
        &self,
        calibration: &Calibration,
        w: u32,
        h: u32,
    ) -> omnidewarp::Result<(View, [f64; 2])> {
        let camera = &self.state.source().camera;
        if !camera.kind.is_panorama() {
            return Ok((camera.view(calibration, w, h)?, [0.0, 0.0]));
        }
        let natural = ViewRequest::new(camera.kind)
            .with_band(true)
            .with_width(w)
            .build(calibration)?;
        let (vw, vh) = if natural.height <= h {
            (w, natural.height)
        } else {
            (
                ((f64::from(w) * f64::from(h) / f64::from(natural.height)).round() as u32).max(16),
                h,
            )
        };
        let view = camera.view(calibration, vw, vh)?;
        Ok((view, [f64::from(w - vw) / 2.0, f64::from(h - vh) / 2.0]))
    }

    fn viewport(&self) -> Viewport {
        match &self.shown {
            Some(Shown {
                view: Some((view, _)),
                calibration,
                ..
            }) => Viewport {
                width: view.width,
                height: view.height,
                band: calibration.band,
            },
            _ => {
                let (w, h) = self
                    .gfx
                    .as_ref()
                    .map_or(self.args.size, |g| (g.config.width, g.config.height));
                Viewport {
                    width: w,
                    height: h,
                    band: None,
                }
            }
        }
    }

    fn command(&mut self, command: Command, event_loop: &ActiveEventLoop) {
        let now = self.now();
        let viewport = self.viewport();
        let effect = self.state.apply(command, now, viewport);
        match effect {
            Effect::None => {}
            Effect::Fullscreen => {
                if let Some(gfx) = &self.gfx {
                    let full = gfx.window.fullscreen().is_some();
                    gfx.window
                        .set_fullscreen((!full).then_some(Fullscreen::Borderless(None)));
                }
            }
            Effect::Screenshot => self.screenshot(),
            Effect::PlayPause => self.media[self.state.current].play_pause(),
            Effect::Seek(s) => self.media[self.state.current].seek(s),
            Effect::SaveCalibration => self.save_calibration(),
            Effect::Record => self.toggle_recording(),
            Effect::SourceChanged => {
                if let Some(gfx) = &mut self.gfx {
                    gfx.renderer.reset();
                    let label = &self.media[self.state.current].label;
                    gfx.window.set_title(&format!("omniview — {label}"));
                }
                self.shown = None;
            }
            Effect::Quit => event_loop.exit(),
        }
        if command == Command::Calibrate
            && self.state.source().edit.is_none()
            && self.state.source().mode == Mode::Raw
        {
            // `c` opens the editor on the current calibration, in the shown frame's pixels
            // (where the handles are drawn and dragged), or says why not.
            let frame_size = self.shown.as_ref().map(|s| s.picture.size());
            match (self.calibration(), frame_size) {
                (Some(Ok((calibration, _))), Some((w, h))) => {
                    match calibration.scaled_to(w, h).map(|c| CalibEdit::from_calibration(&c)) {
                        Ok(Some(edit)) => self.state.source_mut().edit = Some(edit),
                        Ok(None) => self.say(
                            "calibration: a ring with a measured profile cannot be edited by eye; press d to start from the detected ring".into(),
                        ),
                        Err(e) => self.say(format!("calibration: {e}")),
                    }
                }
                (_, None) => self.say("calibration: no frame shown yet".into()),
                _ => self.say("calibration: none yet; press d to detect the ring".into()),
            }
        }
        self.request_redraw();
    }

    fn request_redraw(&self) {
        if let Some(gfx) = &self.gfx {
            gfx.window.request_redraw();
        }
    }

    /// Detects the ring in the current frame and starts editing it (`d`, or the button).
    fn detect(&mut self) {
        let Some(shown) = &self.shown else { return };
        let result = shown
            .picture
            .frame()
            .and_then(|f| ResolvedCalibration::detect(&f, &omnidewarp::DetectOptions::default()));
        match result {
            Ok(resolved) => {
                let edit = CalibEdit::from_calibration(&resolved.calibration);
                if let CalibrationOrigin::Detected(ring) = &resolved.origin {
                    self.say(format!("calibration: ring auto-detected ({ring})"));
                }
                let source = self.state.source_mut();
                source.set_mode(Mode::Raw);
                source.edit = edit.map(|mut e| {
                    e.dirty = true;
                    e
                });
            }
            Err(e) => self.say(format!("calibration: {e}")),
        }
        self.request_redraw();
    }

    fn save_calibration(&mut self) {
        let Some(edit) = self.state.source().edit.clone() else {
            self.say("calibration: nothing edited (mode 0, c)".into());
            return;
        };
        let media = &self.media[self.state.current];
        let target = self
            .args
            .save_calib
            .clone()
            .or_else(|| media.path.as_deref().map(omnidewarp::calib::sidecar_path));
        let Some(target) = target else {
            self.say("calibration: this source is not a file; give --save-calib FILE".into());
            return;
        };
        let result = edit.to_calibration().and_then(|c| {
            c.save_toml(&target)?;
            Ok(c)
        });
        match result {
            Ok(calibration) => {
                media.set_calibration(ResolvedCalibration {
                    calibration,
                    origin: CalibrationOrigin::File(target.clone()),
                });
                if let Some(e) = &mut self.state.source_mut().edit {
                    e.dirty = false;
                }
                self.say(format!("calibration saved: {}", target.display()));
            }
            Err(e) => self.say(format!("calibration not saved: {e}")),
        }
    }

    fn screenshot(&mut self) {
        let Some(shown) = self.shown.clone() else {
            self.say("screenshot: nothing shown yet".into());
            return;
        };
        let Some(gfx) = &self.gfx else { return };
        let (w, h) = (gfx.config.width, gfx.config.height);
        self.screenshots += 1;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = self
            .args
            .output_dir
            .join(format!("omniview-{stamp}-{:03}.png", self.screenshots));
        let result = (|| -> omnidewarp::Result<()> {
            if self.state.source().mode == Mode::Raw {
                return omnidewarp::output::save_image(&shown.picture.frame()?, &path);
            }
            // The view again, offscreen, at the window's full size (panoramas: the
            // letterboxed view's size).
            let (view, _) = match shown.view {
                Some(v) => v,
                None => self.fit_view(&shown.calibration, w, h)?,
            };
            let out = gfx
                .renderer
                .offscreen(&shown.calibration, &shown.picture, view)?;
            omnidewarp::output::save_image(&out.frame(), &path)
        })();
        match result {
            Ok(()) => self.say(format!("screenshot: {}", path.display())),
            Err(e) => self.say(format!("screenshot failed: {e}")),
        }
    }

    fn toggle_recording(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            match recorder.finish() {
                Ok(lines) => {
                    for line in lines {
                        self.say(line);
                    }
                }
                Err(e) => self.say(format!("recording failed: {e}")),
            }
            return;
        }
        let media = &self.media[self.state.current];
        let pts = media.shared().pts;
        match Recorder::start(
            &self.args.output_dir,
            self.args.record_video.as_deref(),
            pts,
        ) {
            Ok(recorder) => {
                let what = recorder.describe();
                self.recorder = Some(recorder);
                self.say(format!("recording: {what} (r stops)"));
            }
            Err(e) => self.say(format!("recording failed: {e}")),
        }
    }

    fn key(&mut self, key: &WinitKey, event_loop: &ActiveEventLoop) {
        let mapped = match key {
            WinitKey::Named(named) => match named {
                NamedKey::ArrowLeft => Some(Key::Left),
                NamedKey::ArrowRight => Some(Key::Right),
                NamedKey::ArrowUp => Some(Key::Up),
                NamedKey::ArrowDown => Some(Key::Down),
                NamedKey::PageUp => Some(Key::PageUp),
                NamedKey::PageDown => Some(Key::PageDown),
                NamedKey::Tab => Some(Key::Tab),
                NamedKey::Space => Some(Key::Space),
                NamedKey::Escape => Some(Key::Escape),
                NamedKey::F1 => Some(Key::F1),
                NamedKey::F11 => Some(Key::F11),
                _ => None,
            },
            WinitKey::Character(s) => s.chars().next().map(|c| Key::Char(c.to_ascii_lowercase())),
            _ => None,
        };
        let Some(mapped) = mapped else { return };
        if mapped == Key::Char('d') && !self.modifiers.ctrl {
            self.detect();
            return;
        }
        if let Some(command) = keys::command(mapped, self.modifiers) {
            self.command(command, event_loop);
        }
    }

    /// Saves every source's view, mode and calibration edits.
    pub fn save_state(&self) {
        for (source, media) in self.state.sources.iter().zip(&self.media) {
            self.store.remember(&media.label, source);
        }
        if let Err(e) = self.store.save() {
            eprintln!("omniview: settings not saved: {e}");
        }
    }
}

impl ApplicationHandler<WakeUp> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        match self.create_gfx(event_loop) {
            Ok(gfx) => {
                gfx.window.request_redraw();
                self.gfx = Some(gfx);
            }
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn user_event(&mut self, _event_loop: &ActiveEventLoop, _event: WakeUp) {
        self.request_redraw();
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        let Some(gfx) = self.gfx.as_mut() else { return };
        let response = gfx.egui_state.on_window_event(&gfx.window, &event);
        let egui_pointer = gfx.egui_ctx.egui_wants_pointer_input();
        let egui_keys = gfx.egui_ctx.egui_wants_keyboard_input();
        // egui asks for a repaint after every redraw too: that would never stop.
        if response.repaint && !matches!(event, WindowEvent::RedrawRequested) {
            gfx.window.request_redraw();
        }
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                gfx.config.width = size.width.max(1);
                gfx.config.height = size.height.max(1);
                gfx.surface.configure(&gfx.device, &gfx.config);
                self.shown = None;
                self.request_redraw();
            }
            WindowEvent::RedrawRequested => self.redraw(),
            WindowEvent::ModifiersChanged(m) => {
                self.modifiers = Modifiers {
                    shift: m.state().shift_key(),
                    ctrl: m.state().control_key(),
                };
            }
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed && !egui_keys =>
            {
                self.key(&event.logical_key, event_loop);
            }
            WindowEvent::CursorMoved { position, .. } => {
                let to = (position.x, position.y);
                let from = self.cursor.replace(to);
                if self.pressed {
                    self.pointer_moved(from, to);
                    self.request_redraw();
                }
            }
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => match state {
                ElementState::Pressed if !(egui_pointer && response.consumed) => {
                    if let Some(pos) = self.cursor {
                        self.pressed = true;
                        self.pointer_pressed(pos);
                        self.request_redraw();
                    }
                }
                ElementState::Released if self.pressed => {
                    self.pressed = false;
                    self.pointer_released();
                    self.request_redraw();
                }
                _ => {}
            },
            WindowEvent::MouseWheel { delta, .. } if !egui_pointer => {
                let clicks = match delta {
                    MouseScrollDelta::LineDelta(_, y) => f64::from(y),
                    MouseScrollDelta::PixelDelta(p) => p.y / 50.0,
                };
                let now = self.now();
                let viewport = self.viewport();
                let motion = self.state.motion;
                let camera = &mut self.state.source_mut().camera;
                camera.touch(now);
                camera.zoom(
                    clicks,
                    &motion,
                    viewport.band,
                    (viewport.width, viewport.height),
                );
                self.request_redraw();
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        // A poll runs the device's callbacks: a loss is seen even while nothing is drawn.
        if let Some(gfx) = &self.gfx {
            let _ = gfx.device.poll(wgpu::PollType::Poll);
        }
        if self.gfx.as_ref().is_some_and(|g| g.lost.get().is_some())
            && let Err(e) = self.replace_lost_device(event_loop)
        {
            self.error = Some(e);
            event_loop.exit();
            return;
        }
        self.print_stats();
        let now = self.now();
        let motion = self.state.motion;
        let moving = self.state.source().camera.animating(now, &motion);
        let playing = self.recorder.is_some() || self.state.source().camera.dragging();
        if moving || playing {
            self.request_redraw();
        }
        // Wake for the next stats line and to keep "reconnecting…" and messages current.
        let wait = self.stats.until_next(now).min(0.25);
        event_loop.set_control_flow(ControlFlow::WaitUntil(
            Instant::now() + Duration::from_secs_f64(wait),
        ));
        let status = self.media[self.state.current].status_text();
        if status != self.last_status {
            self.last_status = status;
            self.request_redraw();
        }
    }

    fn exiting(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(recorder) = self.recorder.take() {
            match recorder.finish() {
                Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                Err(e) => eprintln!("omniview: recording failed: {e}"),
            }
        }
        self.save_state();
    }
}
