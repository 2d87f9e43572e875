//! Calibrating by eye: a ring calibration whose centre, inner and outer circles and heading
//! mark are dragged on the raw frame (mode 0). Frame pixels, radians.

use glam::DVec2;
use omnidewarp::Result;
use omnidewarp::model::{Calibration, CameraModel, RingModel};

/// What a drag on the raw frame moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handle {
    /// The centre (moves both circles).
    Center,
    /// The inner circle's radius.
    Inner,
    /// The outer circle's radius.
    Outer,
    /// The heading mark at the top: turns `heading_at_top`.
    Heading,
}

/// A ring calibration being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct RingEdit {
    /// Frame size the pixels refer to.
    pub image_size: (u32, u32),
    /// Ring centre.
    pub center: DVec2,
    /// Radius of the inner circle (elevation `elevation_inner`).
    pub radius_inner: f64,
    /// Radius of the outer circle.
    pub radius_outer: f64,
    /// Elevation at the inner circle.
    pub elevation_inner: f64,
    /// Elevation at the outer circle.
    pub elevation_outer: f64,
    /// Heading seen straight above the centre.
    pub heading_at_top: f64,
    /// Mirror (`true`) or direct view.
    pub mirrored: bool,
    /// The handle being dragged.
    pub active: Option<Handle>,
    /// Whether it changed since it was loaded or saved.
    pub dirty: bool,
}

/// A handle within this many frame pixels (scaled by the caller to screen pixels) grabs.
pub const GRAB_RADIUS: f64 = 12.0;

impl RingEdit {
    /// An editor for `calibration` when it is a ring with a straight (equiangular)
    /// profile; `None` for other models (start from the detected ring instead).
    #[must_use]
    pub fn from_calibration(calibration: &Calibration) -> Option<Self> {
        let CameraModel::Ring(ring) = &calibration.model else {
            return None;
        };
        let knots = ring.profile.knots();
        if knots.len() != 2 {
            return None;
        }
        let ((r0, e0), (r1, e1)) = (knots[0], knots[1]);
        Some(Self {
            image_size: calibration.image_size,
            center: ring.center,
            radius_inner: r0,
            radius_outer: r1,
            elevation_inner: e0,
            elevation_outer: e1,
            heading_at_top: ring.heading_at_top,
            mirrored: ring.mirrored,
            active: None,
            dirty: false,
        })
    }

    /// The calibration the editor describes, validated.
    pub fn to_calibration(&self) -> Result<Calibration> {
        let ring = RingModel::builder()
            .center(self.center)
            .radii(self.radius_inner, self.radius_outer)
            .elevations(self.elevation_inner, self.elevation_outer)
            .heading_at_top(self.heading_at_top)
            .mirrored(self.mirrored)
            .build()?;
        Calibration::new(self.image_size, CameraModel::Ring(ring), None)
    }

    /// Where the heading mark sits: on the outer circle, straight above the centre.
    #[must_use]
    pub fn heading_mark(&self) -> DVec2 {
        self.center - DVec2::new(0.0, self.radius_outer)
    }

    /// The handle within `reach` frame pixels of `p`, nearest first: the centre and the
    /// heading mark before the circles.
    #[must_use]
    pub fn hit(&self, p: DVec2, reach: f64) -> Option<Handle> {
        let r = p.distance(self.center);
        if r <= reach {
            return Some(Handle::Center);
        }
        if p.distance(self.heading_mark()) <= reach {
            return Some(Handle::Heading);
        }
        let inner = (r - self.radius_inner).abs();
        let outer = (r - self.radius_outer).abs();
        if inner <= reach && inner <= outer {
            return Some(Handle::Inner);
        }
        (outer <= reach).then_some(Handle::Outer)
    }

    /// Drags the active handle from `from` to `to` (frame pixels).
    pub fn drag(&mut self, from: DVec2, to: DVec2) {
        let Some(handle) = self.active else { return };
        match handle {
            Handle::Center => self.center += to - from,
            Handle::Inner => {
                self.radius_inner = to.distance(self.center).clamp(0.0, self.radius_outer - 1.0);
            }
            Handle::Outer => {
                self.radius_outer = to.distance(self.center).max(self.radius_inner + 1.0);
            }
            Handle::Heading => {
                let angle = |p: DVec2| {
                    let d = p - self.center;
                    d.x.atan2(-d.y)
                };
                // Turning the mark clockwise on the image shows headings further
                // counter-clockwise for a mirror: the sign follows `mirrored`.
                let s = if self.mirrored { 1.0 } else { -1.0 };
                self.heading_at_top = omnidewarp::model::wrap_angle(
                    self.heading_at_top + s * (angle(to) - angle(from)),
                );
            }
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit() -> RingEdit {
        RingEdit::from_calibration(&crate::state::ring_sample_calibration()).unwrap()
    }

    #[test]
    fn round_trips_and_drags_each_handle() {
        let mut e = edit();
        let c = e.to_calibration().unwrap();
        assert_eq!(RingEdit::from_calibration(&c).unwrap(), e);
        let centre = e.center;
        assert_eq!(
            e.hit(centre + DVec2::new(3.0, 0.0), GRAB_RADIUS),
            Some(Handle::Center)
        );
        assert_eq!(
            e.hit(centre + DVec2::new(250.0, 0.0), GRAB_RADIUS),
            Some(Handle::Inner)
        );
        assert_eq!(
            e.hit(centre + DVec2::new(0.0, 700.0), GRAB_RADIUS),
            Some(Handle::Outer)
        );
        assert_eq!(e.hit(e.heading_mark(), GRAB_RADIUS), Some(Handle::Heading));
        assert_eq!(e.hit(centre + DVec2::new(450.0, 0.0), GRAB_RADIUS), None);

        e.active = Some(Handle::Center);
        e.drag(centre, centre + DVec2::new(10.0, -4.0));
        assert_eq!(e.center, centre + DVec2::new(10.0, -4.0));
        e.active = Some(Handle::Inner);
        e.drag(DVec2::ZERO, e.center + DVec2::new(0.0, 300.0));
        assert!((e.radius_inner - 300.0).abs() < 1e-9);
        e.active = Some(Handle::Heading);
        let mark = e.heading_mark();
        // A quarter turn clockwise on the image.
        e.drag(mark, e.center + DVec2::new(e.radius_outer, 0.0));
        assert!((e.heading_at_top - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        assert!(e.dirty);
        let c = e.to_calibration().unwrap();
        assert!(matches!(c.model, CameraModel::Ring(_)));
    }
}
