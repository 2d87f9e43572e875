//! A camera model tied to the frame size it was made at.

use super::{CameraModel, finite};
use crate::Result;
use crate::error::invalid;

/// Elevation range that holds image content, radians, `min < max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElevationBand {
    /// Lowest elevation with content.
    pub min: f64,
    /// Highest elevation with content.
    pub max: f64,
}

impl ElevationBand {
    /// A band, checked.
    pub fn new(min: f64, max: f64) -> Result<Self> {
        finite("elevation_min_deg", min)?;
        finite("elevation_max_deg", max)?;
        let limit = std::f64::consts::FRAC_PI_2 + 1e-12;
        if min >= max || min < -limit || max > limit {
            return Err(invalid(
                "band",
                format!(
                    "needs -90° ≤ min < max ≤ 90°, got {:.3}°..{:.3}°",
                    min.to_degrees(),
                    max.to_degrees()
                ),
            ));
        }
        Ok(Self { min, max })
    }

    /// Whether elevation `e` lies in the band.
    #[must_use]
    pub fn contains(&self, e: f64) -> bool {
        (self.min..=self.max).contains(&e)
    }
}

/// A camera model, the frame size it was made at and where the frame holds content.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Width and height of the frames the model was made at.
    pub image_size: (u32, u32),
    /// The camera model, in pixels of `image_size`.
    pub model: CameraModel,
    /// Elevation limits of the content. For a ring it is the ring's own range; for the
    /// other models `None` means "wherever the model projects inside the frame".
    pub band: Option<ElevationBand>,
}

impl Calibration {
    /// A calibration, validated.
    pub fn new(
        image_size: (u32, u32),
        model: CameraModel,
        band: Option<ElevationBand>,
    ) -> Result<Self> {
        if image_size.0 == 0 || image_size.1 == 0 {
            return Err(invalid("image_size", "width and height must be positive"));
        }
        model.validate()?;
        let band = match (&model, band) {
            (CameraModel::Ring(ring), None) => {
                let (a, b) = ring.profile.elevation_ends();
                Some(ElevationBand::new(a.min(b), a.max(b))?)
            }
            (_, band) => band,
        };
        Ok(Self {
            image_size,
            model,
            band,
        })
    }

    /// The elevation range with content: the band, or the whole sphere when unknown.
    #[must_use]
    pub fn elevation_range(&self) -> ElevationBand {
        self.band.unwrap_or(ElevationBand {
            min: -std::f64::consts::FRAC_PI_2,
            max: std::f64::consts::FRAC_PI_2,
        })
    }

    /// This calibration for frames of `width × height` (pixel-centre convention,
    /// `x' = (x + 0.5)·s − 0.5`). A ring needs the same scale on both axes (within 0.5 %).
    pub fn scaled_to(&self, width: u32, height: u32) -> Result<Self> {
        if (width, height) == self.image_size {
            return Ok(self.clone());
        }
        if width == 0 || height == 0 {
            return Err(invalid("frame size", "width and height must be positive"));
        }
        let sx = f64::from(width) / f64::from(self.image_size.0);
        let sy = f64::from(height) / f64::from(self.image_size.1);
        if matches!(self.model, CameraModel::Ring(_)) && ((sx / sy) - 1.0).abs() > 0.005 {
            return Err(invalid(
                "image_size",
                format!(
                    "a ring calibrated at {}×{} cannot serve {width}×{height} frames (aspect differs)",
                    self.image_size.0, self.image_size.1
                ),
            ));
        }
        Ok(Self {
            image_size: (width, height),
            model: self.model.scaled(sx, sy),
            band: self.band,
        })
    }
}
