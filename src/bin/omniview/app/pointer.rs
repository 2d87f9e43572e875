//! The pointer on the window: which view or frame pixel it is over, and what a press, a
//! drag and a release do (pan the camera, or move a calibration handle in the raw mode).

use super::*;

impl App {
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

    pub(super) fn pointer_pressed(&mut self, pos: (f64, f64)) {
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

    pub(super) fn pointer_moved(&mut self, from: Option<(f64, f64)>, to: (f64, f64)) {
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

    pub(super) fn pointer_released(&mut self) {
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
}
