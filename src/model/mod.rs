//! Pure geometry: camera models (frame pixel ↔ world direction), output projections
//! (output pixel → world direction) and the calibration that ties a model to a frame size.
//!
//! Nothing here touches a GPU, a decoder or a window. All angles are radians.
//!
//! | convention | value |
//! |---|---|
//! | world frame | ENU: x east, y north, z up |
//! | heading `h` | clockwise from north seen from above (= azimuth = yaw) |
//! | elevation `e` | up positive |
//! | direction | `d = (cos e · sin h, cos e · cos h, sin e)` |
//! | pixel | `(0, 0)` is the centre of the top-left pixel; x right, y down |

mod calibration;
mod camera;
mod mei;
mod mount;
mod ocam;
mod projection;
mod request;
mod ring;

pub use calibration::{Calibration, ElevationBand, MAX_IMAGE_SIDE};
pub use camera::CameraModel;
pub use mei::MeiModel;
pub use mount::{Mount, MountAxis};
pub use ocam::OcamModel;
pub use projection::{Orientation, Projection, Tile, TileProjection, View};
pub use request::{ProjectionKind, ViewRequest};
pub use ring::{RadialProfile, RingBuilder, RingModel};

use glam::DVec3;

/// Unit direction of heading `h` and elevation `e`: `(cos e · sin h, cos e · cos h, sin e)`.
#[must_use]
pub fn direction(heading: f64, elevation: f64) -> DVec3 {
    let (se, ce) = elevation.sin_cos();
    let (sh, ch) = heading.sin_cos();
    DVec3::new(ce * sh, ce * ch, se)
}

/// Heading in `(-π, π]` and elevation in `[-π/2, π/2]` of a (not necessarily unit) direction.
#[must_use]
pub fn heading_elevation(d: DVec3) -> (f64, f64) {
    let horizontal = d.x.hypot(d.y);
    (d.x.atan2(d.y), d.z.atan2(horizontal))
}

/// Wraps an angle into `(-π, π]`.
#[must_use]
pub fn wrap_angle(a: f64) -> f64 {
    let two_pi = std::f64::consts::TAU;
    let r = a - two_pi * ((a + std::f64::consts::PI) / two_pi).floor();
    if r <= -std::f64::consts::PI {
        r + two_pi
    } else {
        r
    }
}

/// Checks that a parameter is finite.
pub(crate) fn finite(name: &str, v: f64) -> crate::Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(crate::error::invalid(
            name,
            format!("must be a finite number, got {v}"),
        ))
    }
}

/// Checks that a parameter is finite and strictly positive.
pub(crate) fn positive(name: &str, v: f64) -> crate::Result<f64> {
    finite(name, v)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(crate::error::invalid(
            name,
            format!("must be positive, got {v}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_round_trips_heading_elevation() {
        for h in [-3.0, -1.0, 0.0, 0.5, 2.0, 3.1] {
            for e in [-1.5, -0.3, 0.0, 0.7, 1.4] {
                let (h2, e2) = heading_elevation(direction(h, e));
                assert!((wrap_angle(h2 - h)).abs() < 1e-12 && (e2 - e).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn enu_axes() {
        assert!((direction(0.0, 0.0) - DVec3::Y).length() < 1e-15);
        assert!((direction(std::f64::consts::FRAC_PI_2, 0.0) - DVec3::X).length() < 1e-15);
        assert!((direction(0.3, std::f64::consts::FRAC_PI_2) - DVec3::Z).length() < 1e-15);
    }
}
