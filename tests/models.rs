//! Property tests of the camera models: dense deterministic sweeps (a seeded LCG and grids)
//! over each model's field of view.
//!
//! - pixel → direction → pixel is the identity (≤ 1e-6 px);
//! - direction → pixel → direction is the identity (≤ 1e-9 rad);
//! - a mei model with k = p = 0 under the default mount is a ring with
//!   `r(e) = f·cos e/(ξ − sin e)`.

use std::f64::consts::{FRAC_PI_2, PI, TAU};
use std::path::Path;

use glam::{DVec2, DVec3};
use omnidewarp::model::{
    Calibration, CameraModel, MeiModel, Mount, MountAxis, OcamModel, RadialProfile, RingModel,
    direction, heading_elevation,
};

/// Knuth's MMIX LCG: deterministic uniform numbers in `[0, 1)`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }

    /// A unit vector uniform on the sphere.
    fn unit(&mut self) -> DVec3 {
        let z = self.range(-1.0, 1.0);
        let phi = self.range(0.0, TAU);
        let s = (1.0 - z * z).sqrt();
        DVec3::new(s * phi.cos(), s * phi.sin(), z)
    }
}

const PX: f64 = 1e-6;
const RAD: f64 = 1e-9;

fn all_mounts() -> Vec<Mount> {
    let mut mounts = Vec::new();
    for axis in [MountAxis::Nadir, MountAxis::Zenith] {
        for reflected in [true, false] {
            mounts.push(Mount {
                axis,
                reflected,
                heading_at_top: 0.7,
            });
        }
    }
    mounts
}

/// Checks both identities for `n` world directions accepted by `in_view`; returns how many
/// were tested.
fn check_round_trips(
    model: &CameraModel,
    n: usize,
    seed: u64,
    in_view: impl Fn(DVec3) -> bool,
) -> usize {
    let mut rng = Lcg(seed);
    let mut tested = 0;
    let (mut worst_px, mut worst_rad): (f64, f64) = (0.0, 0.0);
    while tested < n {
        let d = rng.unit();
        if !in_view(d) {
            continue;
        }
        let p = model
            .project(d)
            .unwrap_or_else(|| panic!("{} has no pixel for {d}", model.name()));
        let back = model
            .unproject(p)
            .unwrap_or_else(|| panic!("{} has no ray at {p} (from {d})", model.name()));
        let q = model.project(back).expect("pixel of the ray");
        // The chord, not `angle_between`: acos near 1 resolves only ~2e-8 rad.
        worst_rad = worst_rad.max((back - d).length());
        worst_px = worst_px.max((q - p).length());
        assert!((back.length() - 1.0).abs() < 1e-12, "not unit: {back}");
        tested += 1;
    }
    assert!(
        worst_px <= PX,
        "{}: project∘unproject off by {worst_px} px",
        model.name()
    );
    assert!(
        worst_rad <= RAD,
        "{}: unproject∘project off by {worst_rad} rad",
        model.name()
    );
    tested
}

// --- ring -----------------------------------------------------------------------------------

fn rings() -> Vec<RingModel> {
    let base = RingModel::builder()
        .center(DVec2::new(1439.5, 1441.25))
        .radii(492.5, 1411.2)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .heading_at_top(0.3)
        .build()
        .unwrap();
    let profiled = RingModel {
        profile: RadialProfile::new(vec![
            (492.5, (-55f64).to_radians()),
            (650.0, (-35f64).to_radians()),
            (800.0, (-10f64).to_radians()),
            (1100.0, 20f64.to_radians()),
            (1300.0, 48f64.to_radians()),
            (1411.2, 60f64.to_radians()),
        ])
        .unwrap(),
        ..base.clone()
    };
    // Elevation falling with radius (a mirror seen from above), direct view.
    let falling = RingModel {
        profile: RadialProfile::new(vec![
            (100.0, 80f64.to_radians()),
            (400.0, 10f64.to_radians()),
            (900.0, (-30f64).to_radians()),
        ])
        .unwrap(),
        mirrored: false,
        heading_at_top: -2.0,
        ..base.clone()
    };
    vec![base, profiled, falling]
}

#[test]
fn ring_pixel_grid_round_trips() {
    for ring in rings() {
        let (r_in, r_out) = ring.profile.radius_range();
        let mut worst: f64 = 0.0;
        for i in 0..=100 {
            let r = r_in + (r_out - r_in) * f64::from(i) / 100.0;
            for j in 0..360 {
                let a = f64::from(j).to_radians() + 0.001;
                let p = ring.center + r * DVec2::new(a.cos(), a.sin());
                let d = ring.unproject(p).expect("ray in the ring");
                let q = ring.project(d).expect("pixel of the ray");
                worst = worst.max((q - p).length());
            }
        }
        assert!(worst <= PX, "ring off by {worst} px");
        // Outside the ring: nothing.
        assert!(ring.unproject(ring.center).is_none());
        assert!(
            ring.unproject(ring.center + DVec2::new(r_out + 1.0, 0.0))
                .is_none()
        );
    }
}

#[test]
fn ring_directions_round_trip() {
    for ring in rings() {
        let (a, b) = ring.profile.elevation_ends();
        let (lo, hi) = (a.min(b), a.max(b));
        let model = CameraModel::Ring(ring);
        let n = check_round_trips(&model, 20_000, 1, |d| {
            let e = heading_elevation(d).1;
            e >= lo && e <= hi
        });
        assert_eq!(n, 20_000);
    }
}

// --- mei ------------------------------------------------------------------------------------

fn mei(xi: f64) -> MeiModel {
    MeiModel {
        fx: 408.9,
        fy: 410.5,
        cx: 630.3,
        cy: 431.9,
        skew: -0.63,
        xi,
        k1: -0.0083,
        k2: 0.0118,
        p1: 0.0228,
        p2: -0.0042,
    }
}

/// Largest angle from the optical axis the sweep covers: where |m| reaches `m_max` (the
/// distortion polynomial is only meaningful, and invertible, over the calibrated range) or
/// just inside the visibility limit `Xs.z > −min(ξ, 1/ξ)`.
fn mei_half_fov(xi: f64, m_max: f64) -> f64 {
    let limit = (-xi.min(1.0 / xi)).acos() - 1e-3;
    // m(α) = sin α/(cos α + ξ) grows with α up to the limit: bisect.
    let m = |a: f64| a.sin() / (a.cos() + xi);
    if m(limit) <= m_max {
        return limit;
    }
    let (mut lo, mut hi) = (0.0, limit);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if m(mid) < m_max { lo = mid } else { hi = mid }
    }
    lo
}

#[test]
fn mei_round_trips_for_xi_below_and_above_one() {
    for xi in [0.0, 0.4, 0.8, 1.0, 1.0534, 1.3, 2.0, 3.5] {
        let lens = mei(xi);
        let half_fov = mei_half_fov(xi, 1.4);
        for mount in all_mounts() {
            let model = CameraModel::Mei { lens, mount };
            check_round_trips(&model, 5_000, 2, |d| {
                mount.world_to_model(d).z > half_fov.cos()
            });
        }
    }
}

#[test]
fn mei_pixel_grid_round_trips() {
    // The sample camera at its own resolution, every 8th pixel of the mirror's disc.
    let lens = mei(1.0534);
    let half_fov = mei_half_fov(1.0534, 1.4);
    let mut worst: f64 = 0.0;
    let mut tested = 0;
    for y in (0..960).step_by(8) {
        for x in (0..1280).step_by(8) {
            let p = DVec2::new(f64::from(x), f64::from(y));
            let Some(d) = lens.unproject(p) else { continue };
            if d.z <= half_fov.cos() {
                continue;
            }
            let q = lens.project(d).unwrap();
            worst = worst.max((q - p).length());
            tested += 1;
        }
    }
    assert!(tested > 10_000, "{tested}");
    assert!(worst <= PX, "off by {worst} px");
}

// --- ocam -----------------------------------------------------------------------------------

fn ocam_models() -> Vec<OcamModel> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocam_calib_results.txt");
    let CameraModel::Ocam { lens, .. } = Calibration::load(&path).unwrap().model else {
        panic!("not ocam");
    };
    // The same lens with a stronger affine part, every term in play.
    let skewed = OcamModel {
        c: 0.97,
        d: 0.02,
        e: -0.03,
        ..lens.clone()
    };
    vec![lens, skewed]
}

#[test]
fn ocam_round_trips() {
    // The fixture's polynomials are fitted up to 110° from the optical axis.
    let half_fov = 110f64.to_radians();
    for lens in ocam_models() {
        for mount in all_mounts() {
            let model = CameraModel::Ocam {
                lens: lens.clone(),
                mount,
            };
            check_round_trips(&model, 5_000, 3, |d| {
                mount.world_to_model(d).z > half_fov.cos()
            });
        }
        // The optical axis itself.
        let centre = DVec2::new(lens.center_col, lens.center_row);
        let axis = lens.unproject(centre).unwrap();
        assert!((axis - DVec3::Z).length() < RAD);
        assert!((lens.project(DVec3::Z).unwrap() - centre).length() < PX);
    }
}

// --- ring vs mei ------------------------------------------------------------------------------

/// Radius of elevation `e` for a mei model with k = p = 0, fx = fy = f, skew 0, under the
/// default mount (DESIGN.md).
fn mei_radius(f: f64, xi: f64, e: f64) -> f64 {
    f * e.cos() / (xi - e.sin())
}

fn plain_mei(f: f64, xi: f64) -> MeiModel {
    MeiModel {
        fx: f,
        fy: f,
        cx: 630.3,
        cy: 431.9,
        skew: 0.0,
        xi,
        k1: 0.0,
        k2: 0.0,
        p1: 0.0,
        p2: 0.0,
    }
}

#[test]
fn mei_without_distortion_is_the_ring_formula() {
    for xi in [0.6, 1.0, 1.0534, 1.8] {
        let lens = plain_mei(408.9, xi);
        let model = CameraModel::Mei {
            lens,
            mount: Mount::default(),
        };
        let centre = DVec2::new(lens.cx, lens.cy);
        for i in 0..=170 {
            let e = (-85.0 + f64::from(i)).to_radians();
            // Visible (Xs.z = −sin e > −min(ξ, 1/ξ)) and r still growing with e.
            if e.sin() >= xi.min(1.0 / xi) - 1e-3 {
                continue;
            }
            for j in 0..36 {
                let h = f64::from(j) * 10f64.to_radians() - PI;
                let p = model.project(direction(h, e)).unwrap();
                let r = mei_radius(408.9, xi, e);
                // The ring's forward formula with heading_at_top = 0, mirrored (s = +1).
                let ring = centre + DVec2::new(-r * h.sin(), -r * h.cos());
                assert!(
                    (p - ring).length() < 1e-9,
                    "ξ {xi}, e {e}, h {h}: {p} vs {ring}"
                );
            }
        }
    }
}

#[test]
fn ring_with_a_sampled_profile_matches_mei() {
    let (f, xi) = (408.9, 1.0534);
    let (e_in, e_out) = ((-70f64).to_radians(), 15f64.to_radians());
    let n = 16; // the most knots a profile may have (the GPU's uniform array)
    let step = (e_out - e_in) / (n - 1) as f64;
    let knots: Vec<(f64, f64)> = (0..n)
        .map(|k| {
            let e = e_in + step * k as f64;
            (mei_radius(f, xi, e), e)
        })
        .collect();
    let ring = RingModel {
        center: DVec2::new(630.3, 431.9),
        profile: RadialProfile::new(knots).unwrap(),
        heading_at_top: 0.0,
        mirrored: true,
    };
    let mei = CameraModel::Mei {
        lens: plain_mei(f, xi),
        mount: Mount::default(),
    };
    // Linear interpolation between knots `step` apart is off by at most step²/8 · max|r''|.
    let mut max_r2: f64 = 0.0;
    let h = 1e-4;
    for i in 0..=2000 {
        let e = e_in + (e_out - e_in) * f64::from(i) / 2000.0;
        let r2 = (mei_radius(f, xi, e + h) - 2.0 * mei_radius(f, xi, e) + mei_radius(f, xi, e - h))
            / (h * h);
        max_r2 = max_r2.max(r2.abs());
    }
    let bound = step * step / 8.0 * max_r2 * 1.01;
    let mut worst: f64 = 0.0;
    for i in 0..=850 {
        let e = e_in + (e_out - e_in) * f64::from(i) / 850.0;
        for j in 0..72 {
            let d = direction(f64::from(j) * 5f64.to_radians(), e);
            let a = CameraModel::Ring(ring.clone()).project(d).unwrap();
            let b = mei.project(d).unwrap();
            worst = worst.max((a - b).length());
        }
    }
    // On the knots themselves the two agree exactly.
    let mut at_knots: f64 = 0.0;
    for &(_, e) in ring.profile.knots() {
        for j in 0..72 {
            let d = direction(f64::from(j) * 5f64.to_radians(), e);
            let a = CameraModel::Ring(ring.clone()).project(d).unwrap();
            let b = mei.project(d).unwrap();
            at_knots = at_knots.max((a - b).length());
        }
    }
    println!("ring vs mei: max {worst:.4} px, bound {bound:.4} px");
    assert!(worst <= bound, "{worst} > {bound}");
    assert!(at_knots < 1e-9, "{at_knots}");
    assert!(bound < 1.5, "bound {bound} px is too loose to mean much");
}

#[test]
fn zenith_mount_sees_the_sky_in_the_middle() {
    let lens = plain_mei(400.0, 1.0);
    let centre = DVec2::new(lens.cx, lens.cy);
    let up = CameraModel::Mei {
        lens,
        mount: Mount {
            axis: MountAxis::Zenith,
            ..Mount::default()
        },
    };
    assert!((up.project(DVec3::Z).unwrap() - centre).length() < 1e-9);
    let down = CameraModel::Mei {
        lens,
        mount: Mount::default(),
    };
    assert!((down.project(-DVec3::Z).unwrap() - centre).length() < 1e-9);
    // Both: heading_at_top (0 = north) straight above the centre.
    for model in [&up, &down] {
        let p = model.project(direction(0.0, 0.1 * FRAC_PI_2)).unwrap();
        assert!((p.x - centre.x).abs() < 1e-9 && p.y < centre.y, "{p}");
    }
}
