//! The ring model: an equiangular mirror seen from below, radius linear in elevation,
//! optionally bent by a sampled radial profile.

use glam::{DVec2, DVec3};

use super::{finite, heading_elevation, positive};
use crate::Result;
use crate::error::invalid;

/// Most knots a radial profile may have (the two ends included); the GPU keeps them in a
/// fixed-size uniform array.
pub const MAX_PROFILE_KNOTS: usize = 16;

/// What [`RadialProfile`]'s lookups read where a knot is missing (never, past `new`).
const NAN_KNOT: (f64, f64) = (f64::NAN, f64::NAN);

/// Elevation as a function of radius: piecewise linear through `(radius, elevation)` knots,
/// radius strictly increasing, elevation strictly monotonic. The first and last knots are the
/// ring's inner and outer edges.
#[derive(Debug, Clone, PartialEq)]
pub struct RadialProfile {
    knots: Vec<(f64, f64)>,
}

impl RadialProfile {
    /// A profile through `knots` (radius px, elevation rad), checked for monotonicity.
    pub fn new(knots: Vec<(f64, f64)>) -> Result<Self> {
        if knots.len() < 2 || knots.len() > MAX_PROFILE_KNOTS {
            return Err(invalid(
                "profile",
                format!("needs 2 to {MAX_PROFILE_KNOTS} knots, got {}", knots.len()),
            ));
        }
        for &(r, e) in &knots {
            finite("profile", r)?;
            finite("profile", e)?;
            if r < 0.0 {
                return Err(invalid("profile", format!("negative radius {r}")));
            }
            if e.abs() > std::f64::consts::FRAC_PI_2 {
                return Err(invalid("profile", "elevation outside [-90°, 90°]"));
            }
        }
        let rising = matches!(knots.as_slice(), [a, b, ..] if b.1 > a.1);
        for (a, b) in knots.iter().zip(knots.iter().skip(1)) {
            if b.0 <= a.0 {
                return Err(invalid("profile", "radii must increase strictly"));
            }
            if (b.1 > a.1) != rising || b.1 == a.1 {
                return Err(invalid("profile", "elevations must be strictly monotonic"));
            }
        }
        Ok(Self { knots })
    }

    /// The straight line from `(r_in, e_in)` to `(r_out, e_out)`.
    pub fn linear(r_in: f64, e_in: f64, r_out: f64, e_out: f64) -> Result<Self> {
        Self::new(vec![(r_in, e_in), (r_out, e_out)])
    }

    /// The knots, inner edge first.
    #[must_use]
    pub fn knots(&self) -> &[(f64, f64)] {
        &self.knots
    }

    /// The knots between the inner and the outer edge (a linear profile has none).
    pub(crate) fn interior_knots(&self) -> &[(f64, f64)] {
        let inside = 1..self.knots.len().saturating_sub(1);
        self.knots.get(inside).unwrap_or_default()
    }

    /// Inner and outer radius.
    #[must_use]
    pub fn radius_range(&self) -> (f64, f64) {
        let (inner, outer) = self.ends();
        (inner.0, outer.0)
    }

    /// Elevations at the inner and outer radius.
    #[must_use]
    pub fn elevation_ends(&self) -> (f64, f64) {
        let (inner, outer) = self.ends();
        (inner.1, outer.1)
    }

    /// The first and the last knot (`new` keeps at least two; NaN knots otherwise).
    fn ends(&self) -> ((f64, f64), (f64, f64)) {
        match self.knots.as_slice() {
            [first, .., last] => (*first, *last),
            _ => (NAN_KNOT, NAN_KNOT),
        }
    }

    /// The segment from knot `k - 1` to knot `k`, where `k` is the number of knots
    /// `before` holds for, clamped to `1..len` (NaN knots without a segment).
    fn segment(&self, before: impl FnMut(&(f64, f64)) -> bool) -> ((f64, f64), (f64, f64)) {
        let k = self
            .knots
            .partition_point(before)
            .clamp(1, self.knots.len().saturating_sub(1).max(1));
        match self.knots.get(k - 1..=k) {
            Some(&[a, b]) => (a, b),
            _ => (NAN_KNOT, NAN_KNOT),
        }
    }

    /// Elevation at radius `r`, `None` outside the ring. A radius a rounding error
    /// (1e-12 relative) beyond an edge counts as the edge.
    #[must_use]
    pub fn elevation(&self, r: f64) -> Option<f64> {
        let (r_in, r_out) = self.radius_range();
        let tol = 1e-12 * r_out;
        if !(r_in - tol..=r_out + tol).contains(&r) {
            return None;
        }
        let r = r.clamp(r_in, r_out);
        let ((r0, e0), (r1, e1)) = self.segment(|&(kr, _)| kr <= r);
        Some(e0 + (r - r0) * (e1 - e0) / (r1 - r0))
    }

    /// Radius at elevation `e`, `None` outside the ring's elevation range. An elevation a
    /// rounding error (1e-12 rad) beyond an edge counts as the edge, so that the edge's own
    /// pixels project back (`heading_elevation(direction(h, e))` may be off by an ulp).
    #[must_use]
    pub fn radius(&self, e: f64) -> Option<f64> {
        let (e_a, e_b) = self.elevation_ends();
        let rising = e_b > e_a;
        let (lo, hi) = (e_a.min(e_b), e_a.max(e_b));
        if !(lo - 1e-12..=hi + 1e-12).contains(&e) {
            return None;
        }
        let e = e.clamp(lo, hi);
        let ((r0, e0), (r1, e1)) = self.segment(|&(_, ke)| if rising { ke <= e } else { ke >= e });
        Some(r0 + (e - e0) * (r1 - r0) / (e1 - e0))
    }

    /// Radius at elevation `e`, the end segments extended beyond the ring (for mapping
    /// grids whose nodes may fall just outside the content).
    #[must_use]
    pub(crate) fn radius_extended(&self, e: f64) -> f64 {
        let (inner, outer) = self.ends();
        let rising = outer.1 > inner.1;
        let ((r0, e0), (r1, e1)) = self.segment(|&(_, ke)| if rising { ke <= e } else { ke >= e });
        r0 + (e - e0) * (r1 - r0) / (e1 - e0)
    }

    fn scaled(&self, s: f64) -> Self {
        Self {
            knots: self.knots.iter().map(|&(r, e)| (r * s, e)).collect(),
        }
    }
}

/// An equiangular mirror imaged as a ring ("donut").
///
/// Forward (DESIGN.md): `r = profile.radius(e)`, `t = h − heading_at_top`,
/// `x = cx − s·r·sin t`, `y = cy − r·cos t`, with `s = +1` when `mirrored` (heading grows
/// counter-clockwise on the image, the normal case for a mirror) and `s = −1` for a direct view.
/// Outside the profile's radius range there is no data.
#[derive(Debug, Clone, PartialEq)]
pub struct RingModel {
    /// Ring centre, pixels.
    pub center: DVec2,
    /// Elevation versus radius (linear for an ideal equiangular mirror).
    pub profile: RadialProfile,
    /// Heading of the ray imaged straight above the centre, radians.
    pub heading_at_top: f64,
    /// `true` for a mirror (`s = +1`), `false` for a direct view (`s = −1`).
    pub mirrored: bool,
}

impl RingModel {
    /// A ring from named parts: see [`RingBuilder`].
    ///
    /// ```
    /// use omnidewarp::model::RingModel;
    /// # fn main() -> omnidewarp::Result<()> {
    /// let ring = RingModel::builder()
    ///     .center([719.5, 719.5])
    ///     .radii(240.0, 705.0)
    ///     .elevations(-55f64.to_radians(), 60f64.to_radians())
    ///     .build()?;
    /// assert!(ring.mirrored && ring.heading_at_top == 0.0);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> RingBuilder {
        RingBuilder::default()
    }

    /// Checks every parameter; the calibration loader calls this.
    pub fn validate(&self) -> Result<()> {
        finite("center", self.center.x)?;
        finite("center", self.center.y)?;
        super::camera::check_heading(self.heading_at_top)?;
        let (r_in, r_out) = self.profile.radius_range();
        if r_in < 0.0 {
            return Err(invalid(
                "radius_inner",
                format!("must not be negative, got {r_in}"),
            ));
        }
        positive("radius_outer", r_out)?;
        if r_in >= r_out {
            return Err(invalid(
                "radius_inner",
                format!("must be less than radius_outer ({r_in} ≥ {r_out})"),
            ));
        }
        Ok(())
    }

    /// `s` of the forward formula: `+1` when `mirrored`, `−1` for a direct view.
    #[must_use]
    pub(crate) fn sign(&self) -> f64 {
        if self.mirrored { 1.0 } else { -1.0 }
    }

    /// Frame pixel of a world direction, `None` outside the ring.
    #[must_use]
    pub fn project(&self, d: DVec3) -> Option<DVec2> {
        let (h, e) = heading_elevation(d);
        let r = self.profile.radius(e)?;
        let (st, ct) = (h - self.heading_at_top).sin_cos();
        Some(DVec2::new(
            self.center.x - self.sign() * r * st,
            self.center.y - r * ct,
        ))
    }

    /// [`RingModel::project`] with the profile extended beyond the ring's edges.
    #[must_use]
    pub(crate) fn project_extended(&self, d: DVec3) -> DVec2 {
        let (h, e) = heading_elevation(d);
        let r = self.profile.radius_extended(e);
        let (st, ct) = (h - self.heading_at_top).sin_cos();
        DVec2::new(self.center.x - self.sign() * r * st, self.center.y - r * ct)
    }

    /// World direction (unit) of a frame pixel, `None` outside the ring.
    #[must_use]
    pub fn unproject(&self, p: DVec2) -> Option<DVec3> {
        let v = p - self.center;
        let r = v.length();
        let e = self.profile.elevation(r)?;
        let t = (-self.sign() * v.x).atan2(-v.y);
        Some(super::direction(t + self.heading_at_top, e))
    }

    /// The ring in a frame scaled by `s` (pixel-centre convention).
    #[must_use]
    pub fn scaled(&self, s: f64) -> Self {
        Self {
            center: (self.center + 0.5) * s - 0.5,
            profile: self.profile.scaled(s),
            ..self.clone()
        }
    }
}

/// Builds a [`RingModel`] from named parts. The centre is required, and either radii and
/// elevations (a linear profile: an ideal equiangular mirror) or a [`RadialProfile`];
/// `heading_at_top` defaults to 0 and `mirrored` to `true`. [`RingBuilder::build`] checks
/// every parameter ([`RingModel::validate`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct RingBuilder {
    center: Option<DVec2>,
    radii: Option<(f64, f64)>,
    elevations: Option<(f64, f64)>,
    profile: Option<RadialProfile>,
    heading_at_top: f64,
    mirrored: bool,
}

impl Default for RingBuilder {
    fn default() -> Self {
        Self {
            center: None,
            radii: None,
            elevations: None,
            profile: None,
            heading_at_top: 0.0,
            mirrored: true,
        }
    }
}

impl RingBuilder {
    /// The ring's centre, pixels (a `DVec2`, `[x, y]` or `(x, y)`).
    pub fn center(mut self, center: impl Into<DVec2>) -> Self {
        self.center = Some(center.into());
        self
    }

    /// The radii of the inner edge (the camera's reflection) and the outer edge, pixels.
    pub fn radii(mut self, inner: f64, outer: f64) -> Self {
        self.radii = Some((inner, outer));
        self
    }

    /// The elevations imaged at the inner and the outer radius, radians.
    pub fn elevations(mut self, inner: f64, outer: f64) -> Self {
        self.elevations = Some((inner, outer));
        self
    }

    /// A sampled elevation-versus-radius profile, instead of radii and elevations.
    pub fn profile(mut self, profile: RadialProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// The heading of the ray imaged straight above the centre, radians (default 0).
    pub fn heading_at_top(mut self, heading: f64) -> Self {
        self.heading_at_top = heading;
        self
    }

    /// `true` for a mirror (the default), `false` for a direct view.
    pub fn mirrored(mut self, mirrored: bool) -> Self {
        self.mirrored = mirrored;
        self
    }

    /// The ring, checked.
    pub fn build(self) -> Result<RingModel> {
        let center = self.center.ok_or_else(|| invalid("center", "not given"))?;
        let profile = match (self.profile, self.radii, self.elevations) {
            (Some(profile), None, None) => profile,
            (None, Some((r_in, r_out)), Some((e_in, e_out))) => {
                RadialProfile::linear(r_in, e_in, r_out, e_out)?
            }
            (Some(_), _, _) => {
                return Err(invalid(
                    "profile",
                    "give a profile, or radii and elevations, not both",
                ));
            }
            (None, None, _) => return Err(invalid("radius_inner", "radii not given")),
            (None, _, None) => {
                return Err(invalid("elevation_inner_deg", "elevations not given"));
            }
        };
        let ring = RingModel {
            center,
            profile,
            heading_at_top: self.heading_at_top,
            mirrored: self.mirrored,
        };
        ring.validate()?;
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::direction;

    fn ring() -> RingModel {
        RingModel::builder()
            .center(DVec2::new(1439.5, 1439.5))
            .radii(492.5, 1411.2)
            .elevations(-55f64.to_radians(), 60f64.to_radians())
            .heading_at_top(0.3)
            .build()
            .unwrap()
    }

    #[test]
    fn north_on_the_horizon_is_above_the_centre() {
        let r = RingModel {
            heading_at_top: 0.0,
            ..ring()
        };
        let p = r.project(direction(0.0, 0.0)).unwrap();
        assert!((p.x - 1439.5).abs() < 1e-9 && p.y < 1439.5);
        // Mirrored: east (heading +90°) lies left of the centre.
        let east = r
            .project(direction(std::f64::consts::FRAC_PI_2, 0.0))
            .unwrap();
        assert!(east.x < 1439.5 && (east.y - 1439.5).abs() < 1e-9);
    }

    #[test]
    fn project_unproject_identity_with_profile() {
        let mut r = ring();
        r.profile = RadialProfile::new(vec![
            (492.5, -55f64.to_radians()),
            (800.0, -10f64.to_radians()),
            (1100.0, 20f64.to_radians()),
            (1411.2, 60f64.to_radians()),
        ])
        .unwrap();
        for i in 0..200 {
            let a = i as f64 * 0.37;
            let rad = 492.5 + (i as f64 / 199.0) * (1411.2 - 492.5);
            let p = r.center + rad * DVec2::new(a.cos(), a.sin());
            let q = r.project(r.unproject(p).unwrap()).unwrap();
            assert!((p - q).length() < 1e-6, "{p} → {q}");
        }
        assert!(r.unproject(r.center).is_none());
        assert!(r.project(direction(0.0, 1.2)).is_none());
    }

    #[test]
    fn the_builder_needs_its_parts_and_checks_them() {
        let base = RingModel::builder().center([10.0, 10.0]);
        let err = |b: RingBuilder| b.build().unwrap_err().to_string();
        assert!(err(RingModel::builder().radii(1.0, 2.0).elevations(0.0, 1.0)).contains("center"));
        assert!(err(base.clone().elevations(0.0, 1.0)).contains("radii"));
        assert!(err(base.clone().radii(1.0, 2.0)).contains("elevations"));
        let profile = RadialProfile::linear(1.0, -0.5, 5.0, 0.5).unwrap();
        assert!(err(base.clone().profile(profile.clone()).radii(1.0, 2.0)).contains("not both"));
        let ring = base
            .profile(profile.clone())
            .heading_at_top(0.25)
            .mirrored(false)
            .build()
            .unwrap();
        assert_eq!(
            ring,
            RingModel {
                center: DVec2::new(10.0, 10.0),
                profile,
                heading_at_top: 0.25,
                mirrored: false
            }
        );
    }

    #[test]
    fn bad_radii_are_refused() {
        for (inner, outer) in [(-1.0, 10.0), (10.0, 10.0), (1.0, f64::NAN)] {
            let ring = RingModel::builder()
                .center(DVec2::ZERO)
                .radii(inner, outer)
                .elevations(-0.5, 0.5)
                .build();
            assert!(ring.is_err(), "{inner}, {outer}");
        }
    }
}
