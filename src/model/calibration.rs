//! A camera model tied to the frame size it was made at.

use super::{CameraModel, finite};
use crate::Result;
use crate::error::invalid;

mod coverage;

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

/// Largest width or height of a calibration's frame, and of any frame a calibration is
/// scaled to, in pixels (the same limit as a [`super::View`]'s sides).
pub const MAX_IMAGE_SIDE: u32 = 32_768;

/// Checks a frame size: 1 to [`MAX_IMAGE_SIDE`] pixels a side.
fn check_size(name: &str, (width, height): (u32, u32)) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(invalid(name, "width and height must be positive"));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(invalid(
            name,
            format!("{width}×{height} is larger than {MAX_IMAGE_SIDE} pixels a side"),
        ));
    }
    Ok(())
}

impl Calibration {
    /// A calibration, validated (see [`Calibration::validate`]). A ring without a band gets
    /// its own elevation range as its band.
    pub fn new(
        image_size: (u32, u32),
        model: CameraModel,
        band: Option<ElevationBand>,
    ) -> Result<Self> {
        let band = match (&model, band) {
            (CameraModel::Ring(ring), None) => {
                let (a, b) = ring.profile.elevation_ends();
                Some(ElevationBand::new(a.min(b), a.max(b))?)
            }
            (_, band) => band,
        };
        let calibration = Self {
            image_size,
            model,
            band,
        };
        calibration.validate()?;
        Ok(calibration)
    }

    /// Checks the whole calibration, as every loader, [`Calibration::new`] and
    /// [`Calibration::scaled_to`] (so every dewarper) do:
    /// - the image size is 1 to [`MAX_IMAGE_SIDE`] pixels a side;
    /// - every model parameter is finite and in its domain (the model's `validate()`);
    /// - the band, if any, is `-90° ≤ min < max ≤ 90°`;
    /// - the model shows a usable part of its elevation range inside its frame: content (a
    ///   pixel whose ray lies in the band) on at least 1 % of the frame, spanning at least 1°
    ///   of elevation (or half the band, when the band is narrower than 2°) and at least one
    ///   square degree of the sphere. A centre far
    ///   outside the frame, a radius, focal length or distortion coefficient that squeezes
    ///   the whole band into a few pixels, or a band the model never reaches fail here.
    ///
    /// The error is an [`crate::Error::InvalidParameter`] naming the parameter most likely
    /// at fault (for the last check: the first one whose neutral value would pass).
    pub fn validate(&self) -> Result<()> {
        check_size("image_size", self.image_size)?;
        self.model.validate()?;
        if let Some(band) = self.band {
            ElevationBand::new(band.min, band.max)?;
        }
        coverage::check(self)
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
    /// `x' = (x + 0.5)·s − 0.5`), validated.
    ///
    /// A frame of another aspect ratio (by more than 0.5 %) is an error for a ring, which
    /// needs the same scale on both axes. A Mei or OCamCalib model can be stretched (an
    /// anamorphic recording, at most 2×, or a frame cropped and scaled), so it is scaled
    /// with a one-line warning naming both sizes; but a stretch of more than 4× between the
    /// axes cannot be the same camera and is an error.
    pub fn scaled_to(&self, width: u32, height: u32) -> Result<Self> {
        if (width, height) == self.image_size {
            self.validate()?;
            return Ok(self.clone());
        }
        check_size("frame size", (width, height))?;
        let (w0, h0) = self.image_size;
        check_size("image_size", (w0, h0))?;
        let sx = f64::from(width) / f64::from(w0);
        let sy = f64::from(height) / f64::from(h0);
        let stretch = sx / sy;
        if (stretch - 1.0).abs() > 0.005 {
            let what = self.model.name();
            if matches!(self.model, CameraModel::Ring(_)) {
                return Err(invalid(
                    "image_size",
                    format!(
                        "a ring calibrated at {w0}×{h0} cannot serve {width}×{height} frames \
                         (aspect differs)"
                    ),
                ));
            }
            if !(0.25..=4.0).contains(&stretch) {
                return Err(invalid(
                    "image_size",
                    format!(
                        "a {what} calibration made at {w0}×{h0} cannot serve {width}×{height} \
                         frames: that stretches one axis {:.2}× against the other (at most 4×)",
                        stretch.max(1.0 / stretch)
                    ),
                ));
            }
            log::warn!(
                "a {what} calibration made at {w0}×{h0} is stretched to {width}×{height} frames \
                 (aspect {:.4} → {:.4}); right only for an anamorphic recording",
                f64::from(w0) / f64::from(h0),
                f64::from(width) / f64::from(height)
            );
        }
        let scaled = Self {
            image_size: (width, height),
            model: self.model.scaled(sx, sy),
            band: self.band,
        };
        scaled.validate()?;
        Ok(scaled)
    }
}
