//! Calibrating by eye (mode 0, `c`): the centre, the inner and outer circles and the heading
//! mark are dragged on the raw frame. For a ring the circles are its radii, at the elevations
//! set beside them. For a lens model (Mei, OCamCalib) the centre is the principal point and
//! the circles are the edges of the elevation band, where the lens images them; the lens
//! parameters themselves stay as calibrated (an eye cannot fit a distortion). Frame pixels,
//! radians.

use glam::DVec2;
use omnidewarp::Result;
use omnidewarp::model::{
    Calibration, CameraModel, ElevationBand, MeiModel, Mount, MountAxis, OcamModel, RingModel,
    direction, heading_elevation, wrap_angle,
};

/// What a drag on the raw frame moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handle {
    /// The centre (moves both circles).
    Center,
    /// The inner circle.
    Inner,
    /// The outer circle.
    Outer,
    /// The heading mark at the top: turns `heading_at_top`.
    Heading,
}

/// What the circles of an edit are, per model.
#[derive(Debug, Clone, PartialEq)]
pub enum Circles {
    /// A ring with a straight (equiangular) profile: the circles' radii.
    Ring {
        /// Radius of the inner circle.
        radius_inner: f64,
        /// Radius of the outer circle.
        radius_outer: f64,
    },
    /// Mei's model, as calibrated but for its principal point (the edit's centre).
    Mei {
        /// The lens.
        lens: MeiModel,
        /// Where its axis points.
        axis: MountAxis,
    },
    /// OCamCalib's model, as calibrated but for its centre (the edit's centre).
    Ocam {
        /// The lens.
        lens: OcamModel,
        /// Where its axis points.
        axis: MountAxis,
    },
}

/// A calibration being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibEdit {
    /// Frame size the pixels refer to.
    pub image_size: (u32, u32),
    /// The ring's centre, or the lens's principal point.
    pub center: DVec2,
    /// Elevation at the inner circle.
    pub elevation_inner: f64,
    /// Elevation at the outer circle.
    pub elevation_outer: f64,
    /// Heading seen straight above the centre.
    pub heading_at_top: f64,
    /// Mirror (`true`) or direct view.
    pub mirrored: bool,
    /// The model's own part.
    pub circles: Circles,
    /// The handle being dragged.
    pub active: Option<Handle>,
    /// Whether it changed since it was loaded or saved.
    pub dirty: bool,
}

/// A handle within this many frame pixels (scaled by the caller to screen pixels) grabs.
pub const GRAB_RADIUS: f64 = 12.0;

/// Points drawn and hit-tested along each circle.
const CIRCLE_POINTS: u32 = 360;

/// Elevations the band's edges may take: short of the poles, which a lens images as a point.
const EDGE_LIMIT: f64 = 89.5 * std::f64::consts::PI / 180.0;

impl CalibEdit {
    /// An editor for `calibration`: any Mei or OCamCalib model, or a ring with a straight
    /// profile; `None` for a ring with a measured profile (start from the detected ring).
    #[must_use]
    pub fn from_calibration(calibration: &Calibration) -> Option<Self> {
        let (center, mount, circles) = match &calibration.model {
            CameraModel::Ring(ring) => {
                let &[(r0, e0), (r1, e1)] = ring.profile.knots() else {
                    return None;
                };
                let mount = Mount {
                    axis: MountAxis::Nadir,
                    reflected: ring.mirrored,
                    heading_at_top: ring.heading_at_top,
                };
                let circles = Circles::Ring {
                    radius_inner: r0,
                    radius_outer: r1,
                };
                let mut edit = Self::new(calibration.image_size, ring.center, mount, circles);
                edit.elevation_inner = e0;
                edit.elevation_outer = e1;
                return Some(edit);
            }
            CameraModel::Mei { lens, mount } => (
                DVec2::new(lens.cx, lens.cy),
                *mount,
                Circles::Mei {
                    lens: *lens,
                    axis: mount.axis,
                },
            ),
            CameraModel::Ocam { lens, mount } => (
                DVec2::new(lens.center_col, lens.center_row),
                *mount,
                Circles::Ocam {
                    lens: lens.clone(),
                    axis: mount.axis,
                },
            ),
        };
        let mut edit = Self::new(calibration.image_size, center, mount, circles);
        let band = calibration
            .band
            .unwrap_or_else(|| imaged_band(&calibration.model, calibration.image_size));
        // The inner circle is the band's edge imaged nearer the centre.
        let radius = |e: f64| {
            calibration
                .model
                .project(direction(mount.heading_at_top, e))
                .map_or(f64::INFINITY, |p| p.distance(center))
        };
        (edit.elevation_inner, edit.elevation_outer) = if radius(band.max) < radius(band.min) {
            (band.max, band.min)
        } else {
            (band.min, band.max)
        };
        Some(edit)
    }

    fn new(image_size: (u32, u32), center: DVec2, mount: Mount, circles: Circles) -> Self {
        Self {
            image_size,
            center,
            elevation_inner: 0.0,
            elevation_outer: 0.0,
            heading_at_top: mount.heading_at_top,
            mirrored: mount.reflected,
            circles,
            active: None,
            dirty: false,
        }
    }

    /// The edited model: a ring built (and so checked) from its radii, or the lens placed by
    /// its mount with the edit's centre.
    fn model(&self) -> Result<CameraModel> {
        let mount = |axis| Mount {
            axis,
            reflected: self.mirrored,
            heading_at_top: self.heading_at_top,
        };
        Ok(match &self.circles {
            &Circles::Ring {
                radius_inner,
                radius_outer,
            } => CameraModel::Ring(
                RingModel::builder()
                    .center(self.center)
                    .radii(radius_inner, radius_outer)
                    .elevations(self.elevation_inner, self.elevation_outer)
                    .heading_at_top(self.heading_at_top)
                    .mirrored(self.mirrored)
                    .build()?,
            ),
            Circles::Mei { lens, axis } => CameraModel::Mei {
                lens: MeiModel {
                    cx: self.center.x,
                    cy: self.center.y,
                    ..*lens
                },
                mount: mount(*axis),
            },
            Circles::Ocam { lens, axis } => CameraModel::Ocam {
                lens: OcamModel {
                    center_col: self.center.x,
                    center_row: self.center.y,
                    ..lens.clone()
                },
                mount: mount(*axis),
            },
        })
    }

    /// The calibration the editor describes, validated.
    pub fn to_calibration(&self) -> Result<Calibration> {
        let model = self.model()?;
        let band = match model {
            // A ring's band is its own range.
            CameraModel::Ring(_) => None,
            _ => {
                let (e0, e1) = (self.elevation_inner, self.elevation_outer);
                Some(ElevationBand::new(e0.min(e1), e0.max(e1))?)
            }
        };
        Calibration::new(self.image_size, model, band)
    }

    /// The inner (`Handle::Inner`) or outer circle, as points in frame pixels (a lens's
    /// points where it images the elevation; fewer where it images none).
    #[must_use]
    pub fn circle(&self, which: Handle) -> Vec<DVec2> {
        let outer = which == Handle::Outer;
        let turn = |i: u32| f64::from(i) * std::f64::consts::TAU / f64::from(CIRCLE_POINTS);
        if let &Circles::Ring {
            radius_inner,
            radius_outer,
        } = &self.circles
        {
            let r = if outer { radius_outer } else { radius_inner };
            return (0..=CIRCLE_POINTS)
                .map(|i| self.center + r * DVec2::new(turn(i).sin(), -turn(i).cos()))
                .collect();
        }
        let Ok(model) = self.model() else {
            return Vec::new();
        };
        let e = if outer {
            self.elevation_outer
        } else {
            self.elevation_inner
        };
        (0..=CIRCLE_POINTS)
            .filter_map(|i| model.project(direction(turn(i), e)))
            .collect()
    }

    /// Where the heading mark sits: straight above the centre, on the outer circle (for a
    /// lens whose outer edge is imaged beyond the frame's top, on the inner one).
    #[must_use]
    pub fn heading_mark(&self) -> Option<DVec2> {
        if let &Circles::Ring { radius_outer, .. } = &self.circles {
            return Some(self.center - DVec2::new(0.0, radius_outer));
        }
        let model = self.model().ok()?;
        let at = |e| model.project(direction(self.heading_at_top, e));
        at(self.elevation_outer)
            .filter(|p| p.y >= 0.0)
            .or_else(|| at(self.elevation_inner))
    }

    /// The handle within `reach` frame pixels of `p`, nearest first: the centre and the
    /// heading mark before the circles.
    #[must_use]
    pub fn hit(&self, p: DVec2, reach: f64) -> Option<Handle> {
        if p.distance(self.center) <= reach {
            return Some(Handle::Center);
        }
        if self.heading_mark().is_some_and(|m| p.distance(m) <= reach) {
            return Some(Handle::Heading);
        }
        let inner = distance_to_line(p, &self.circle(Handle::Inner));
        let outer = distance_to_line(p, &self.circle(Handle::Outer));
        if inner <= reach && inner <= outer {
            return Some(Handle::Inner);
        }
        (outer <= reach).then_some(Handle::Outer)
    }

    /// Drags the active handle from `from` to `to` (frame pixels).
    pub fn drag(&mut self, from: DVec2, to: DVec2) {
        let Some(handle) = self.active else { return };
        match (handle, &mut self.circles) {
            (Handle::Center, _) => self.center += to - from,
            (
                Handle::Inner,
                Circles::Ring {
                    radius_inner,
                    radius_outer,
                },
            ) => {
                *radius_inner = to.distance(self.center).clamp(0.0, *radius_outer - 1.0);
            }
            (
                Handle::Outer,
                Circles::Ring {
                    radius_inner,
                    radius_outer,
                },
            ) => {
                *radius_outer = to.distance(self.center).max(*radius_inner + 1.0);
            }
            (Handle::Inner | Handle::Outer, _) => {
                // A lens: the edge takes the elevation seen under the pointer.
                let Some(ray) = self.model().ok().and_then(|m| m.unproject(to)) else {
                    return;
                };
                let e = heading_elevation(ray).1.clamp(-EDGE_LIMIT, EDGE_LIMIT);
                let (edge, other) = if handle == Handle::Inner {
                    (&mut self.elevation_inner, self.elevation_outer)
                } else {
                    (&mut self.elevation_outer, self.elevation_inner)
                };
                if (e - other).abs() < 1f64.to_radians() {
                    return;
                }
                *edge = e;
            }
            (Handle::Heading, _) => {
                let angle = |p: DVec2| {
                    let d = p - self.center;
                    d.x.atan2(-d.y)
                };
                // Turning the mark clockwise on the image shows headings further
                // counter-clockwise for a mirror: the sign follows `mirrored`.
                let s = if self.mirrored { 1.0 } else { -1.0 };
                self.heading_at_top =
                    wrap_angle(self.heading_at_top + s * (angle(to) - angle(from)));
            }
        }
        self.dirty = true;
    }
}

/// Distance from `p` to the polyline through `points` (infinite for none).
fn distance_to_line(p: DVec2, points: &[DVec2]) -> f64 {
    let to_segment = |a: DVec2, b: DVec2| {
        let ab = b - a;
        let t = ((p - a).dot(ab) / ab.length_squared().max(f64::MIN_POSITIVE)).clamp(0.0, 1.0);
        p.distance(a + t * ab)
    };
    let single = points.first().map_or(f64::INFINITY, |&a| p.distance(a));
    points
        .windows(2)
        .filter_map(|w| match w {
            &[a, b] => Some(to_segment(a, b)),
            _ => None,
        })
        .fold(single, f64::min)
}

/// The elevations a lens images inside its frame at every heading (every 30°, in steps of
/// ½°): the band an edit starts from when the calibration states none.
fn imaged_band(model: &CameraModel, (width, height): (u32, u32)) -> ElevationBand {
    let inside = |e: f64| {
        (0..12).all(|k| {
            model
                .project(direction(f64::from(k) * 30f64.to_radians(), e))
                .is_some_and(|p| {
                    (-0.5..f64::from(width) - 0.5).contains(&p.x)
                        && (-0.5..f64::from(height) - 0.5).contains(&p.y)
                })
        })
    };
    let steps = (-179..=179).map(|i| f64::from(i) * 0.5f64.to_radians());
    let imaged: Vec<f64> = steps.filter(|&e| inside(e)).collect();
    match (imaged.first(), imaged.last()) {
        (Some(&min), Some(&max)) if min < max => ElevationBand { min, max },
        _ => ElevationBand {
            min: -EDGE_LIMIT,
            max: EDGE_LIMIT,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit() -> CalibEdit {
        CalibEdit::from_calibration(&crate::state::ring_sample_calibration()).unwrap()
    }

    fn mei() -> Calibration {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/opencv_sample/sample_mei_calib.toml"
        );
        Calibration::load(std::path::Path::new(path)).unwrap()
    }

    /// Angle of `p` around `c` on the image, clockwise from up.
    fn image_angle(c: DVec2, p: DVec2) -> f64 {
        (p.x - c.x).atan2(c.y - p.y)
    }

    #[test]
    fn round_trips_and_drags_each_handle() {
        let mut e = edit();
        let c = e.to_calibration().unwrap();
        assert_eq!(CalibEdit::from_calibration(&c).unwrap(), e);
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
        let mark = e.heading_mark().unwrap();
        assert_eq!(e.hit(mark, GRAB_RADIUS), Some(Handle::Heading));
        assert_eq!(e.hit(centre + DVec2::new(450.0, 0.0), GRAB_RADIUS), None);

        e.active = Some(Handle::Center);
        e.drag(centre, centre + DVec2::new(10.0, -4.0));
        assert_eq!(e.center, centre + DVec2::new(10.0, -4.0));
        e.active = Some(Handle::Inner);
        e.drag(DVec2::ZERO, e.center + DVec2::new(0.0, 300.0));
        assert!(
            matches!(e.circles, Circles::Ring { radius_inner, .. } if (radius_inner - 300.0).abs() < 1e-9)
        );
        e.active = Some(Handle::Heading);
        let mark = e.heading_mark().unwrap();
        let Circles::Ring { radius_outer, .. } = e.circles else {
            unreachable!()
        };
        // A quarter turn clockwise on the image.
        e.drag(mark, e.center + DVec2::new(radius_outer, 0.0));
        assert!((e.heading_at_top - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        assert!(e.dirty);
        let c = e.to_calibration().unwrap();
        assert!(matches!(c.model, CameraModel::Ring(_)));
    }

    #[test]
    fn a_lens_edit_moves_its_principal_point_and_band_and_keeps_its_lens() {
        let original = mei();
        let mut e = CalibEdit::from_calibration(&original).unwrap();
        assert_eq!(e.to_calibration().unwrap(), original, "an untouched edit");
        let band = original.band.unwrap();
        // For this mirror the camera's reflection, at the band's lowest, is in the middle.
        assert!((e.elevation_inner - band.min).abs() < 1e-12);
        assert!((e.elevation_outer - band.max).abs() < 1e-12);

        // The outer circle is where the lens images the band's top edge: grab it there.
        let CameraModel::Mei { lens, mount } = &original.model else {
            unreachable!()
        };
        let east = lens
            .project(mount.world_to_model(direction(1.0, band.max)))
            .unwrap();
        assert_eq!(e.hit(east, GRAB_RADIUS), Some(Handle::Outer));
        // Dragged onto where elevation 0 is imaged, the band's top becomes 0.
        let horizon = lens
            .project(mount.world_to_model(direction(1.0, 0.0)))
            .unwrap();
        e.active = Some(Handle::Outer);
        e.drag(east, horizon);
        assert!(e.elevation_outer.abs() < 1e-6, "{}", e.elevation_outer);

        e.active = Some(Handle::Center);
        e.drag(e.center, e.center + DVec2::new(8.0, -3.0));
        let edited = e.to_calibration().unwrap();
        let CameraModel::Mei {
            lens: moved,
            mount: moved_mount,
        } = &edited.model
        else {
            panic!("not a Mei model: {edited:?}")
        };
        assert_eq!((moved.cx, moved.cy), (lens.cx + 8.0, lens.cy - 3.0));
        assert_eq!((moved.fx, moved.xi, moved.k1), (lens.fx, lens.xi, lens.k1));
        assert_eq!(moved_mount, mount);
        let edited_band = edited.band.unwrap();
        assert!((edited_band.min - band.min).abs() < 1e-12);
        assert!(edited_band.max.abs() < 1e-6);
        // A calibration without a band starts from what the lens images in the frame.
        let unbanded = Calibration::new(original.image_size, original.model.clone(), None).unwrap();
        let e = CalibEdit::from_calibration(&unbanded).unwrap();
        assert!(e.elevation_inner < e.elevation_outer, "{e:?}");
        assert!(e.circle(Handle::Outer).len() > 300, "outer edge not imaged");
    }

    #[test]
    fn turning_the_heading_mark_turns_the_compass_alike_for_rings_and_lenses() {
        for calibration in [crate::state::ring_sample_calibration(), mei()] {
            let mut e = CalibEdit::from_calibration(&calibration).unwrap();
            let north = |e: &CalibEdit| {
                let model = e.to_calibration().unwrap().model;
                let p = model.project(direction(0.0, 0.0)).unwrap();
                image_angle(e.center, p)
            };
            let before = north(&e);
            let mark = e.heading_mark().unwrap();
            let r = mark.distance(e.center);
            e.active = Some(Handle::Heading);
            // The mark a quarter turn clockwise: the content's labels follow it.
            e.drag(mark, e.center + DVec2::new(r, 0.0));
            let turned = wrap_angle(north(&e) - before);
            // Within 3°: the sample's lens is not quite round (fx ≠ fy, skew, distortion).
            assert!(
                (turned - std::f64::consts::FRAC_PI_2).abs() < 3f64.to_radians(),
                "{}: north turned {:.1}°",
                calibration.model.name(),
                turned.to_degrees()
            );
        }
    }
}
