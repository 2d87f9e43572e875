//! The camera models behind one type.

use glam::{DVec2, DVec3};

use super::{MeiModel, Mount, OcamModel, RingModel};

/// A camera model: world direction ↔ frame pixel.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraModel {
    /// Equiangular mirror ring (world directions directly).
    Ring(RingModel),
    /// Mei's unified sphere model, placed by a [`Mount`].
    Mei {
        /// Lens parameters.
        lens: MeiModel,
        /// Placement in the world.
        mount: Mount,
    },
    /// OCamCalib polynomial model, placed by a [`Mount`].
    Ocam {
        /// Lens parameters.
        lens: OcamModel,
        /// Placement in the world.
        mount: Mount,
    },
}

impl CameraModel {
    /// Frame pixel where world direction `d` is imaged, `None` where the model has no data.
    #[must_use]
    pub fn project(&self, d: DVec3) -> Option<DVec2> {
        match self {
            Self::Ring(ring) => ring.project(d),
            Self::Mei { lens, mount } => lens.project(mount.world_to_model(d)),
            Self::Ocam { lens, mount } => lens.project(mount.world_to_model(d)),
        }
    }

    /// [`CameraModel::project`], but a ring's profile extends beyond its edges (validity is
    /// then the caller's elevation check): mapping grids keep their nodes at the content's edge.
    #[must_use]
    pub(crate) fn project_extended(&self, d: DVec3) -> Option<DVec2> {
        match self {
            Self::Ring(ring) => Some(ring.project_extended(d)),
            _ => self.project(d),
        }
    }

    /// Unit world direction seen at frame pixel `p`, `None` where the model has no ray.
    #[must_use]
    pub fn unproject(&self, p: DVec2) -> Option<DVec3> {
        match self {
            Self::Ring(ring) => ring.unproject(p),
            Self::Mei { lens, mount } => lens.unproject(p).map(|m| mount.model_to_world(m)),
            Self::Ocam { lens, mount } => lens.unproject(p).map(|m| mount.model_to_world(m)),
        }
    }

    /// Checks every parameter: finite and in its domain (each model's `validate()`), and the
    /// heading at the top within ±10⁶°.
    pub fn validate(&self) -> crate::Result<()> {
        match self {
            Self::Ring(ring) => ring.validate(),
            Self::Mei { lens, mount } => {
                check_heading(mount.heading_at_top)?;
                lens.validate()
            }
            Self::Ocam { lens, mount } => {
                check_heading(mount.heading_at_top)?;
                lens.validate()
            }
        }
    }

    /// Short name as used in calibration files: `ring`, `mei` or `ocam`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ring(_) => "ring",
            Self::Mei { .. } => "mei",
            Self::Ocam { .. } => "ocam",
        }
    }

    /// The model in a frame scaled by `(sx, sy)` (pixel-centre convention:
    /// `x' = (x + 0.5)·sx − 0.5`). A ring needs `sx == sy` (checked by the caller).
    #[must_use]
    pub(crate) fn scaled(&self, sx: f64, sy: f64) -> Self {
        match self {
            Self::Ring(ring) => Self::Ring(ring.scaled(sx)),
            Self::Mei { lens, mount } => Self::Mei {
                lens: lens.scaled(sx, sy),
                mount: *mount,
            },
            Self::Ocam { lens, mount } => Self::Ocam {
                lens: lens.scaled(sx, sy),
                mount: *mount,
            },
        }
    }
}

/// Largest heading at the top accepted, degrees: any number of turns a program may add up,
/// but not a magnitude (1e300) whose sine and cosine mean nothing.
const MAX_HEADING_DEG: f64 = 1e6;

/// Checks a heading at the top: finite and within ±10⁶° (about 2800 turns).
pub(super) fn check_heading(heading: f64) -> crate::Result<()> {
    super::finite("heading_at_top_deg", heading)?;
    if heading.abs() > MAX_HEADING_DEG.to_radians() {
        return Err(crate::error::invalid(
            "heading_at_top_deg",
            format!(
                "must lie within ±{MAX_HEADING_DEG:e}°, got {:e}°",
                heading.to_degrees()
            ),
        ));
    }
    Ok(())
}
