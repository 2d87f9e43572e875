//! Step 4: concentric circles fitted to ray edges by iteratively reweighted least squares
//! (Tukey weights), and the small statistics they need.

use glam::DVec2;

use super::polar::Ray;

/// A fitted circle and how well the edges support it.
#[derive(Debug, Clone, Copy)]
pub(super) struct CircleFit {
    pub(super) center: DVec2,
    pub(super) radius: f64,
    /// Fraction of in-frame angles with a significant edge within tolerance.
    pub(super) support: f64,
    /// Fraction of all angles that were in the frame.
    pub(super) coverage: f64,
}

/// The rays of one circle, sampled around the fit's starting centre, the strength an edge
/// needs to count, and the circle's starting radius.
#[derive(Debug, Clone, Copy)]
pub(super) struct CircleRays<'a> {
    pub(super) rays: &'a [Option<Ray>],
    pub(super) threshold: f32,
    pub(super) radius: f64,
}

/// Robust geometric fit of concentric circles, a common centre and one radius each, to the
/// significant ray edges sampled around `center`: on each ray the edge nearest the current
/// circle is used (so a stronger scene edge next to the rim does not pull it; support,
/// though, only counts rays whose strongest edge is on the circle), weighted by
/// Tukey's biweight with each circle's scale from its median absolute residual, and the
/// fit iterated (IRLS, Gauss-Newton steps). With `fixed_center` only the radii move.
/// `None` when a circle has fewer than 8 significant edges, there are more than two
/// circles, or the fit degenerates.
pub(super) fn fit_concentric(
    center: DVec2,
    circles: &[CircleRays<'_>],
    tolerance: f64,
    fixed_center: bool,
) -> Option<Vec<CircleFit>> {
    // Per circle, per in-frame ray: the significant edge points.
    let groups: Vec<Vec<Vec<DVec2>>> = circles
        .iter()
        .map(|circle| {
            circle
                .rays
                .iter()
                .flatten()
                .map(|ray| {
                    let dir = DVec2::new(ray.angle.cos(), ray.angle.sin());
                    ray.edges
                        .iter()
                        .filter(|e| e.1 >= circle.threshold)
                        .map(|e| center + e.0 * dir)
                        .collect::<Vec<_>>()
                })
                .filter(|pts| !pts.is_empty())
                .collect()
        })
        .collect();
    if groups.len() > 2 || groups.iter().any(|g| g.len() < 8) {
        return None;
    }
    let mut radii: Vec<f64> = circles.iter().map(|c| c.radius).collect();
    let n = 2 + groups.len();
    let mut c = center;
    // The point of each ray nearest the circle (c, r), and its signed residual.
    let nearest = |pts: &[DVec2], c: DVec2, r: f64| -> (DVec2, f64) {
        pts.iter()
            .map(|p| (*p, p.distance(c) - r))
            .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap_or((c, f64::INFINITY))
    };
    for _ in 0..12 {
        let mut jtj = [[0.0f64; 4]; 4];
        let mut jtr = [0.0f64; 4];
        for (g, (rays, &radius)) in groups.iter().zip(&radii).enumerate() {
            let chosen: Vec<(DVec2, f64)> =
                rays.iter().map(|pts| nearest(pts, c, radius)).collect();
            let mut abs: Vec<f64> = chosen.iter().map(|(_, e)| e.abs()).collect();
            let k = 4.685 * (1.4826 * median(&mut abs)).max(0.25 * tolerance);
            for (p, e) in &chosen {
                let u = e / k;
                if u.abs() >= 1.0 {
                    continue;
                }
                let wgt = (1.0 - u * u).powi(2);
                let v = *p - c;
                let d = v.length().max(1e-9);
                let mut j = [0.0f64; 4];
                j[0] = -v.x / d;
                j[1] = -v.y / d;
                if let Some(jr) = j.get_mut(2 + g) {
                    *jr = -1.0;
                }
                for ((row, r), &ja) in jtj.iter_mut().zip(&mut jtr).zip(&j).take(n) {
                    *r += wgt * ja * e;
                    for (cell, &jb) in row.iter_mut().zip(&j).take(n) {
                        *cell += wgt * ja * jb;
                    }
                }
            }
        }
        let step = if fixed_center {
            // Radii only: each is its own 1×1 system.
            let mut step = [0.0f64; 4];
            let radii_rows = step.iter_mut().zip(jtj.iter().zip(&jtr)).enumerate();
            for (k, (s, (row, &r))) in radii_rows.take(n).skip(2) {
                let diagonal = row.get(k).copied().unwrap_or(0.0);
                if diagonal <= 0.0 {
                    return None;
                }
                *s = r / diagonal;
            }
            step
        } else {
            solve(jtj, jtr, n)?
        };
        c -= DVec2::new(step[0], step[1]);
        for (r, s) in radii.iter_mut().zip(step.iter().skip(2)) {
            *r -= s;
            if !(r.is_finite() && *r > 0.0) {
                return None;
            }
        }
        if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-4 {
            break;
        }
    }
    Some(
        circles
            .iter()
            .zip(&groups)
            .zip(&radii)
            .map(|((circle, rays), &r)| {
                let in_frame = circle.rays.iter().flatten().count();
                // Support counts a ray only when its strongest significant edge is on the
                // circle: choosing among several edges would find one by chance.
                let inliers = rays
                    .iter()
                    .filter(|pts| {
                        pts.first()
                            .is_some_and(|p| (p.distance(c) - r).abs() <= tolerance)
                    })
                    .count();
                CircleFit {
                    center: c,
                    radius: r,
                    support: inliers as f64 / in_frame.max(1) as f64,
                    coverage: in_frame as f64 / circle.rays.len().max(1) as f64,
                }
            })
            .collect(),
    )
}

/// Solves the `n × n` (n ≤ 4) system `a · x = b` by Gaussian elimination with partial
/// pivoting, `None` when singular.
pub(super) fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4], n: usize) -> Option<[f64; 4]> {
    let n = n.min(4);
    let at = |row: &[f64; 4], col: usize| row.get(col).copied().unwrap_or(0.0);
    for col in 0..n {
        let (pivot, size) = a
            .iter()
            .enumerate()
            .take(n)
            .skip(col)
            .map(|(i, row)| (i, at(row, col).abs()))
            .max_by(|x, y| x.1.total_cmp(&y.1))?;
        if size < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (done, below) = a.split_at_mut(col + 1);
        let (b_done, b_below) = b.split_at_mut(col + 1);
        let (Some(pivot_row), Some(&b_pivot)) = (done.last(), b_done.last()) else {
            return None;
        };
        for (row, b_row) in below.iter_mut().zip(b_below).take(n - col - 1) {
            let f = at(row, col) / at(pivot_row, col);
            for (v, p) in row.iter_mut().zip(pivot_row).take(n).skip(col) {
                *v -= f * p;
            }
            *b_row -= f * b_pivot;
        }
    }
    let mut x = [0.0f64; 4];
    for (row, (a_row, &b_row)) in a.iter().zip(&b).enumerate().take(n).rev() {
        let s: f64 = a_row
            .iter()
            .zip(&x)
            .take(n)
            .skip(row + 1)
            .map(|(a, x)| a * x)
            .sum();
        if let Some(x_row) = x.get_mut(row) {
            *x_row = (b_row - s) / at(a_row, row);
        }
    }
    Some(x)
}

/// The `q` quantile (nearest rank) of `v`, NaN when empty.
pub(super) fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    let (_, &mut m, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    m
}

pub(super) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    let (_, &mut m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    m
}
