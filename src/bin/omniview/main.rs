//! `omniview`: the desktop viewer. Open mirror-camera stills, video files, live URLs and
//! capture devices and look around inside them (drag, wheel, keys; `h` lists them).
//!
//! Layers: `state` (plain values, unit-tested) ← `app` (the winit loop: events → state
//! commands, redraws) → `render` (GPU dewarper in egui's pass, or the CPU dewarper and a
//! texture) and `ui` (egui overlays); `media` decodes off the UI thread; `persist` and
//! `record` write files.

mod app;
mod args;
mod media;
mod persist;
mod record;
mod render;
mod state;
mod ui;

use clap::Parser;
use winit::event_loop::EventLoop;

fn main() -> std::process::ExitCode {
    // SAFETY: first statement of main, no other thread exists yet.
    unsafe {
        omnidewarp::gpu::quiet_device_select_without_runtime_dir();
    }
    let args = args::Args::parse();
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omniview: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The library's warnings on stderr, one line each (a stream that reconnected, a device
/// lost, a calibration stretched to the frame); its messages carry no credentials.
struct StderrWarnings;

static LOGGER: StderrWarnings = StderrWarnings;

impl log::Log for StderrWarnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn && metadata.target().starts_with("omnidewarp")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("omniview: {}", record.args());
        }
    }

    fn flush(&self) {}
}

fn run(args: args::Args) -> Result<(), String> {
    let event_loop = EventLoop::<app::WakeUp>::with_user_event()
        .build()
        .map_err(|e| {
            format!("no display to open a window on: {e} (set DISPLAY or WAYLAND_DISPLAY)")
        })?;
    let mut app = app::App::new(args, event_loop.create_proxy())?;
    event_loop
        .run_app(&mut app)
        .map_err(|e| format!("the window system failed: {e}"))?;
    app.error.take().map_or(Ok(()), Err)
}
