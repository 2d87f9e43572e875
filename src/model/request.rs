//! The default view of each projection for a calibration, and a request that overrides
//! parts of it: the policy the CLI, the viewer and embedders share.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use super::{Calibration, Orientation, Projection, View};
use crate::Result;
use crate::error::invalid;

/// The kinds of output projection, by name (`equirect`, `cylinder`, `perspective`,
/// `stereographic`, `double-panorama`, `quad`: [`ProjectionKind::NAMES`], parsed with
/// `FromStr`, any case), without their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProjectionKind {
    /// 360° equirectangular panorama ([`Projection::Equirect`]).
    #[default]
    Equirect,
    /// 360° cylindrical panorama ([`Projection::Cylinder`]).
    Cylinder,
    /// Perspective "virtual PTZ" view ([`Projection::Perspective`]).
    Perspective,
    /// Stereographic "little planet" ([`Projection::Stereographic`]).
    Stereographic,
    /// Two 180° strips stacked ([`Projection::DoublePanorama`]).
    DoublePanorama,
    /// Four perspective views in a 2×2 grid ([`Projection::Quad`]).
    Quad,
}

names!(ProjectionKind, "projection":
    Equirect = "equirect",
    Cylinder = "cylinder",
    Perspective = "perspective",
    Stereographic = "stereographic",
    DoublePanorama = "double-panorama",
    Quad = "quad",
);

impl ProjectionKind {
    /// One line saying what the projection shows (for help texts and menus).
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Self::Equirect => "360° equirectangular panorama",
            Self::Cylinder => "360° cylindrical panorama (rows linear in tan(elevation))",
            Self::Perspective => "perspective \"virtual PTZ\" view",
            Self::Stereographic => "stereographic (\"little planet\" looking at the nadir)",
            Self::DoublePanorama => "two 180° strips stacked",
            Self::Quad => "four perspective views at yaw 0/90/180/270",
        }
    }

    /// Whether this is a 360° panorama (equirect, cylinder, double panorama): heading runs
    /// along the columns, and a field of view does not apply.
    #[must_use]
    pub fn is_panorama(self) -> bool {
        matches!(self, Self::Equirect | Self::Cylinder | Self::DoublePanorama)
    }

    /// The default horizontal field of view, radians (90°; stereographic 240°); `None` for
    /// panoramas.
    #[must_use]
    pub fn default_fov(self) -> Option<f64> {
        match self {
            Self::Perspective | Self::Quad => Some(90f64.to_radians()),
            Self::Stereographic => Some(240f64.to_radians()),
            _ => None,
        }
    }

    /// The default pitch, radians: 0, and −90° (the nadir) for a stereographic little
    /// planet.
    #[must_use]
    pub fn default_pitch(self) -> f64 {
        match self {
            Self::Stereographic => -FRAC_PI_2,
            _ => 0.0,
        }
    }
}

impl Projection {
    /// The kind of this projection.
    #[must_use]
    pub fn kind(&self) -> ProjectionKind {
        match self {
            Self::Equirect { .. } => ProjectionKind::Equirect,
            Self::Cylinder { .. } => ProjectionKind::Cylinder,
            Self::Perspective { .. } => ProjectionKind::Perspective,
            Self::Stereographic { .. } => ProjectionKind::Stereographic,
            Self::DoublePanorama { .. } => ProjectionKind::DoublePanorama,
            Self::Quad { .. } => ProjectionKind::Quad,
        }
    }
}

/// How large the output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    /// The projection's default size.
    Default,
    /// This width; the height from the projection's natural aspect.
    Width(u32),
    /// Exactly this size.
    Exact(u32, u32),
}

/// A view asked for by kind, with the defaults of [`ViewRequest::build`] for whatever is
/// not given. Angles are radians.
///
/// | kind | default size | natural height for width `w` | elevation range | fov | pitch |
/// |---|---|---|---|---|---|
/// | equirect | 4096 wide | square pixels: `w · (top − bottom) / 2π` | ±90°, or the mirror's band | — | 0 |
/// | cylinder | 4096 wide | square pixels: `w · (tan top − tan bottom) / 2π` | the mirror's band within ±80° (always) | — | 0 |
/// | double-panorama | 4096 wide | two strips of square pixels: `2 · w · (top − bottom) / π` | ±90°, or the mirror's band | — | 0 |
/// | perspective | 1920×1080 | `w · 9/16` | — | 90° | 0 |
/// | quad | 1920×1080 | `w · 9/16` | — | 90° each | 0 |
/// | stereographic | 2048×2048 | `w` | — | 240° | −90° |
///
/// Heights are rounded to the nearest pixel, at least 1. Yaw and roll default to 0.
///
/// ```
/// use omnidewarp::model::{Calibration, CameraModel, Projection, ProjectionKind, RingModel, View, ViewRequest};
/// # fn main() -> omnidewarp::Result<()> {
/// let ring = RingModel::builder().center(glam::DVec2::new(719.5, 719.5))
///     .radii(240.0, 705.0)
///     .elevations(-55f64.to_radians(), 60f64.to_radians())
///     .build()?;
/// let calibration = Calibration::new((1440, 1440), CameraModel::Ring(ring), None)?;
/// // The full-sphere panorama the CLI writes by default.
/// let view = View::default_for(ProjectionKind::Equirect, &calibration)?;
/// assert_eq!((view.width, view.height), (4096, 2048));
/// // A band panorama 2000 pixels wide, square pixels: 2000 · 115° / 360° ≈ 639 rows.
/// let band = ViewRequest::new(ProjectionKind::Equirect).with_band(true).with_width(2000)
///     .build(&calibration)?;
/// assert_eq!((band.width, band.height), (2000, 639));
/// // A PTZ view the size of a window, looking east and 10° down.
/// let ptz = ViewRequest::new("perspective".parse()?)
///     .with_size(1280, 720)
///     .with_yaw(90f64.to_radians())
///     .with_pitch(-10f64.to_radians())
///     .build(&calibration)?;
/// assert_eq!(ptz.projection, Projection::Perspective { fov: 90f64.to_radians() });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewRequest {
    kind: ProjectionKind,
    band: bool,
    fov: Option<f64>,
    size: Size,
    yaw: f64,
    pitch: Option<f64>,
    roll: f64,
}

impl ViewRequest {
    /// The default view of `kind`: full sphere, default size, fov and pitch.
    #[must_use]
    pub fn new(kind: ProjectionKind) -> Self {
        Self {
            kind,
            band: false,
            fov: None,
            size: Size::Default,
            yaw: 0.0,
            pitch: None,
            roll: 0.0,
        }
    }

    /// The kind asked for.
    #[must_use]
    pub fn kind(&self) -> ProjectionKind {
        self.kind
    }

    with_setters! {
        /// Limits equirect and double-panorama outputs to the mirror's elevation band
        /// instead of the full sphere (cylinders are always limited; other kinds ignore it).
        with_band(band: bool);
        /// The horizontal field of view, radians (perspective, quad, stereographic;
        /// panoramas ignore it).
        with_fov(fov: f64).into();
        /// The heading of the view's centre (panoramas: of their centre column), radians.
        with_yaw(yaw: f64);
        /// The elevation of the view's centre, radians (default:
        /// [`ProjectionKind::default_pitch`]).
        with_pitch(pitch: f64).into();
        /// The rotation about the view axis, radians.
        with_roll(roll: f64);
    }

    /// Exactly this output size.
    #[must_use]
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = Size::Exact(width, height);
        self
    }

    /// This output width, the height from the projection's natural aspect (see the table
    /// above: square pixels for panoramas).
    #[must_use]
    pub fn with_width(mut self, width: u32) -> Self {
        self.size = Size::Width(width);
        self
    }

    /// Yaw, pitch and roll at once.
    #[must_use]
    pub fn with_orientation(self, orientation: Orientation) -> Self {
        self.with_yaw(orientation.yaw)
            .with_pitch(orientation.pitch)
            .with_roll(orientation.roll)
    }

    /// The view for `calibration` (whose elevation band sets the panoramas' rows), checked
    /// as [`View::new`] does; a fov asked of a panorama, which has none, is an error.
    pub fn build(&self, calibration: &Calibration) -> Result<View> {
        if self.fov.is_some() && self.kind.default_fov().is_none() {
            // A panorama's columns span 360° (180° per half): a fov would be ignored.
            return Err(invalid(
                "fov",
                format!(
                    "{} is a panorama, it has no field of view (perspective, quad and \
                     stereographic have one)",
                    self.kind
                ),
            ));
        }
        let band = calibration.elevation_range();
        let (top, bottom) = if self.band {
            (band.max, band.min)
        } else {
            (FRAC_PI_2, -FRAC_PI_2)
        };
        let limit = 80f64.to_radians();
        let (cyl_top, cyl_bottom) = (band.max.min(limit), band.min.max(-limit));
        let fov = self.fov.or(self.kind.default_fov()).unwrap_or(0.0);
        // Rows that give square pixels to `width` columns spanning `span` radians.
        let square = |width: u32, span: f64, rows: f64| {
            (f64::from(width) * rows / span).round().max(1.0) as u32
        };
        let height_for = |width: u32| match self.kind {
            ProjectionKind::Equirect => square(width, TAU, top - bottom),
            ProjectionKind::Cylinder => square(width, TAU, cyl_top.tan() - cyl_bottom.tan()),
            ProjectionKind::DoublePanorama => 2 * square(width, PI, top - bottom),
            ProjectionKind::Perspective | ProjectionKind::Quad => {
                (f64::from(width) * 9.0 / 16.0).round().max(1.0) as u32
            }
            ProjectionKind::Stereographic => width,
        };
        let (projection, default_width) = match self.kind {
            ProjectionKind::Equirect => (Projection::Equirect { top, bottom }, 4096),
            ProjectionKind::Cylinder => (
                Projection::Cylinder {
                    top: cyl_top,
                    bottom: cyl_bottom,
                },
                4096,
            ),
            ProjectionKind::DoublePanorama => (Projection::DoublePanorama { top, bottom }, 4096),
            ProjectionKind::Perspective => (Projection::Perspective { fov }, 1920),
            ProjectionKind::Quad => (Projection::Quad { fov }, 1920),
            ProjectionKind::Stereographic => (Projection::Stereographic { fov }, 2048),
        };
        let (width, height) = match self.size {
            Size::Default => (default_width, height_for(default_width)),
            Size::Width(w) => (w, height_for(w)),
            Size::Exact(w, h) => (w, h),
        };
        let orientation = Orientation {
            yaw: self.yaw,
            pitch: self.pitch.unwrap_or(self.kind.default_pitch()),
            roll: self.roll,
        };
        View::new(projection, orientation, width, height)
    }
}

impl View {
    /// The default view of `kind` for `calibration` (full sphere, default size, fov and
    /// pitch: see [`ViewRequest`]), as `omnidewarp convert --projection KIND` writes it.
    pub fn default_for(kind: ProjectionKind, calibration: &Calibration) -> Result<View> {
        ViewRequest::new(kind).build(calibration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CameraModel, RingModel};

    fn ring_calibration() -> Calibration {
        let ring = RingModel::builder()
            .center(glam::DVec2::new(719.5, 719.5))
            .radii(240.0, 705.0)
            .elevations(-55f64.to_radians(), 60f64.to_radians())
            .build()
            .unwrap();
        Calibration::new((1440, 1440), CameraModel::Ring(ring), None).unwrap()
    }

    #[test]
    fn names_round_trip_and_match_kinds() {
        for (kind, name) in ProjectionKind::ALL.into_iter().zip(ProjectionKind::NAMES) {
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<ProjectionKind>().unwrap(), kind);
        }
        assert_eq!(
            "Double_Panorama".parse::<ProjectionKind>().unwrap(),
            ProjectionKind::DoublePanorama
        );
        let err = "fisheye".parse::<ProjectionKind>().unwrap_err().to_string();
        assert!(
            err.contains("double-panorama") && err.contains("`fisheye`"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_the_documented_sizes_angles_and_kinds() {
        let calibration = ring_calibration();
        let deg = f64::to_radians;
        let expected = [
            (ProjectionKind::Equirect, (4096, 2048), 0.0),
            // tan(60°) + tan(55°) = 3.1601 over 2π, times 4096.
            (ProjectionKind::Cylinder, (4096, 2060), 0.0),
            (ProjectionKind::Perspective, (1920, 1080), 0.0),
            (ProjectionKind::Stereographic, (2048, 2048), deg(-90.0)),
            // Each strip: 180° of heading over 180° of elevation.
            (ProjectionKind::DoublePanorama, (4096, 8192), 0.0),
            (ProjectionKind::Quad, (1920, 1080), 0.0),
        ];
        for (kind, size, pitch) in expected {
            let view = View::default_for(kind, &calibration).unwrap();
            assert_eq!((view.width, view.height), size, "{kind}");
            assert_eq!(view.orientation.pitch, pitch, "{kind}");
            assert_eq!(view.projection.kind(), kind);
        }
        let stereo = View::default_for(ProjectionKind::Stereographic, &calibration).unwrap();
        assert_eq!(
            stereo.projection,
            Projection::Stereographic { fov: deg(240.0) }
        );
        let cylinder = View::default_for(ProjectionKind::Cylinder, &calibration).unwrap();
        assert_eq!(
            cylinder.projection,
            Projection::Cylinder {
                top: deg(60.0),
                bottom: deg(-55.0)
            }
        );
    }

    #[test]
    fn band_width_and_overrides() {
        let calibration = ring_calibration();
        let band = ViewRequest::new(ProjectionKind::DoublePanorama)
            .with_band(true)
            .build(&calibration)
            .unwrap();
        // Two strips of 4096 · 115° / 180° = 2617 rows.
        assert_eq!((band.width, band.height), (4096, 2 * 2617));
        let wide = ViewRequest::new(ProjectionKind::Perspective)
            .with_width(1280)
            .with_fov(1.0)
            .with_orientation(Orientation {
                yaw: 0.5,
                pitch: -0.25,
                roll: 0.125,
            })
            .build(&calibration)
            .unwrap();
        assert_eq!((wide.width, wide.height), (1280, 720));
        assert_eq!(wide.projection, Projection::Perspective { fov: 1.0 });
        assert_eq!(
            (
                wide.orientation.yaw,
                wide.orientation.pitch,
                wide.orientation.roll
            ),
            (0.5, -0.25, 0.125)
        );
        // The last size call wins; a size the projection refuses is an error, not a panic.
        let exact = ViewRequest::new(ProjectionKind::Stereographic)
            .with_width(10)
            .with_size(30, 20)
            .build(&calibration)
            .unwrap();
        assert_eq!((exact.width, exact.height), (30, 20));
        assert!(
            ViewRequest::new(ProjectionKind::Quad)
                .with_size(1, 1)
                .build(&calibration)
                .is_err()
        );
        assert!(
            ViewRequest::new(ProjectionKind::Perspective)
                .with_fov(200f64.to_radians())
                .build(&calibration)
                .is_err()
        );
        let err = ViewRequest::new(ProjectionKind::Equirect)
            .with_fov(1.0)
            .build(&calibration)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fov") && err.contains("equirect"), "{err}");
    }
}
