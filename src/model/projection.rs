//! Output projections: output pixel → world direction.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use glam::{DMat3, DVec3};

use super::{direction, finite};
use crate::Result;
use crate::error::invalid;

/// What an output image shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Projection {
    /// Equirectangular: column → heading over 360°, row → elevation from `top` to `bottom`
    /// (radians; the full sphere is `π/2` to `−π/2`, a band panorama uses the mirror's range).
    Equirect {
        /// Elevation of the top edge.
        top: f64,
        /// Elevation of the bottom edge.
        bottom: f64,
    },
    /// Cylindrical: column → heading over 360°, row linear in `tan(elevation)`.
    Cylinder {
        /// Elevation of the top edge (|·| < π/2).
        top: f64,
        /// Elevation of the bottom edge (|·| < π/2).
        bottom: f64,
    },
    /// Perspective "virtual PTZ" view with horizontal field of view `fov` (< π).
    Perspective {
        /// Horizontal field of view.
        fov: f64,
    },
    /// Stereographic ("little planet" when looking at the nadir), horizontal field of view
    /// `fov` (< 2π).
    Stereographic {
        /// Horizontal field of view.
        fov: f64,
    },
    /// Two 180° equirectangular strips stacked: the front half (heading yaw ± 90°) on top,
    /// the back half below.
    DoublePanorama {
        /// Elevation of each strip's top edge.
        top: f64,
        /// Elevation of each strip's bottom edge.
        bottom: f64,
    },
    /// Four perspective views in a 2×2 grid at yaw + 0°, 90° (top row), 180°, 270° (bottom).
    Quad {
        /// Horizontal field of view of each view.
        fov: f64,
    },
}

/// Where a view looks. Radians.
///
/// Forward has heading `yaw` and elevation `pitch`; right is heading `yaw + 90°` on the
/// horizon (at roll 0); a positive `roll` turns the camera clockwise as seen from behind it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Orientation {
    /// Heading of the view centre.
    pub yaw: f64,
    /// Elevation of the view centre.
    pub pitch: f64,
    /// Rotation about the forward axis.
    pub roll: f64,
}

impl Orientation {
    /// Rotation whose columns are the view's right, forward and up axes in the world.
    #[must_use]
    pub fn matrix(&self) -> DMat3 {
        let forward = direction(self.yaw, self.pitch);
        let (sy, cy) = self.yaw.sin_cos();
        let right0 = DVec3::new(cy, -sy, 0.0);
        let up0 = right0.cross(forward);
        let (sr, cr) = self.roll.sin_cos();
        let right = right0 * cr - up0 * sr;
        let up = up0 * cr + right0 * sr;
        DMat3::from_cols(right, forward, up)
    }
}

/// A complete output view: projection, orientation and size in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// What the output shows.
    pub projection: Projection,
    /// Where it looks.
    pub orientation: Orientation,
    /// Output width, pixels.
    pub width: u32,
    /// Output height, pixels.
    pub height: u32,
}

/// The single-projection mapping used inside one tile of a view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TileProjection {
    /// Equirectangular over `span` radians of heading centred on the tile's yaw.
    Equirect {
        /// Elevation of the top edge.
        top: f64,
        /// Elevation of the bottom edge.
        bottom: f64,
        /// Heading span (2π for a full panorama).
        span: f64,
    },
    /// Cylindrical over `span` radians of heading.
    Cylinder {
        /// Elevation of the top edge.
        top: f64,
        /// Elevation of the bottom edge.
        bottom: f64,
        /// Heading span.
        span: f64,
    },
    /// Perspective with horizontal field of view `fov`.
    Perspective {
        /// Horizontal field of view.
        fov: f64,
    },
    /// Stereographic with horizontal field of view `fov`.
    Stereographic {
        /// Horizontal field of view.
        fov: f64,
    },
}

/// A rectangle of the output with one continuous mapping. Layouts have several.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tile {
    /// Left column in the output.
    pub x0: u32,
    /// Top row in the output.
    pub y0: u32,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// The mapping.
    pub projection: TileProjection,
    /// Where it looks.
    pub orientation: Orientation,
}

impl Tile {
    /// Focal length in pixels of a perspective tile, `F = (W/2)/tan(fov/2)`, or of a
    /// stereographic one, `F = (W/2)/(2·tan(fov/4))` (a ray at angle θ from forward lands
    /// `2F·tan(θ/2)` from the centre); `None` for panoramas.
    #[must_use]
    pub fn focal_length(&self) -> Option<f64> {
        let w = f64::from(self.width);
        match self.projection {
            TileProjection::Perspective { fov } => Some((w / 2.0) / (fov / 2.0).tan()),
            TileProjection::Stereographic { fov } => Some((w / 2.0) / (2.0 * (fov / 4.0).tan())),
            TileProjection::Equirect { .. } | TileProjection::Cylinder { .. } => None,
        }
    }

    /// World direction (unit) seen at tile-local pixel `(x, y)` (pixel-centre convention,
    /// continuous). `None` where the projection shows nothing.
    #[must_use]
    pub fn ray(&self, x: f64, y: f64) -> Option<DVec3> {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let local = match self.projection {
            TileProjection::Equirect { top, bottom, span } => {
                let heading = -span / 2.0 + span * (x + 0.5) / w;
                let elevation = top - (top - bottom) * (y + 0.5) / h;
                if elevation.abs() > FRAC_PI_2 {
                    return None;
                }
                direction(heading, elevation)
            }
            TileProjection::Cylinder { top, bottom, span } => {
                let heading = -span / 2.0 + span * (x + 0.5) / w;
                let (t0, t1) = (top.tan(), bottom.tan());
                let elevation = (t0 - (t0 - t1) * (y + 0.5) / h).atan();
                direction(heading, elevation)
            }
            TileProjection::Perspective { .. } => {
                let f = self.focal_length()?;
                camera_to_local(DVec3::new(x - (w - 1.0) / 2.0, y - (h - 1.0) / 2.0, f)).normalize()
            }
            TileProjection::Stereographic { .. } => {
                let f = self.focal_length()?;
                let (a, b) = (x - (w - 1.0) / 2.0, y - (h - 1.0) / 2.0);
                let radius = a.hypot(b);
                let theta = 2.0 * (radius / (2.0 * f)).atan();
                let (s, c) = theta.sin_cos();
                let ray = if radius > 0.0 {
                    DVec3::new(s * a / radius, s * b / radius, c)
                } else {
                    DVec3::Z
                };
                camera_to_local(ray)
            }
        };
        Some(self.orientation.matrix() * local)
    }
}

/// Camera axes (right, down, forward) → local (east, north, up) before orientation.
fn camera_to_local(v: DVec3) -> DVec3 {
    DVec3::new(v.x, v.z, -v.y)
}

impl View {
    /// A view, checked: sizes ≥ 1 (≥ 2 where a layout splits them), finite angles, fields of
    /// view in range, top above bottom.
    pub fn new(
        projection: Projection,
        orientation: Orientation,
        width: u32,
        height: u32,
    ) -> Result<Self> {
        let view = Self {
            projection,
            orientation,
            width,
            height,
        };
        view.validate()?;
        Ok(view)
    }

    /// Checks the view (see [`View::new`]).
    pub fn validate(&self) -> Result<()> {
        finite("yaw", self.orientation.yaw)?;
        finite("pitch", self.orientation.pitch)?;
        finite("roll", self.orientation.roll)?;
        let min_size = match self.projection {
            Projection::Quad { .. } => (2, 2),
            Projection::DoublePanorama { .. } => (1, 2),
            _ => (1, 1),
        };
        if self.width < min_size.0 || self.height < min_size.1 {
            return Err(invalid(
                "size",
                format!(
                    "{}×{} is too small for this projection (at least {}×{})",
                    self.width, self.height, min_size.0, min_size.1
                ),
            ));
        }
        if self.width > 32768 || self.height > 32768 {
            return Err(invalid("size", "at most 32768 pixels a side"));
        }
        let check_band = |top: f64, bottom: f64, limit: f64| -> Result<()> {
            finite("top", top)?;
            finite("bottom", bottom)?;
            if !(top > bottom && top <= limit && bottom >= -limit) {
                return Err(invalid(
                    "band",
                    format!(
                        "needs {:.0}° ≥ top > bottom ≥ -{:.0}°, got top {:.3}°, bottom {:.3}°",
                        limit.to_degrees(),
                        limit.to_degrees(),
                        top.to_degrees(),
                        bottom.to_degrees()
                    ),
                ));
            }
            Ok(())
        };
        let check_fov = |fov: f64, max: f64| -> Result<()> {
            finite("fov", fov)?;
            if !(fov > 0.0 && fov < max) {
                return Err(invalid(
                    "fov",
                    format!(
                        "must be in (0°, {:.0}°), got {:.3}°",
                        max.to_degrees(),
                        fov.to_degrees()
                    ),
                ));
            }
            Ok(())
        };
        match self.projection {
            Projection::Equirect { top, bottom } | Projection::DoublePanorama { top, bottom } => {
                check_band(top, bottom, FRAC_PI_2)
            }
            Projection::Cylinder { top, bottom } => check_band(top, bottom, 85f64.to_radians()),
            Projection::Perspective { fov } | Projection::Quad { fov } => {
                check_fov(fov, 179f64.to_radians())
            }
            Projection::Stereographic { fov } => check_fov(fov, 359f64.to_radians()),
        }
    }

    /// The tiles that make up the output (one, or two/four for layouts).
    #[must_use]
    pub fn tiles(&self) -> Vec<Tile> {
        let (w, h) = (self.width, self.height);
        let whole = |projection| Tile {
            x0: 0,
            y0: 0,
            width: w,
            height: h,
            projection,
            orientation: self.orientation,
        };
        let turned = |quarter_turns: f64| Orientation {
            yaw: self.orientation.yaw + quarter_turns * FRAC_PI_2,
            ..self.orientation
        };
        match self.projection {
            Projection::Equirect { top, bottom } => vec![whole(TileProjection::Equirect {
                top,
                bottom,
                span: TAU,
            })],
            Projection::Cylinder { top, bottom } => vec![whole(TileProjection::Cylinder {
                top,
                bottom,
                span: TAU,
            })],
            Projection::Perspective { fov } => vec![whole(TileProjection::Perspective { fov })],
            Projection::Stereographic { fov } => {
                vec![whole(TileProjection::Stereographic { fov })]
            }
            Projection::DoublePanorama { top, bottom } => {
                let top_h = h / 2;
                let strip = TileProjection::Equirect {
                    top,
                    bottom,
                    span: PI,
                };
                vec![
                    Tile {
                        height: top_h,
                        ..whole(strip)
                    },
                    Tile {
                        y0: top_h,
                        height: h - top_h,
                        orientation: turned(2.0),
                        ..whole(strip)
                    },
                ]
            }
            Projection::Quad { fov } => {
                let (left_w, top_h) = (w / 2, h / 2);
                let cell = |i: u32, j: u32, quarter_turns: f64| Tile {
                    x0: i * left_w,
                    y0: j * top_h,
                    width: if i == 0 { left_w } else { w - left_w },
                    height: if j == 0 { top_h } else { h - top_h },
                    projection: TileProjection::Perspective { fov },
                    orientation: turned(quarter_turns),
                };
                vec![
                    cell(0, 0, 0.0),
                    cell(1, 0, 1.0),
                    cell(0, 1, 2.0),
                    cell(1, 1, 3.0),
                ]
            }
        }
    }

    /// World direction seen at output pixel `(x, y)` (integer pixel centres; continuous
    /// positions belong to the tile holding the nearest pixel).
    #[must_use]
    pub fn ray(&self, x: f64, y: f64) -> Option<DVec3> {
        let (px, py) = (x.round(), y.round());
        self.tiles()
            .into_iter()
            .find(|t| {
                px >= f64::from(t.x0)
                    && py >= f64::from(t.y0)
                    && px < f64::from(t.x0 + t.width)
                    && py < f64::from(t.y0 + t.height)
            })
            .and_then(|t| t.ray(x - f64::from(t.x0), y - f64::from(t.y0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::heading_elevation;

    fn deg(d: f64) -> f64 {
        d.to_radians()
    }

    #[test]
    fn equirect_matches_design_formula() {
        let view = View::new(
            Projection::Equirect {
                top: deg(90.0),
                bottom: deg(-90.0),
            },
            Orientation {
                yaw: deg(30.0),
                ..Default::default()
            },
            360,
            180,
        )
        .unwrap();
        let (h, e) = heading_elevation(view.ray(10.0, 20.0).unwrap());
        let h_expect = deg(30.0) - PI + TAU * 10.5 / 360.0;
        assert!((crate::model::wrap_angle(h - h_expect)).abs() < 1e-12);
        assert!((e - (deg(90.0) - PI * 20.5 / 180.0)).abs() < 1e-12);
    }

    #[test]
    fn perspective_centre_is_forward_and_right_is_east() {
        let o = Orientation {
            yaw: deg(40.0),
            pitch: deg(-20.0),
            roll: 0.0,
        };
        let view = View::new(Projection::Perspective { fov: deg(90.0) }, o, 101, 51).unwrap();
        let centre = view.ray(50.0, 25.0).unwrap();
        assert!((centre - direction(deg(40.0), deg(-20.0))).length() < 1e-12);
        // Right edge at FOV/2 to the right, on the tilted plane: heading grows.
        let (h, _) = heading_elevation(view.ray(100.0, 25.0).unwrap());
        assert!(h > deg(40.0));
        // Row below the centre looks lower.
        let (_, e) = heading_elevation(view.ray(50.0, 40.0).unwrap());
        assert!(e < deg(-20.0));
        // Half FOV to the edge pixel's outer border: F = (W/2)/tan(fov/2).
        let edge = view.tiles()[0].ray(100.5, 25.0).unwrap();
        assert!((edge.angle_between(centre) - deg(45.0)).abs() < 1e-12);
    }

    #[test]
    fn roll_turns_the_camera_clockwise() {
        let o = Orientation {
            yaw: 0.0,
            pitch: 0.0,
            roll: deg(90.0),
        };
        let view = View::new(Projection::Perspective { fov: deg(90.0) }, o, 101, 101).unwrap();
        // The image's right now points down.
        let d = view.ray(100.0, 50.0).unwrap();
        assert!(d.z < -0.5);
    }

    #[test]
    fn stereographic_angle_law() {
        let o = Orientation {
            yaw: 0.0,
            pitch: deg(-90.0),
            roll: 0.0,
        };
        let view = View::new(Projection::Stereographic { fov: deg(240.0) }, o, 200, 100).unwrap();
        let centre = view.ray(99.5, 49.5).unwrap();
        assert!((centre - DVec3::NEG_Z).length() < 1e-12);
        let edge = view.tiles()[0].ray(199.5, 49.5).unwrap();
        assert!((edge.angle_between(centre) - deg(120.0)).abs() < 1e-9);
    }

    #[test]
    fn layouts_tile_the_output() {
        for projection in [
            Projection::Quad { fov: deg(90.0) },
            Projection::DoublePanorama {
                top: deg(60.0),
                bottom: deg(-50.0),
            },
        ] {
            let view = View::new(projection, Orientation::default(), 101, 51).unwrap();
            let tiles = view.tiles();
            let area: u32 = tiles.iter().map(|t| t.width * t.height).sum();
            assert_eq!(area, 101 * 51);
        }
        let quad = View::new(
            Projection::Quad { fov: deg(90.0) },
            Orientation::default(),
            100,
            50,
        )
        .unwrap();
        let (h, _) = heading_elevation(quad.ray(74.5, 12.0).unwrap());
        assert!((h - deg(90.0)).abs() < 1e-9);
        let double = View::new(
            Projection::DoublePanorama {
                top: deg(60.0),
                bottom: deg(-50.0),
            },
            Orientation::default(),
            100,
            50,
        )
        .unwrap();
        let (h, _) = heading_elevation(double.ray(49.5, 40.0).unwrap());
        assert!((crate::model::wrap_angle(h - PI)).abs() < 1e-9);
    }

    #[test]
    fn bad_views_are_refused() {
        let o = Orientation::default();
        assert!(View::new(Projection::Perspective { fov: deg(180.0) }, o, 10, 10).is_err());
        assert!(
            View::new(
                Projection::Equirect {
                    top: 0.1,
                    bottom: 0.2
                },
                o,
                10,
                10
            )
            .is_err()
        );
        assert!(View::new(Projection::Quad { fov: 1.0 }, o, 1, 10).is_err());
        assert!(View::new(Projection::Perspective { fov: f64::NAN }, o, 10, 10).is_err());
    }
}
