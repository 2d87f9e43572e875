//! The app loop: a winit 0.30 `ApplicationHandler` that turns window events into state
//! commands, asks the renderer for the view, draws the overlays with egui and presents.

use std::path::PathBuf;
use std::sync::Arc;
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
use crate::render::{Backend, Drawn, Gpu, Timings, ViewRenderer};
use crate::state::calib_edit::{GRAB_RADIUS, RingEdit};
use crate::state::camera::Motion;
use crate::state::keys::{self, Command, Key, Modifiers};
use crate::state::stats::FrameStats;
use crate::state::{AppState, Effect, Mode, Viewport};
use crate::ui::{self, FrameToScreen};

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
        })
    }

    fn now(&self) -> f64 {
        seconds(self.start)
    }

    fn say(&mut self, text: String) {
        println!("{text}");
        self.message = Some((text, Instant::now()));
    }

    fn create_gfx(&mut self, event_loop: &ActiveEventLoop) -> Result<Gfx, String> {
        let label = self
            .media
            .get(self.state.current)
            .map_or("", |m| m.label.as_str());
        let attributes = Window::default_attributes()
            .with_title(format!("omniview — {label}"))
            .with_inner_size(PhysicalSize::new(self.args.size.0, self.args.size.1));
        let window = Arc::new(event_loop.create_window(attributes).map_err(|e| {
            format!("cannot open a window: {e} (is DISPLAY or WAYLAND_DISPLAY set?)")
        })?);
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let no_adapter = "no graphics adapter: install your GPU's Vulkan driver, or Mesa's software \
                          one (Debian/Ubuntu: apt install mesa-vulkan-drivers libvulkan1 libegl1 \
                          libgl1-mesa-dri)";
        let surface = instance.create_surface(window.clone()).map_err(|e| {
            // Without any driver the surface is the first thing to fail: say what is missing.
            if pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all())).is_empty() {
                no_adapter.to_string()
            } else {
                format!("cannot draw into the window: {e}")
            }
        })?;
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            compatible_surface: Some(&surface),
            ..Default::default()
        }))
        .map_err(|_| no_adapter.to_string())?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("omniview"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| format!("{}: cannot open the device: {e}", info.name))?;
        let caps = surface.get_capabilities(&adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| {
                matches!(
                    f,
                    wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Rgba8Unorm
                )
            })
            .or(caps.formats.first().copied())
            .ok_or_else(|| format!("{}: the window offers no surface format", info.name))?;
        let size = window.inner_size();
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&device, &config);
        let software = info.device_type == wgpu::DeviceType::Cpu;
        let backend = match self.args.renderer {
            RendererArg::Cpu => Backend::Cpu,
            RendererArg::Gpu => Backend::Gpu,
            RendererArg::Auto if software => Backend::Cpu,
            RendererArg::Auto => Backend::Gpu,
        };
        let egui_ctx = egui::Context::default();
        let egui_state = egui_winit::State::new(
            egui_ctx.clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(device.limits().max_texture_dimension_2d as usize),
        );
        let egui_renderer = egui_wgpu::Renderer::new(
            &device,
            format,
            egui_wgpu::RendererOptions {
                dithering: false,
                ..Default::default()
            },
        );
        Ok(Gfx {
            window,
            surface,
            device,
            queue,
            config,
            egui_ctx,
            egui_state,
            egui_renderer,
            renderer: ViewRenderer::new(backend),
            adapter: format!("{} ({:?})", info.name, info.backend),
        })
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
            // `c` opens the editor on the current calibration (a ring), or says why not.
            match self.calibration() {
                Some(Ok((calibration, _))) => match RingEdit::from_calibration(&calibration) {
                    Some(edit) => self.state.source_mut().edit = Some(edit),
                    None => self.say(format!(
                        "calibration: a {} model cannot be edited by eye; press d to start from the detected ring",
                        calibration.model.name()
                    )),
                },
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
                let edit = RingEdit::from_calibration(&resolved.calibration);
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

    /// Pointer at physical `(x, y)` as view pixel coordinates, if over the view.
    fn view_pixel(&self, (x, y): (f64, f64)) -> Option<(View, f64, f64)> {
        let (view, [ox, oy]) = self.shown.as_ref()?.view?;
        let (vx, vy) = (x - ox - 0.5, y - oy - 0.5);
        let inside =
            vx >= -0.5 && vy >= -0.5 && vx < f64::from(view.width) && vy < f64::from(view.height);
        inside.then_some((view, vx, vy))
    }

    fn raw_pixel(&self, (x, y): (f64, f64)) -> Option<(FrameToScreen, DVec2)> {
        let shown = self.shown.as_ref()?;
        let map = shown.raw?;
        let ppp = shown.pixels_per_point;
        let p = egui::Pos2::new((x / ppp) as f32, (y / ppp) as f32);
        Some((map, map.to_frame(p)))
    }

    fn pointer_pressed(&mut self, pos: (f64, f64)) {
        let now = self.now();
        let double = self.last_click.is_some_and(|(t, p)| {
            t.elapsed() < Duration::from_millis(400) && (p.0 - pos.0).hypot(p.1 - pos.1) < 6.0
        });
        self.last_click = Some((Instant::now(), pos));
        if self.state.source().mode == Mode::Raw {
            if let Some((map, p)) = self.raw_pixel(pos) {
                let reach = GRAB_RADIUS / map.scale()
                    * self.shown.as_ref().map_or(1.0, |s| s.pixels_per_point);
                if let Some(edit) = &mut self.state.source_mut().edit {
                    edit.active = edit.hit(p, reach.max(GRAB_RADIUS));
                }
            }
            return;
        }
        let Some((view, x, y)) = self.view_pixel(pos) else {
            return;
        };
        let band = self.shown.as_ref().and_then(|s| s.calibration.band);
        let camera = &mut self.state.source_mut().camera;
        if double {
            camera.center_on(&view, x, y, band);
        } else {
            camera.press(&view, x, y, now);
        }
    }

    fn pointer_moved(&mut self, from: Option<(f64, f64)>, to: (f64, f64)) {
        if !self.pressed {
            return;
        }
        let now = self.now();
        if self.state.source().mode == Mode::Raw {
            let (Some(from), Some((_, b))) = (from, self.raw_pixel(to)) else {
                return;
            };
            let Some((_, a)) = self.raw_pixel(from) else {
                return;
            };
            if let Some(edit) = &mut self.state.source_mut().edit {
                edit.drag(a, b);
            }
            return;
        }
        let Some(shown) = &self.shown else { return };
        let Some((view, [ox, oy])) = shown.view else {
            return;
        };
        let calibration = shown.calibration.clone();
        let (w, h) = (view.width, view.height);
        let (x, y) = (to.0 - ox - 0.5, to.1 - oy - 0.5);
        let camera = &mut self.state.source_mut().camera;
        camera.drag(x, y, now, calibration.band, |c| {
            c.view(&calibration, w, h).ok()
        });
    }

    fn pointer_released(&mut self) {
        let now = self.now();
        let motion = self.state.motion;
        let source = self.state.source_mut();
        if let Some(edit) = &mut source.edit {
            edit.active = None;
        }
        if source.camera.dragging() {
            source.camera.release(now, &motion);
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

    /// One frame: tick the camera, take the newest picture, draw view and overlays, present.
    fn redraw(&mut self) {
        let t0 = Instant::now();
        let now = self.now();
        let Some((w, h)) = self.gfx.as_ref().map(|g| (g.config.width, g.config.height)) else {
            return;
        };
        let current = self.state.current;
        let (picture, _) = self.media[current].take();
        let serial = self.media[current].shared().serial;
        if picture.is_some() && self.last_serial != Some((current, serial)) {
            self.last_serial = Some((current, serial));
            self.frames_shown += 1;
        }
        let calibration = self.calibration();
        let mut problem: Option<(String, bool)> = None;
        let mut shown = None;
        match (&picture, &calibration) {
            (Some(picture), Some(Ok((calibration, _)))) => {
                let motion = self.state.motion;
                let vp = self.viewport();
                let band = calibration.band;
                self.state
                    .source_mut()
                    .camera
                    .tick(now, &motion, band, (vp.width, vp.height));
                let view = if self.state.source().mode == Mode::Raw {
                    None
                } else {
                    match self.fit_view(calibration, w, h) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            problem = Some((e.to_string(), true));
                            None
                        }
                    }
                };
                shown = Some(Shown {
                    view,
                    raw: None,
                    calibration: calibration.clone(),
                    picture: picture.clone(),
                    pixels_per_point: 1.0,
                });
            }
            (_, Some(Err(e))) => problem = Some((format!("calibration: {e}"), true)),
            _ => {}
        }
        let status = self.media[current].status_text();
        if let Some(e) = status.strip_prefix("error: ") {
            problem = Some((e.to_string(), true));
        } else if shown.is_none() && problem.is_none() {
            problem = Some((status.clone(), false));
        }
        if let Some(recorder) = &mut self.recorder {
            if let Some(Shown {
                view: Some((view, _)),
                calibration,
                picture,
                ..
            }) = &shown
            {
                recorder.sample(now, view, calibration, picture);
            }
        }
        let hud = self.hud_lines(&status);
        let status_line = self.status_line(&status, calibration.as_ref());
        let help = self.state.help;
        let show_hud = self.state.hud;
        let editing = self.state.source().edit.clone();
        let message = self
            .message
            .as_ref()
            .filter(|(_, t)| t.elapsed() < Duration::from_secs(6))
            .map(|(m, _)| m.clone());
        let Some(gfx) = self.gfx.as_mut() else { return };
        let ppp = gfx.window.scale_factor();
        let raw_input = gfx.egui_state.take_egui_input(&gfx.window);
        let mut gpu = Gpu {
            device: &gfx.device,
            queue: &gfx.queue,
            format: gfx.config.format,
            egui: &mut gfx.egui_renderer,
        };
        // The view (or raw frame) first: egui then draws it as the background.
        let mut background: Option<(Drawn, egui::Rect)> = None;
        let mut raw_map = None;
        if let Some(s) = &mut shown {
            s.pixels_per_point = ppp;
            let points = |px: f64| (px / ppp) as f32;
            match s.view {
                Some((view, [ox, oy])) => {
                    match gfx
                        .renderer
                        .view(&mut gpu, &s.calibration, &s.picture, serial, view)
                    {
                        Ok((drawn, timings)) => {
                            if timings != Timings::default() {
                                self.timings = timings;
                            }
                            let rect = egui::Rect::from_min_size(
                                egui::pos2(points(ox), points(oy)),
                                egui::vec2(
                                    points(f64::from(view.width)),
                                    points(f64::from(view.height)),
                                ),
                            );
                            background = Some((drawn, rect));
                        }
                        Err(e) => problem = Some((e.to_string(), true)),
                    }
                }
                None => match gfx.renderer.raw(&mut gpu, &s.picture, serial) {
                    Ok(id) => {
                        let (fw, fh) = s.picture.size();
                        let scale =
                            (f64::from(w) / f64::from(fw)).min(f64::from(h) / f64::from(fh));
                        let (dw, dh) = (f64::from(fw) * scale, f64::from(fh) * scale);
                        let rect = egui::Rect::from_min_size(
                            egui::pos2(
                                points((f64::from(w) - dw) / 2.0),
                                points((f64::from(h) - dh) / 2.0),
                            ),
                            egui::vec2(points(dw), points(dh)),
                        );
                        let map = FrameToScreen {
                            rect,
                            frame_size: (fw, fh),
                        };
                        s.raw = Some(map);
                        raw_map = Some(map);
                        background = Some((Drawn::Texture(id), rect));
                    }
                    Err(e) => problem = Some((e.to_string(), true)),
                },
            }
        }
        // Editing a calibration by eye: the panorama it gives, live, under the raw frame.
        let mut preview = None;
        if let (Some(s), Some(_)) = (&shown, &editing) {
            if s.view.is_none() {
                let width = ui::preview_width(w);
                match gfx
                    .renderer
                    .preview(&mut gpu, &s.calibration, &s.picture, serial, width)
                {
                    Ok((id, size)) => {
                        let (x, y) = ui::preview_origin((w, h), size);
                        let points = |px: u32| (f64::from(px) / ppp) as f32;
                        let rect = egui::Rect::from_min_size(
                            egui::pos2(points(x), points(y)),
                            egui::vec2(points(size.0), points(size.1)),
                        );
                        preview = Some((id, rect));
                    }
                    Err(e) => problem = Some((format!("preview: {e}"), true)),
                }
            }
        }
        let overlay_calibration = shown.as_ref().map(|s| s.calibration.clone());
        let mut detect_clicked = false;
        let mut save_clicked = false;
        let mut edit_out = editing.clone();
        let output = gfx.egui_ctx.run_pass(raw_input, |ctx| {
            let painter = ctx.layer_painter(egui::LayerId::background());
            match &background {
                Some((Drawn::Texture(id), rect)) => {
                    painter.image(
                        *id,
                        *rect,
                        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                        egui::Color32::WHITE,
                    );
                }
                Some((Drawn::Callback, rect)) => {
                    painter.add(ViewRenderer::callback(*rect));
                }
                None => {}
            }
            if let (Some(map), Some(calibration)) = (raw_map, &overlay_calibration) {
                ui::calibration_overlay(&painter, map, calibration, editing.as_ref());
            }
            if let Some((id, rect)) = preview {
                ui::preview(ctx, id, rect);
            }
            if let Some(edit) = &mut edit_out {
                egui::Window::new("calibration")
                    .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 8.0))
                    .resizable(false)
                    .show(ctx, |ui| {
                        let mut e_in = edit.elevation_inner.to_degrees();
                        let mut e_out = edit.elevation_outer.to_degrees();
                        let mut heading = edit.heading_at_top.to_degrees();
                        ui.label(format!(
                            "centre {:.1}, {:.1}   radii {:.1} – {:.1}",
                            edit.center.x, edit.center.y, edit.radius_inner, edit.radius_outer
                        ));
                        ui.add(egui::Slider::new(&mut e_in, -89.0..=0.0).text("inner elevation °"));
                        ui.add(egui::Slider::new(&mut e_out, 0.0..=89.0).text("outer elevation °"));
                        ui.add(
                            egui::Slider::new(&mut heading, -180.0..=180.0)
                                .text("heading at top °"),
                        );
                        let mut mirrored = edit.mirrored;
                        ui.checkbox(&mut mirrored, "mirrored (a mirror, not a direct view)");
                        if (e_in - edit.elevation_inner.to_degrees()).abs() > 1e-9
                            || (e_out - edit.elevation_outer.to_degrees()).abs() > 1e-9
                            || (heading - edit.heading_at_top.to_degrees()).abs() > 1e-9
                            || mirrored != edit.mirrored
                        {
                            edit.elevation_inner = e_in.to_radians();
                            edit.elevation_outer = e_out.to_radians();
                            edit.heading_at_top = heading.to_radians();
                            edit.mirrored = mirrored;
                            edit.dirty = true;
                        }
                        ui.horizontal(|ui| {
                            detect_clicked = ui.button("auto-detect (d)").clicked();
                            save_clicked = ui.button("save (Ctrl+S)").clicked();
                        });
                        ui.label("drag the centre, the circles and the red heading mark");
                    });
            }
            ui::text_box(
                ctx,
                "status",
                egui::Align2::LEFT_BOTTOM,
                egui::vec2(6.0, -6.0),
                &status_line,
            );
            if let Some(m) = &message {
                ui::text_box(
                    ctx,
                    "message",
                    egui::Align2::CENTER_TOP,
                    egui::vec2(0.0, 8.0),
                    std::slice::from_ref(m),
                );
            }
            if show_hud {
                ui::text_box(
                    ctx,
                    "hud",
                    egui::Align2::LEFT_TOP,
                    egui::vec2(6.0, 6.0),
                    &hud,
                );
            }
            if help {
                ui::help(ctx);
            }
            if let Some((text, error)) = &problem {
                ui::banner(ctx, text, *error);
            }
        });
        gfx.egui_state
            .handle_platform_output(&gfx.window, output.platform_output);
        let primitives = gfx
            .egui_ctx
            .tessellate(output.shapes, output.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [w, h],
            pixels_per_point: output.pixels_per_point,
        };
        // Textures first, whatever happens to this frame: egui sends each delta once.
        let mut textures = output.textures_delta;
        for (id, deltas) in textures.set.drain() {
            for delta in deltas {
                gfx.egui_renderer
                    .update_texture(&gfx.device, &gfx.queue, id, &delta);
            }
        }
        let freed: Vec<egui::TextureId> = textures.free.drain().collect();
        let frame = match gfx.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            other => {
                if matches!(
                    other,
                    wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost
                ) {
                    gfx.surface.configure(&gfx.device, &gfx.config);
                }
                for id in &freed {
                    gfx.egui_renderer.free_texture(id);
                }
                gfx.window.request_redraw();
                return;
            }
        };
        let mut encoder = gfx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("omniview"),
            });
        let mut commands = gfx.egui_renderer.update_buffers(
            &gfx.device,
            &gfx.queue,
            &mut encoder,
            &primitives,
            &screen,
        );
        let target = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        {
            let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("omniview"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let mut pass = pass.forget_lifetime();
            gfx.egui_renderer.render(&mut pass, &primitives, &screen);
        }
        commands.push(encoder.finish());
        let t_present = Instant::now();
        gfx.queue.submit(commands);
        gfx.queue.present(frame);
        for id in &freed {
            gfx.egui_renderer.free_texture(id);
        }
        self.present_ms = t_present.elapsed().as_secs_f64() * 1e3;
        if output
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay.is_zero())
        {
            gfx.window.request_redraw();
        }
        if let Some(edit) = edit_out {
            if Some(&edit) != editing.as_ref() {
                self.state.source_mut().edit = Some(edit);
                gfx.window.request_redraw();
            }
        }
        if let Some(s) = &mut shown {
            s.raw = s.raw.or(raw_map);
        }
        self.shown = shown.or(self.shown.take().filter(|_| problem.is_none()));
        // A swap chain may show a frame only once the next one is presented: after anything
        // changed, draw once more, so that the window settles on what the state says.
        let signature = format!(
            "{:?}{serial}{help}{show_hud}{status_line:?}{message:?}{problem:?}{:?}",
            self.shown.as_ref().and_then(|s| s.view.map(|v| v.0)),
            self.state.source().edit
        );
        if signature != self.signature {
            self.signature = signature;
            if let Some(gfx) = &self.gfx {
                gfx.window.request_redraw();
            }
        }
        self.stats.frame(now, t0.elapsed().as_secs_f64() * 1e3);
        if detect_clicked {
            self.detect();
        }
        if save_clicked {
            self.save_calibration();
        }
    }

    fn status_line(
        &self,
        status: &str,
        calibration: Option<&Result<(Calibration, String), String>>,
    ) -> Vec<String> {
        let media = &self.media[self.state.current];
        let source = self.state.source();
        let origin = match calibration {
            Some(Ok((_, origin))) => origin.clone(),
            Some(Err(_)) => "failed".into(),
            None => "…".into(),
        };
        let backend = self
            .gfx
            .as_ref()
            .map_or("-", |g| g.renderer.backend().name());
        let mut flags = String::new();
        if !source.camera.clamp {
            flags.push_str(" · clamp off");
        }
        if source.camera.auto_rotate {
            flags.push_str(" · auto-rotate");
        }
        if self.recorder.is_some() {
            flags.push_str(" · ● rec");
        }
        // Files by name; URLs and devices as given (credentials redacted).
        let name = media
            .path
            .as_deref()
            .and_then(|p| p.file_name())
            .map_or_else(|| media.label.clone(), |n| n.to_string_lossy().into_owned());
        vec![format!(
            "{}/{} {} · {} · calibration: {} · {} · {}{} · h: help",
            self.state.current + 1,
            self.media.len(),
            name,
            source.mode.name(),
            origin,
            status,
            backend,
            flags
        )]
    }

    fn hud_lines(&self, status: &str) -> Vec<String> {
        let media = &self.media[self.state.current];
        let s = media.shared();
        let window = self.stats.last();
        let camera = &self.state.source().camera;
        let aim = camera.aim();
        let mut lines = vec![
            match window {
                Some(w) => format!(
                    "fps {:.1}   frame p50 {:.1} ms  p99 {:.1} ms",
                    w.fps, w.p50, w.p99
                ),
                None => "fps …".into(),
            },
            format!(
                "decode wait {:.1} ms · dewarp {:.1} · upload {:.1} · present {:.1} ms",
                s.decode_ms, self.timings.dewarp_ms, self.timings.upload_ms, self.present_ms
            ),
        ];
        if let Some(p) = &s.picture {
            let (w, h) = p.size();
            let info = s.info.as_ref();
            lines.push(format!(
                "source {w}×{h} · {} · {}",
                info.map_or("?", |i| i.codec.as_str()),
                info.and_then(|i| i.fps)
                    .map_or("still".into(), |f| format!("{f:.2} fps")),
            ));
            if let Picture::Video(_, arrived) = p {
                lines.push(format!(
                    "latency (queue age) {:.0} ms · at {:.2} s",
                    arrived.elapsed().as_secs_f64() * 1e3,
                    s.pts
                ));
            }
        }
        lines.push(format!("dropped {} · {status}", s.dropped));
        lines.push(format!(
            "backend {} on {}",
            self.gfx
                .as_ref()
                .map_or("-", |g| g.renderer.backend().name()),
            self.gfx.as_ref().map_or("-", |g| g.adapter.as_str()),
        ));
        lines.push(format!(
            "yaw {:.1}° pitch {:.1}° fov {:.1}°{}",
            camera.yaw.to_degrees(),
            aim.pitch.to_degrees(),
            aim.fov.to_degrees(),
            if camera.kind == ProjectionKind::Stereographic {
                " (planet)"
            } else {
                ""
            }
        ));
        lines
    }

    fn print_stats(&mut self) {
        let now = self.now();
        let Some(window) = self.stats.poll(now) else {
            return;
        };
        if !self.args.stats {
            return;
        }
        let media = &self.media[self.state.current];
        let dropped = media.shared().dropped;
        let status = media.status_text();
        let source = self.state.source();
        let aim = source.camera.aim();
        println!(
            "fps={:.1} p50={:.1}ms p99={:.1}ms dropped={} backend={} source={}/{} mode={} yaw={:.2} pitch={:.2} fov={:.2} frames={} status={}",
            window.fps,
            window.p50,
            window.p99,
            dropped,
            self.gfx
                .as_ref()
                .map_or("-", |g| g.renderer.backend().name()),
            self.state.current + 1,
            self.media.len(),
            source.mode.name(),
            source.camera.yaw.to_degrees(),
            aim.pitch.to_degrees(),
            aim.fov.to_degrees(),
            self.frames_shown,
            status.replace(' ', "_"),
        );
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
