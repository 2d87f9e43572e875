//! The virtual camera of one source: where it looks, how a drag, the wheel and the keys
//! move it, inertia after a drag, auto-rotation, and the clamp that keeps the view inside
//! the mirror's elevation band. Pure: time comes in as seconds, pointer positions as view
//! pixels; no window or GPU types.

use std::collections::VecDeque;
use std::f64::consts::{FRAC_PI_2, PI};

pub use super::clamp::Aim;
use omnidewarp::Result;
use omnidewarp::model::{
    Calibration, ElevationBand, ProjectionKind, View, ViewRequest, heading_elevation, wrap_angle,
};

/// How the camera answers input: zoom step and limits, inertia, auto-rotation, the band
/// clamp. Angles are radians, rates per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Motion {
    /// Factor the field of view is divided by per wheel click or `+` press (> 1).
    pub zoom_step: f64,
    /// Narrowest horizontal field of view of a PTZ view.
    pub fov_min: f64,
    /// Widest horizontal field of view of a PTZ view (< 180°).
    pub fov_max: f64,
    /// Inertia decay rate after a drag, 1/s: the speed is multiplied by `exp(−friction·t)`.
    /// 0 turns inertia off (the view stops when the pointer is released).
    pub friction: f64,
    /// Auto-rotation speed (heading, per second).
    pub auto_rotate_speed: f64,
    /// Seconds without input after which auto-rotation resumes.
    pub auto_rotate_idle: f64,
}

impl Default for Motion {
    fn default() -> Self {
        Self {
            zoom_step: 1.15,
            fov_min: 15f64.to_radians(),
            fov_max: 120f64.to_radians(),
            friction: 4.0,
            auto_rotate_speed: 6f64.to_radians(),
            auto_rotate_idle: 3.0,
        }
    }
}

/// Stereographic ("little planet") field of view limits: wide enough to close the planet,
/// narrow enough to zoom into it.
const PLANET_FOV: (f64, f64) = (60.0, 330.0);

/// Speeds below this (rad/s) end inertia.
const MIN_SPEED: f64 = 0.002;

/// Pointer samples older than this (s) do not count towards the release speed.
const VELOCITY_WINDOW: f64 = 0.1;

/// A pointer held still this long (s) before release leaves no inertia.
const STILL_BEFORE_RELEASE: f64 = 0.06;

/// A drag in progress: the direction that was under the pointer when it started.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grab {
    heading: f64,
    elevation: f64,
}

/// Where one source's camera looks and how it is moving.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Heading of the view centre, radians (wrapped to (−π, π]).
    pub yaw: f64,
    /// Pitch and fov per kind, in the order of [`ProjectionKind::ALL`].
    pub aims: [Aim; 6],
    /// The kind shown.
    pub kind: ProjectionKind,
    /// Whether the band clamp is on (default); off lets experts look past the mirror.
    pub clamp: bool,
    /// Auto-rotation enabled (`a`).
    pub auto_rotate: bool,
    grab: Option<Grab>,
    /// (time, yaw, pitch) during the current drag.
    samples: VecDeque<(f64, f64, f64)>,
    /// Inertia: (yaw, pitch) speed, rad/s.
    velocity: (f64, f64),
    /// Time of the last user input.
    last_input: f64,
    /// Time of the last [`Camera::tick`].
    last_tick: Option<f64>,
}

fn kind_index(kind: ProjectionKind) -> usize {
    ProjectionKind::ALL
        .iter()
        .position(|&k| k == kind)
        .unwrap_or(0)
}

impl Camera {
    /// A camera looking north at the horizon with every kind's default pitch and fov.
    #[must_use]
    pub fn new(kind: ProjectionKind) -> Self {
        let aims = ProjectionKind::ALL.map(|k| Aim {
            pitch: k.default_pitch(),
            fov: k.default_fov().unwrap_or(FRAC_PI_2),
        });
        Self {
            yaw: 0.0,
            aims,
            kind,
            clamp: true,
            auto_rotate: false,
            grab: None,
            samples: VecDeque::new(),
            velocity: (0.0, 0.0),
            last_input: f64::NEG_INFINITY,
            last_tick: None,
        }
    }

    /// Pitch and fov of the shown kind.
    #[must_use]
    pub fn aim(&self) -> Aim {
        self.aims[kind_index(self.kind)]
    }

    /// Sets pitch and fov of the shown kind (unclamped: call [`Camera::constrain`]).
    pub fn set_aim(&mut self, aim: Aim) {
        self.aims[kind_index(self.kind)] = aim;
    }

    /// Whether the camera is moving by itself (inertia or auto-rotation) at `now`, so the
    /// caller should keep drawing.
    #[must_use]
    pub fn animating(&self, now: f64, motion: &Motion) -> bool {
        self.velocity != (0.0, 0.0) || self.auto_rotating(now, motion)
    }

    fn auto_rotating(&self, now: f64, motion: &Motion) -> bool {
        self.auto_rotate && self.grab.is_none() && now - self.last_input >= motion.auto_rotate_idle
    }

    /// Whether a drag is in progress.
    #[must_use]
    pub fn dragging(&self) -> bool {
        self.grab.is_some()
    }

    /// The view this camera shows at `width × height` of a source calibrated by
    /// `calibration`: PTZ, quad and little planet at the camera's pitch and fov; panoramas
    /// as band panoramas (pitch 0).
    pub fn view(&self, calibration: &Calibration, width: u32, height: u32) -> Result<View> {
        let aim = self.aim();
        let request = ViewRequest::new(self.kind)
            .with_size(width, height)
            .with_yaw(self.yaw);
        let request = if self.kind.is_panorama() {
            request.with_band(true)
        } else {
            request.with_pitch(aim.pitch).with_fov(aim.fov)
        };
        request.build(calibration)
    }

    /// Starts a drag at view pixel (`x`, `y`) of `view` (the view shown), at time `now`.
    pub fn press(&mut self, view: &View, x: f64, y: f64, now: f64) {
        self.velocity = (0.0, 0.0);
        self.last_input = now;
        self.samples.clear();
        if let Some(ray) = view.ray(x, y) {
            let (heading, elevation) = heading_elevation(ray);
            self.grab = Some(Grab { heading, elevation });
            self.samples.push_back((now, self.yaw, self.aim().pitch));
        }
    }

    /// Moves the drag to (`x`, `y`): the direction grabbed comes under the pointer again
    /// (exactly in heading; in pitch as far as the band clamp allows). `view_at` makes the
    /// view for a yaw and aim, at the size shown.
    pub fn drag(
        &mut self,
        x: f64,
        y: f64,
        now: f64,
        band: Option<ElevationBand>,
        view_at: impl Fn(&Camera) -> Option<View>,
    ) {
        let Some(grab) = self.grab else { return };
        self.last_input = now;
        // The heading under a pixel is yaw + (something independent of yaw), so one step
        // puts it right; the elevation depends a little on pitch: a few steps converge.
        let pitch_follows = matches!(
            self.kind,
            ProjectionKind::Perspective | ProjectionKind::Quad
        );
        for _ in 0..4 {
            let Some(view) = view_at(self) else { return };
            let Some(ray) = view.ray(x, y) else { return };
            let (heading, elevation) = heading_elevation(ray);
            self.yaw = wrap_angle(self.yaw + wrap_angle(grab.heading - heading));
            if pitch_follows {
                let mut aim = self.aim();
                aim.pitch = (aim.pitch + grab.elevation - elevation).clamp(-FRAC_PI_2, FRAC_PI_2);
                self.set_aim(aim);
                if let Some(v) = view_at(self) {
                    self.constrain(band, v.width, v.height);
                }
            }
        }
        self.samples.push_back((now, self.yaw, self.aim().pitch));
        while self
            .samples
            .front()
            .is_some_and(|&(t, ..)| now - t > VELOCITY_WINDOW * 2.0)
        {
            self.samples.pop_front();
        }
    }

    /// Ends a drag at `now`: the speed of the last [`VELOCITY_WINDOW`] of samples carries
    /// on as inertia (none when the pointer stood still before release or friction is 0).
    pub fn release(&mut self, now: f64, motion: &Motion) {
        self.last_input = now;
        self.grab = None;
        self.velocity = (0.0, 0.0);
        if motion.friction <= 0.0 {
            return;
        }
        let Some(&(t1, yaw1, pitch1)) = self.samples.back() else {
            return;
        };
        if now - t1 > STILL_BEFORE_RELEASE {
            return;
        }
        let Some(&(t0, yaw0, pitch0)) = self
            .samples
            .iter()
            .find(|&&(t, ..)| t1 - t <= VELOCITY_WINDOW)
        else {
            return;
        };
        let dt = t1 - t0;
        if dt < 0.008 {
            return;
        }
        self.velocity = (wrap_angle(yaw1 - yaw0) / dt, (pitch1 - pitch0) / dt);
        self.samples.clear();
    }

    /// Advances inertia and auto-rotation to `now`.
    pub fn tick(
        &mut self,
        now: f64,
        motion: &Motion,
        band: Option<ElevationBand>,
        size: (u32, u32),
    ) {
        let dt = self.last_tick.map_or(0.0, |t| (now - t).clamp(0.0, 0.1));
        self.last_tick = Some(now);
        if self.grab.is_some() || dt == 0.0 {
            return;
        }
        if self.velocity != (0.0, 0.0) {
            self.yaw = wrap_angle(self.yaw + self.velocity.0 * dt);
            if !self.kind.is_panorama() && self.kind != ProjectionKind::Stereographic {
                let mut aim = self.aim();
                aim.pitch += self.velocity.1 * dt;
                self.set_aim(aim);
                self.constrain(band, size.0, size.1);
            }
            let decay = (-motion.friction * dt).exp();
            self.velocity = (self.velocity.0 * decay, self.velocity.1 * decay);
            if self.velocity.0.hypot(self.velocity.1) < MIN_SPEED {
                self.velocity = (0.0, 0.0);
            }
        } else if self.auto_rotating(now, motion) {
            self.yaw = wrap_angle(self.yaw + motion.auto_rotate_speed * dt);
        }
    }

    /// Notes user input at `now` (keys): stops inertia, delays auto-rotation.
    pub fn touch(&mut self, now: f64) {
        self.last_input = now;
        self.velocity = (0.0, 0.0);
    }

    /// Zooms by `clicks` steps (positive narrows the field of view), within the limits.
    pub fn zoom(
        &mut self,
        clicks: f64,
        motion: &Motion,
        band: Option<ElevationBand>,
        size: (u32, u32),
    ) {
        if self.kind.is_panorama() {
            return;
        }
        let mut aim = self.aim();
        let (lo, hi) = self.fov_limits(motion);
        aim.fov = (aim.fov / motion.zoom_step.powf(clicks)).clamp(lo, hi);
        self.set_aim(aim);
        self.constrain(band, size.0, size.1);
    }

    /// Pans by `dyaw` and tilts by `dpitch` (radians), as the arrow keys do.
    pub fn pan(&mut self, dyaw: f64, dpitch: f64, band: Option<ElevationBand>, size: (u32, u32)) {
        self.yaw = wrap_angle(self.yaw + dyaw);
        if !self.kind.is_panorama() {
            let mut aim = self.aim();
            aim.pitch = (aim.pitch + dpitch).clamp(-FRAC_PI_2, FRAC_PI_2);
            self.set_aim(aim);
            self.constrain(band, size.0, size.1);
        }
    }

    /// Turns to look at the direction under view pixel (`x`, `y`) (double-click).
    pub fn center_on(&mut self, view: &View, x: f64, y: f64, band: Option<ElevationBand>) {
        let Some(ray) = view.ray(x, y) else { return };
        let (heading, elevation) = heading_elevation(ray);
        self.velocity = (0.0, 0.0);
        self.yaw = wrap_angle(heading);
        if matches!(self.kind, ProjectionKind::Perspective) {
            let mut aim = self.aim();
            aim.pitch = elevation;
            self.set_aim(aim);
            self.constrain(band, view.width, view.height);
        }
    }

    /// The fov range of the shown kind.
    #[must_use]
    pub fn fov_limits(&self, motion: &Motion) -> (f64, f64) {
        match self.kind {
            ProjectionKind::Stereographic => (PLANET_FOV.0.to_radians(), PLANET_FOV.1.to_radians()),
            _ => (motion.fov_min, motion.fov_max.min(PI - 0.01)),
        }
    }

    /// Clamps pitch and fov so that a PTZ (or quad) view of `width × height` stays inside
    /// `band` (no-op when the clamp is off, without a band, or for other kinds).
    pub fn constrain(&mut self, band: Option<ElevationBand>, width: u32, height: u32) {
        let Some(band) = band.filter(|_| self.clamp) else {
            return;
        };
        if !matches!(
            self.kind,
            ProjectionKind::Perspective | ProjectionKind::Quad
        ) {
            return;
        }
        let aim = self.aim();
        let fitted = super::clamp::fit(self.kind, aim, band, width, height);
        self.set_aim(fitted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration() -> Calibration {
        crate::state::ring_sample_calibration()
    }

    fn band() -> ElevationBand {
        calibration().band.unwrap()
    }

    fn view_of(camera: &Camera) -> Option<View> {
        camera.view(&calibration(), 640, 360).ok()
    }

    #[test]
    fn drag_keeps_the_grabbed_direction_under_the_pointer() {
        let mut camera = Camera::new(ProjectionKind::Perspective);
        let view = view_of(&camera).unwrap();
        let (x0, y0) = (319.5, 179.5);
        let target = heading_elevation(view.ray(x0, y0).unwrap());
        camera.press(&view, x0, y0, 0.0);
        camera.drag(419.5, 219.5, 0.05, Some(band()), view_of);
        let after = view_of(&camera).unwrap();
        let (h, e) = heading_elevation(after.ray(419.5, 219.5).unwrap());
        assert!(
            wrap_angle(h - target.0).abs() < 1e-9,
            "heading {h} vs {}",
            target.0
        );
        assert!((e - target.1).abs() < 1e-6, "elevation {e} vs {}", target.1);
        // Content follows the cursor: dragging right looks further left (west).
        assert!(camera.yaw < 0.0);
        // By about the angle the pixels subtend: atan(100 / F), F = 320 / tan(45°) (exact
        // for a level drag; this one also tilts).
        let expected = (100f64 / 320.0).atan();
        assert!((camera.yaw + expected).abs() < 0.01, "{}", camera.yaw);
    }

    #[test]
    fn panorama_drag_turns_by_the_columns_share_of_360() {
        let mut camera = Camera::new(ProjectionKind::Equirect);
        let view = camera.view(&calibration(), 720, 240).unwrap();
        camera.press(&view, 100.0, 120.0, 0.0);
        camera.drag(280.0, 130.0, 0.1, None, |c| {
            c.view(&calibration(), 720, 240).ok()
        });
        assert!((camera.yaw + PI / 2.0).abs() < 1e-9, "{}", camera.yaw);
    }

    #[test]
    fn release_while_moving_coasts_and_friction_stops_it() {
        let motion = Motion::default();
        let mut camera = Camera::new(ProjectionKind::Perspective);
        let view = view_of(&camera).unwrap();
        camera.press(&view, 300.0, 180.0, 0.0);
        for i in 1..=10 {
            let t = f64::from(i) * 0.01;
            camera.drag(300.0 + 10.0 * f64::from(i), 180.0, t, None, view_of);
        }
        camera.release(0.105, &motion);
        assert!(camera.animating(0.105, &motion));
        let yaw_at_release = camera.yaw;
        camera.tick(0.105, &motion, None, (640, 360));
        let mut t = 0.105;
        let mut last = yaw_at_release;
        let mut steps = Vec::new();
        while camera.animating(t, &motion) && t < 10.0 {
            t += 1.0 / 60.0;
            camera.tick(t, &motion, None, (640, 360));
            steps.push(wrap_angle(camera.yaw - last));
            last = camera.yaw;
        }
        assert!(t < 10.0, "inertia never stopped");
        // It keeps going the same way (left), more slowly each frame: no jerk, no reversal.
        assert!(steps[0] < 0.0);
        assert!(
            steps
                .windows(2)
                .all(|w| w[1] <= 0.0 && w[1].abs() <= w[0].abs() + 1e-12)
        );
        // The first coasting step matches the drag's speed (100 px in 0.09 s).
        let drag_speed = (yaw_at_release - 0.0) / 0.1;
        assert!(
            (steps[0] * 60.0 / drag_speed - 1.0).abs() < 0.35,
            "{} vs {drag_speed}",
            steps[0] * 60.0
        );
    }

    #[test]
    fn no_inertia_when_the_pointer_stopped_or_friction_is_zero() {
        let mut camera = Camera::new(ProjectionKind::Perspective);
        let view = view_of(&camera).unwrap();
        camera.press(&view, 300.0, 180.0, 0.0);
        camera.drag(400.0, 180.0, 0.05, None, view_of);
        camera.release(0.5, &Motion::default());
        assert!(!camera.animating(0.5, &Motion::default()));
        let off = Motion {
            friction: 0.0,
            ..Motion::default()
        };
        camera.press(&view, 300.0, 180.0, 1.0);
        camera.drag(400.0, 180.0, 1.05, None, view_of);
        camera.release(1.05, &off);
        assert!(!camera.animating(1.05, &off));
    }

    #[test]
    fn zoom_steps_geometrically_within_limits() {
        let motion = Motion::default();
        let mut camera = Camera::new(ProjectionKind::Perspective);
        camera.zoom(1.0, &motion, None, (640, 360));
        assert!((camera.aim().fov - FRAC_PI_2 / 1.15).abs() < 1e-12);
        camera.zoom(100.0, &motion, None, (640, 360));
        assert_eq!(camera.aim().fov, motion.fov_min);
        camera.zoom(-100.0, &motion, None, (640, 360));
        assert_eq!(camera.aim().fov, motion.fov_max);
        let mut planet = Camera::new(ProjectionKind::Stereographic);
        planet.zoom(-100.0, &motion, None, (640, 360));
        assert!((planet.aim().fov - 330f64.to_radians()).abs() < 1e-12);
    }

    #[test]
    fn kinds_keep_their_own_pitch_and_fov() {
        let motion = Motion::default();
        let mut camera = Camera::new(ProjectionKind::Perspective);
        camera.zoom(2.0, &motion, None, (640, 360));
        let ptz = camera.aim();
        camera.kind = ProjectionKind::Stereographic;
        assert_eq!(camera.aim().pitch, -FRAC_PI_2);
        camera.kind = ProjectionKind::Perspective;
        assert_eq!(camera.aim(), ptz);
    }

    #[test]
    fn auto_rotation_waits_for_idle() {
        let motion = Motion::default();
        let mut camera = Camera::new(ProjectionKind::Perspective);
        camera.auto_rotate = true;
        camera.touch(0.0);
        camera.tick(1.0, &motion, None, (640, 360));
        camera.tick(2.0, &motion, None, (640, 360));
        assert_eq!(camera.yaw, 0.0);
        camera.tick(2.95, &motion, None, (640, 360));
        assert_eq!(camera.yaw, 0.0);
        camera.tick(3.0, &motion, None, (640, 360));
        camera.tick(3.05, &motion, None, (640, 360));
        assert!((camera.yaw - motion.auto_rotate_speed * 0.1).abs() < 1e-9);
    }

    #[test]
    fn double_click_centres_the_point() {
        let mut camera = Camera::new(ProjectionKind::Perspective);
        let view = view_of(&camera).unwrap();
        let (h, e) = heading_elevation(view.ray(500.0, 100.0).unwrap());
        camera.center_on(&view, 500.0, 100.0, None);
        assert!((camera.yaw - h).abs() < 1e-12 && (camera.aim().pitch - e).abs() < 1e-12);
    }
}
