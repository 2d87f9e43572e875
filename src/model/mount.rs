//! How a lens model's own frame (x image-right, y image-down, z optical axis) sits in the world.

use glam::DVec3;

/// Where the optical axis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountAxis {
    /// The image centre sees straight down (a camera under an upward mirror sees itself there).
    #[default]
    Nadir,
    /// The image centre sees straight up.
    Zenith,
}

/// Placement of a lens model in the world.
///
/// With `d'` = `d` with its heading reduced by `heading_at_top`, the model-frame vector is
/// `(sx·d'x, −d'y, sz·d'z)` where `sz = −1` for nadir, `+1` for zenith, and `sx = −sz` for a
/// direct view, `sx = sz` when `reflected` (a mirror flips handedness).
/// The default, nadir and reflected, is `−d'`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mount {
    /// Optical axis direction.
    pub axis: MountAxis,
    /// `true` when the camera sees the world through a mirror.
    pub reflected: bool,
    /// Heading of the ray imaged straight above the image centre, radians.
    pub heading_at_top: f64,
}

impl Default for Mount {
    fn default() -> Self {
        Self {
            axis: MountAxis::Nadir,
            reflected: true,
            heading_at_top: 0.0,
        }
    }
}

impl Mount {
    /// The axis signs `(sx, sz)` of [`Mount`]'s formula: `sz = −1` for nadir, `+1` for
    /// zenith; `sx = sz` when reflected, `−sz` for a direct view. The GPU's uniform block
    /// carries them as they are.
    #[must_use]
    pub(crate) fn signs(&self) -> (f64, f64) {
        let sz = match self.axis {
            MountAxis::Nadir => -1.0,
            MountAxis::Zenith => 1.0,
        };
        let sx = if self.reflected { sz } else { -sz };
        (sx, sz)
    }

    /// World direction → model frame.
    #[must_use]
    pub fn world_to_model(&self, d: DVec3) -> DVec3 {
        let (sa, ca) = self.heading_at_top.sin_cos();
        let (x, y) = (d.x * ca - d.y * sa, d.y * ca + d.x * sa);
        let (sx, sz) = self.signs();
        DVec3::new(sx * x, -y, sz * d.z)
    }

    /// Model frame → world direction (the inverse of [`Mount::world_to_model`]).
    #[must_use]
    pub fn model_to_world(&self, m: DVec3) -> DVec3 {
        let (sx, sz) = self.signs();
        let (x, y, z) = (sx * m.x, -m.y, sz * m.z);
        let (sa, ca) = self.heading_at_top.sin_cos();
        DVec3::new(x * ca + y * sa, y * ca - x * sa, z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::direction;

    #[test]
    fn default_mount_is_minus_rotated_direction() {
        let m = Mount {
            heading_at_top: 0.4,
            ..Mount::default()
        };
        let d = direction(1.0, 0.2);
        let expect = -direction(1.0 - 0.4, 0.2);
        assert!((m.world_to_model(d) - expect).length() < 1e-12);
    }

    #[test]
    fn inverse_for_every_mount() {
        for axis in [MountAxis::Nadir, MountAxis::Zenith] {
            for reflected in [false, true] {
                let m = Mount {
                    axis,
                    reflected,
                    heading_at_top: -0.7,
                };
                let d = direction(2.0, -0.4);
                assert!((m.model_to_world(m.world_to_model(d)) - d).length() < 1e-12);
                // Top of the image (−y) sees heading_at_top.
                let top = m.world_to_model(direction(-0.7, 0.0));
                assert!(top.y < 0.0 && top.x.abs() < 1e-12);
            }
        }
    }
}
