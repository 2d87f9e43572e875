//! Scaramuzza's OCamCalib polynomial model.

use glam::{DVec2, DVec3};

use super::finite;
use crate::Result;
use crate::error::invalid;

/// OCamCalib's model (`calib_results.txt`), with pixel axes already converted to ours.
///
/// OCamCalib works in (row, column): with `(xp, yp)` the sensor point in OCam axes
/// (x along rows, y along columns), `row = c·xp + d·yp + xc`, `col = e·xp + yp + yc`, and the
/// ray is `(xp, yp, pol(ρ))`, `ρ = |(xp, yp)|`. OCam's frame maps to our model frame
/// (x right, y down, z optical axis) as `(yp, xp, −z)`.
///
/// `project` seeds ρ with the inverse polynomial `invpol(θ)` (θ = atan(z/|(x, y)|)) as
/// OCamCalib's `world2cam` does, then refines it with Newton steps on `pol`, so that
/// `project` and `unproject` are exact inverses.
#[derive(Debug, Clone, PartialEq)]
pub struct OcamModel {
    /// Direct polynomial `pol` (cam2world), lowest degree first.
    pub pol: Vec<f64>,
    /// Inverse polynomial `invpol` (world2cam), lowest degree first.
    pub invpol: Vec<f64>,
    /// Centre row (OCamCalib `xc`).
    pub center_row: f64,
    /// Centre column (OCamCalib `yc`).
    pub center_col: f64,
    /// Affine `c`.
    pub c: f64,
    /// Affine `d`.
    pub d: f64,
    /// Affine `e`.
    pub e: f64,
}

fn polyval(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

fn polyder(coeffs: &[f64], x: f64) -> f64 {
    coeffs
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .fold(0.0, |acc, (k, &c)| acc * x + k as f64 * c)
}

impl OcamModel {
    /// Most coefficients of `pol` (degree 15; OCamCalib fits degree 4 by default).
    pub const MAX_POL: usize = 16;
    /// Most coefficients of `invpol`.
    pub const MAX_INVPOL: usize = 32;

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        if self.pol.len() < 2 || self.pol.len() > Self::MAX_POL {
            return Err(invalid(
                "pol",
                format!("needs 2 to {} coefficients", Self::MAX_POL),
            ));
        }
        if self.invpol.is_empty() || self.invpol.len() > Self::MAX_INVPOL {
            return Err(invalid(
                "invpol",
                format!("needs 1 to {} coefficients", Self::MAX_INVPOL),
            ));
        }
        for &v in self.pol.iter().chain(&self.invpol) {
            finite("polynomial", v)?;
        }
        for (name, v) in [
            ("center_row", self.center_row),
            ("center_col", self.center_col),
            ("c", self.c),
            ("d", self.d),
            ("e", self.e),
        ] {
            finite(name, v)?;
        }
        if (self.c - self.d * self.e).abs() < 1e-9 {
            return Err(invalid("c", "affine matrix [c d; e 1] is singular"));
        }
        if self.pol.first().is_none_or(|&p0| p0 >= 0.0) {
            return Err(invalid(
                "pol",
                "pol[0] must be negative (OCamCalib convention)",
            ));
        }
        Ok(())
    }

    /// Frame pixel of a model-frame vector, `None` where the polynomial has no ray.
    #[must_use]
    pub fn project(&self, m: DVec3) -> Option<DVec2> {
        let (x, y, z) = (m.y, m.x, -m.z);
        let norm = x.hypot(y);
        let (xp, yp) = if norm == 0.0 {
            if z >= 0.0 {
                return None;
            }
            (0.0, 0.0)
        } else {
            // Solve pol(ρ)·norm − ρ·z = 0 for ρ ≥ 0.
            let theta = (z / norm).atan();
            let mut rho = polyval(&self.invpol, theta);
            for _ in 0..30 {
                let f = polyval(&self.pol, rho) * norm - rho * z;
                let df = polyder(&self.pol, rho) * norm - z;
                if df == 0.0 || !df.is_finite() {
                    return None;
                }
                let step = f / df;
                rho -= step;
                if step.abs() < 1e-13 * (1.0 + rho.abs()) {
                    break;
                }
            }
            let residual = polyval(&self.pol, rho) * norm - rho * z;
            if rho < 0.0 || !rho.is_finite() || residual.abs() > 1e-6 * (1.0 + rho) {
                return None;
            }
            (x / norm * rho, y / norm * rho)
        };
        let row = xp * self.c + yp * self.d + self.center_row;
        let col = xp * self.e + yp + self.center_col;
        Some(DVec2::new(col, row))
    }

    /// Unit model-frame vector of a frame pixel.
    #[must_use]
    pub fn unproject(&self, p: DVec2) -> Option<DVec3> {
        let (dr, dc) = (p.y - self.center_row, p.x - self.center_col);
        let inv_det = 1.0 / (self.c - self.d * self.e);
        let xp = inv_det * (dr - self.d * dc);
        let yp = inv_det * (-self.e * dr + self.c * dc);
        let rho = xp.hypot(yp);
        let zp = polyval(&self.pol, rho);
        let v = DVec3::new(yp, xp, -zp).try_normalize()?;
        // Beyond where pol turns over, rays fold back: no unique pixel.
        (polyder(&self.pol, rho) * rho - zp > 0.0 || rho == 0.0).then_some(v)
    }

    /// The model in a frame scaled by `(sx, sy)` (pixel-centre convention).
    #[must_use]
    pub fn scaled(&self, sx: f64, sy: f64) -> Self {
        // Scale the sensor plane by sx; rows additionally by sy/sx through the affine part.
        let ratio = sy / sx;
        Self {
            pol: self
                .pol
                .iter()
                .enumerate()
                .map(|(k, &a)| a * sx.powi(1 - k as i32))
                .collect(),
            invpol: self.invpol.iter().map(|&a| a * sx).collect(),
            center_row: (self.center_row + 0.5) * sy - 0.5,
            center_col: (self.center_col + 0.5) * sx - 0.5,
            c: self.c * ratio,
            d: self.d * ratio,
            e: self.e,
        }
    }
}
