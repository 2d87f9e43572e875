//! Mei's unified sphere model, as OpenCV's `omnidir` module implements it.

use glam::{DVec2, DVec3};

use super::{finite, positive};
use crate::Result;
use crate::error::invalid;

/// The unified sphere model with radial-tangential distortion (OpenCV `omnidir`).
///
/// For a model-frame vector `X`, `Xs = X/|X|`, `m = (Xs.x, Xs.y)/(Xs.z + ξ)`,
/// `r² = |m|²`, distortion `md.x = m.x(1 + k1 r² + k2 r⁴) + 2 p1 m.x m.y + p2 (r² + 2 m.x²)`,
/// `md.y = m.y(1 + k1 r² + k2 r⁴) + p1 (r² + 2 m.y²) + 2 p2 m.x m.y`, then
/// `u = fx md.x + skew md.y + cx`, `v = fy md.y + cy` (OpenCV's `omnidir::projectPoints`).
/// A vector is visible when `Xs.z > −min(ξ, 1/ξ)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeiModel {
    /// Focal length along x, pixels.
    pub fx: f64,
    /// Focal length along y, pixels.
    pub fy: f64,
    /// Principal point x, pixels.
    pub cx: f64,
    /// Principal point y, pixels.
    pub cy: f64,
    /// Skew (OpenCV's `s`).
    pub skew: f64,
    /// Mirror parameter ξ.
    pub xi: f64,
    /// Radial distortion.
    pub k1: f64,
    /// Radial distortion.
    pub k2: f64,
    /// Tangential distortion.
    pub p1: f64,
    /// Tangential distortion.
    pub p2: f64,
}

impl MeiModel {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        positive("fx", self.fx)?;
        positive("fy", self.fy)?;
        for (name, v) in self.parameters() {
            finite(name, v)?;
        }
        if self.xi < 0.0 {
            return Err(invalid(
                "xi",
                format!("must not be negative, got {}", self.xi),
            ));
        }
        Ok(())
    }

    /// Every parameter with its name in calibration files (`fx`, `fy`, `cx`, `cy`, `skew`,
    /// `xi`, `k1`, `k2`, `p1`, `p2`: OpenCV's order).
    #[must_use]
    pub fn parameters(&self) -> [(&'static str, f64); 10] {
        [
            ("fx", self.fx),
            ("fy", self.fy),
            ("cx", self.cx),
            ("cy", self.cy),
            ("skew", self.skew),
            ("xi", self.xi),
            ("k1", self.k1),
            ("k2", self.k2),
            ("p1", self.p1),
            ("p2", self.p2),
        ]
    }

    /// Lowest visible `Xs.z` on the unit sphere, `−min(ξ, 1/ξ)`: points at or below it are
    /// behind the projection centre (or on the far side of the sphere's silhouette). The
    /// GPU's uniform block carries it as it is.
    #[must_use]
    pub(crate) fn z_limit(&self) -> f64 {
        -self.xi.min(1.0 / self.xi)
    }

    fn distort(&self, m: DVec2) -> DVec2 {
        let r2 = m.length_squared();
        let radial = 1.0 + self.k1 * r2 + self.k2 * r2 * r2;
        DVec2::new(
            m.x * radial + 2.0 * self.p1 * m.x * m.y + self.p2 * (r2 + 2.0 * m.x * m.x),
            m.y * radial + self.p1 * (r2 + 2.0 * m.y * m.y) + 2.0 * self.p2 * m.x * m.y,
        )
    }

    /// Jacobian of [`Self::distort`] as columns (∂/∂x, ∂/∂y).
    fn distort_jacobian(&self, m: DVec2) -> (DVec2, DVec2) {
        let (x, y) = (m.x, m.y);
        let r2 = m.length_squared();
        let radial = 1.0 + self.k1 * r2 + self.k2 * r2 * r2;
        let dradial = 2.0 * self.k1 + 4.0 * self.k2 * r2; // d(radial)/d(r²)·2
        let dxdx = radial + x * dradial * x + 2.0 * self.p1 * y + 6.0 * self.p2 * x;
        let dxdy = x * dradial * y + 2.0 * self.p1 * x + 2.0 * self.p2 * y;
        let dydx = y * dradial * x + 2.0 * self.p1 * x + 2.0 * self.p2 * y;
        let dydy = radial + y * dradial * y + 6.0 * self.p1 * y + 2.0 * self.p2 * x;
        (DVec2::new(dxdx, dydx), DVec2::new(dxdy, dydy))
    }

    /// Frame pixel of a model-frame vector, `None` where it is not visible.
    #[must_use]
    pub fn project(&self, x: DVec3) -> Option<DVec2> {
        let xs = x.try_normalize()?;
        if xs.z <= self.z_limit() {
            return None;
        }
        let m = DVec2::new(xs.x, xs.y) / (xs.z + self.xi);
        let md = self.distort(m);
        Some(DVec2::new(
            self.fx * md.x + self.skew * md.y + self.cx,
            self.fy * md.y + self.cy,
        ))
    }

    /// Unit model-frame vector of a frame pixel, `None` where the model has no ray
    /// (distortion not invertible there, or outside the sphere's image).
    #[must_use]
    pub fn unproject(&self, p: DVec2) -> Option<DVec3> {
        let my = (p.y - self.cy) / self.fy;
        let mx = (p.x - self.cx - self.skew * my) / self.fx;
        let target = DVec2::new(mx, my);
        // Newton on distort(m) = target, from m = target.
        let mut m = target;
        let mut converged = false;
        for _ in 0..30 {
            let residual = self.distort(m) - target;
            let (cx, cy) = self.distort_jacobian(m);
            let det = cx.x * cy.y - cy.x * cx.y;
            if !det.is_finite() || det.abs() < 1e-12 {
                return None;
            }
            let step = DVec2::new(
                (cy.y * residual.x - cy.x * residual.y) / det,
                (-cx.y * residual.x + cx.x * residual.y) / det,
            );
            m -= step;
            if step.length() < 1e-15 * (1.0 + m.length()) {
                converged = true;
                break;
            }
        }
        let residual = (self.distort(m) - target).length();
        if !converged && residual > 1e-12 {
            return None;
        }
        let r2 = m.length_squared();
        let disc = 1.0 + (1.0 - self.xi * self.xi) * r2;
        if disc < 0.0 {
            return None;
        }
        let factor = (self.xi + disc.sqrt()) / (r2 + 1.0);
        let xs = DVec3::new(factor * m.x, factor * m.y, factor - self.xi);
        // Reject the far-side root and points the forward model would not reach.
        (xs.z > self.z_limit() && (self.project(xs)? - p).length() < 1e-6).then_some(xs)
    }

    /// The model in a frame scaled by `(sx, sy)` (pixel-centre convention).
    #[must_use]
    pub fn scaled(&self, sx: f64, sy: f64) -> Self {
        Self {
            fx: self.fx * sx,
            fy: self.fy * sy,
            cx: (self.cx + 0.5) * sx - 0.5,
            cy: (self.cy + 0.5) * sy - 0.5,
            skew: self.skew * sx,
            ..*self
        }
    }
}
