//! The viewer's state as plain values: the sources, each with its own camera and mode, the
//! overlays, and what each command does to them. No window, GPU or decoder types: the app
//! loop feeds commands and time in and reads views out; unit tests do the same.

pub mod calib_edit;
pub mod camera;
pub mod clamp;
pub mod keys;
pub mod stats;

use omnidewarp::model::{ElevationBand, ProjectionKind};

use camera::{Camera, Motion};
use keys::Command;

/// What the window shows for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A dewarped view of this kind.
    View(ProjectionKind),
    /// The raw frame with the calibration drawn over it (mode 0).
    Raw,
}

impl Mode {
    /// The mode of number key `n` (0–6).
    #[must_use]
    pub fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Raw,
            1 => Self::View(ProjectionKind::Perspective),
            2 => Self::View(ProjectionKind::Equirect),
            3 => Self::View(ProjectionKind::Cylinder),
            4 => Self::View(ProjectionKind::Stereographic),
            5 => Self::View(ProjectionKind::DoublePanorama),
            6 => Self::View(ProjectionKind::Quad),
            _ => return None,
        })
    }

    /// Its number key.
    #[must_use]
    pub fn number(self) -> u8 {
        (0..=6)
            .find(|&n| Self::from_number(n) == Some(self))
            .unwrap_or(1)
    }

    /// A short name (`perspective`, …, `raw`) for the HUD and `--stats`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::View(kind) => kind.name(),
            Self::Raw => "raw",
        }
    }
}

/// One source's state: its camera (heading, per-kind pitch and fov, inertia) and mode.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceState {
    /// The camera.
    pub camera: Camera,
    /// The mode shown.
    pub mode: Mode,
    /// The calibration being edited by eye, if any.
    pub edit: Option<calib_edit::CalibEdit>,
}

impl SourceState {
    /// A source showing the PTZ view.
    #[must_use]
    pub fn new() -> Self {
        Self {
            camera: Camera::new(ProjectionKind::Perspective),
            mode: Mode::View(ProjectionKind::Perspective),
            edit: None,
        }
    }

    /// Switches to `mode` (the camera keeps its heading; each kind its own pitch and fov).
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        if let Mode::View(kind) = mode {
            self.camera.kind = kind;
        }
    }
}

impl Default for SourceState {
    fn default() -> Self {
        Self::new()
    }
}

/// The size and band the current view is drawn with, for commands that move the camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// View width, pixels.
    pub width: u32,
    /// View height, pixels.
    pub height: u32,
    /// The mirror's elevation band, when the calibration knows it.
    pub band: Option<ElevationBand>,
}

/// What the app loop must do after a command (the state has no window, files or decoder).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Nothing beyond a redraw.
    None,
    /// Toggle fullscreen.
    Fullscreen,
    /// Save a screenshot.
    Screenshot,
    /// Play/pause the current source.
    PlayPause,
    /// Seek the current source by seconds.
    Seek(f64),
    /// Save the calibration being edited.
    SaveCalibration,
    /// Start/stop recording.
    Record,
    /// The current source changed.
    SourceChanged,
    /// Close the window.
    Quit,
}

/// Everything the viewer shows, as plain values.
#[derive(Debug, Clone)]
pub struct AppState {
    /// One entry per source, in command-line order.
    pub sources: Vec<SourceState>,
    /// Index of the source shown.
    pub current: usize,
    /// How the camera answers input.
    pub motion: Motion,
    /// Help overlay shown.
    pub help: bool,
    /// HUD shown.
    pub hud: bool,
}

impl AppState {
    /// `count` sources (at least one), each with a default camera.
    #[must_use]
    pub fn new(count: usize, motion: Motion) -> Self {
        Self {
            sources: vec![SourceState::new(); count.max(1)],
            current: 0,
            motion,
            help: false,
            hud: false,
        }
    }

    /// The source shown.
    #[must_use]
    pub fn source(&self) -> &SourceState {
        &self.sources[self.current]
    }

    /// The source shown, mutably.
    pub fn source_mut(&mut self) -> &mut SourceState {
        &mut self.sources[self.current]
    }

    /// Applies `command` at time `now` to the source shown in `viewport`.
    pub fn apply(&mut self, command: Command, now: f64, viewport: Viewport) -> Effect {
        let motion = self.motion;
        let size = (viewport.width, viewport.height);
        let source = &mut self.sources[self.current];
        match command {
            Command::Pan(x, y) => {
                source.camera.touch(now);
                let fov = if source.camera.kind.is_panorama() {
                    std::f64::consts::TAU / 4.0
                } else {
                    source.camera.aim().fov.min(std::f64::consts::PI)
                };
                source.camera.pan(x * fov, y * fov, viewport.band, size);
            }
            Command::Zoom(steps) => {
                source.camera.touch(now);
                source.camera.zoom(steps, &motion, viewport.band, size);
            }
            Command::Mode(n) => {
                if let Some(mode) = Mode::from_number(n) {
                    source.set_mode(mode);
                    source.camera.constrain(viewport.band, size.0, size.1);
                }
            }
            Command::Source(step) => {
                let n = self.sources.len() as i64;
                let next = (self.current as i64 + i64::from(step)).rem_euclid(n);
                self.current = next as usize;
                return Effect::SourceChanged;
            }
            Command::AutoRotate => {
                source.camera.auto_rotate = !source.camera.auto_rotate;
                // Start at once when switched on, not after the idle delay.
                source.camera.touch(now - motion.auto_rotate_idle);
            }
            Command::Clamp => {
                source.camera.clamp = !source.camera.clamp;
                source.camera.constrain(viewport.band, size.0, size.1);
            }
            Command::Calibrate => {
                source.set_mode(Mode::Raw);
                if source.edit.take().is_none() {
                    return Effect::None;
                }
            }
            Command::Help => self.help = !self.help,
            Command::Hud => self.hud = !self.hud,
            Command::Escape if self.help => self.help = false,
            Command::Escape => {
                source.edit = None;
            }
            Command::Fullscreen => return Effect::Fullscreen,
            Command::Screenshot => return Effect::Screenshot,
            Command::PlayPause => return Effect::PlayPause,
            Command::Seek(s) => return Effect::Seek(s),
            Command::SaveCalibration => return Effect::SaveCalibration,
            Command::Record => return Effect::Record,
            Command::Quit => return Effect::Quit,
        }
        Effect::None
    }
}

/// The shipped synthetic ring sample's calibration (1440², the sky above, the floor
/// below), for the state's unit tests.
#[cfg(test)]
pub(crate) fn ring_sample_calibration() -> omnidewarp::model::Calibration {
    use omnidewarp::model::{Calibration, CameraModel, RingModel};
    let ring = RingModel::builder()
        .center([719.5, 719.5])
        .radii(246.25, 705.6)
        .elevations(-55f64.to_radians(), 60f64.to_radians())
        .build()
        .unwrap();
    Calibration::new((1440, 1440), CameraModel::Ring(ring), None).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewport() -> Viewport {
        Viewport {
            width: 640,
            height: 360,
            band: None,
        }
    }

    #[test]
    fn sources_keep_their_own_view_and_mode() {
        let mut state = AppState::new(2, Motion::default());
        state.apply(Command::Pan(1.0, 0.0), 0.0, viewport());
        state.apply(Command::Mode(4), 0.0, viewport());
        let first = state.source().clone();
        assert_eq!(first.mode, Mode::View(ProjectionKind::Stereographic));
        assert_eq!(
            state.apply(Command::Source(1), 0.0, viewport()),
            Effect::SourceChanged
        );
        assert_eq!(state.current, 1);
        assert_eq!(state.source().mode, Mode::View(ProjectionKind::Perspective));
        assert_eq!(state.source().camera.yaw, 0.0);
        state.apply(Command::Source(-1), 0.0, viewport());
        assert_eq!(state.current, 0);
        assert_eq!(state.source(), &first);
        // Wraps both ways.
        state.apply(Command::Source(-1), 0.0, viewport());
        assert_eq!(state.current, 1);
    }

    #[test]
    fn mode_numbers_round_trip() {
        for n in 0..=6 {
            assert_eq!(Mode::from_number(n).unwrap().number(), n);
        }
        assert_eq!(Mode::from_number(7), None);
        assert_eq!(Mode::from_number(4).unwrap().name(), "stereographic");
    }

    #[test]
    fn escape_closes_help_first_and_effects_reach_the_loop() {
        let mut state = AppState::new(1, Motion::default());
        state.apply(Command::Help, 0.0, viewport());
        assert!(state.help);
        assert_eq!(state.apply(Command::Escape, 0.0, viewport()), Effect::None);
        assert!(!state.help);
        assert_eq!(
            state.apply(Command::Screenshot, 0.0, viewport()),
            Effect::Screenshot
        );
        assert_eq!(
            state.apply(Command::Seek(-5.0), 0.0, viewport()),
            Effect::Seek(-5.0)
        );
    }
}
