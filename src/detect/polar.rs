//! Step 3's resampling: the luma along rays from a centre ([`Polar`]), and the strongest
//! edges on each ray ([`ray_edges`]).

use glam::DVec2;

use super::image::Sampler;

/// Luma resampled along `angles` rays from `center` at radii `r0 + i` (i < `n`), with the
/// radial derivative of its Gaussian-smoothed version. `None` where the ray left the frame.
pub(super) struct Polar {
    pub(super) angles: usize,
    pub(super) n: usize,
    pub(super) r0: f64,
    /// `angles × n` derivatives (NaN where undefined).
    pub(super) deriv: Vec<f32>,
    /// `angles × n` smoothed values (NaN where undefined).
    pub(super) value: Vec<f32>,
}

impl Polar {
    pub(super) fn new(
        img: &impl Sampler,
        center: DVec2,
        angles: usize,
        r0: f64,
        n: usize,
        sigma: f64,
    ) -> Self {
        let radius = (3.0 * sigma).ceil() as usize + 1;
        let kernel: Vec<f32> = (0..=2 * radius)
            .map(|k| {
                let d = k as f64 - radius as f64;
                (-0.5 * d * d / (sigma * sigma)).exp() as f32
            })
            .collect();
        let ksum: f32 = kernel.iter().sum();
        let total = n + 2 * radius + 2;
        let start = r0 - (radius + 1) as f64;
        let mut raw = vec![f32::NAN; total];
        let mut smooth = vec![f32::NAN; total];
        let mut deriv = vec![f32::NAN; angles * n];
        let mut value = vec![f32::NAN; angles * n];
        let rows = deriv
            .chunks_exact_mut(n.max(1))
            .zip(value.chunks_exact_mut(n.max(1)));
        for (a, (deriv_row, value_row)) in rows.enumerate() {
            let t = std::f64::consts::TAU * a as f64 / angles as f64;
            let (s, c) = t.sin_cos();
            for (i, v) in raw.iter_mut().enumerate() {
                let r = start + i as f64;
                *v = if r < 0.0 {
                    f32::NAN
                } else {
                    img.bilinear(center.x + r * c, center.y + r * s)
                        .unwrap_or(f32::NAN)
                };
            }
            // smooth[i], radius <= i < total - radius, from raw[i - radius ..= i + radius].
            for (s, window) in smooth
                .iter_mut()
                .skip(radius)
                .zip(raw.windows(kernel.len()))
            {
                let mut acc = 0.0;
                for (&kv, &v) in kernel.iter().zip(window) {
                    acc += kv * v;
                }
                *s = acc / ksum;
            }
            // deriv_row[i] from smooth[j - 1] and smooth[j + 1], j = i + radius + 1.
            for (d, window) in deriv_row.iter_mut().zip(smooth.windows(3).skip(radius)) {
                if let &[before, _, after] = window {
                    *d = 0.5 * (after - before);
                }
            }
            if let Some(values) = smooth.get(radius + 1..radius + 1 + n) {
                value_row.copy_from_slice(values);
            }
        }
        Self {
            angles,
            n,
            r0,
            deriv,
            value,
        }
    }

    /// Angular spread at each radius: the median over angles of the absolute deviation from
    /// the median value (0 where too few angles are in the frame). Low inside the camera's
    /// nearly rotationally symmetric reflection, high in the scene.
    pub(super) fn angular_spread(&self, min_fraction: f64) -> Vec<f32> {
        let mut column = Vec::with_capacity(self.angles);
        (0..self.n)
            .map(|i| {
                column.clear();
                column.extend(
                    (self.value.iter().skip(i).step_by(self.n.max(1)))
                        .copied()
                        .filter(|v| !v.is_nan()),
                );
                if column.is_empty() || (column.len() as f64) < min_fraction * self.angles as f64 {
                    return 0.0;
                }
                let mid = column.len() / 2;
                let (_, &mut m, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                column.iter_mut().for_each(|v| *v = (*v - m).abs());
                let (_, &mut spread, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                spread
            })
            .collect()
    }

    pub(super) fn row(&self, a: usize) -> &[f32] {
        self.deriv
            .get(a * self.n..(a + 1) * self.n)
            .unwrap_or_default()
    }

    /// `M(r)`: median over angles of `|d|` at each radius, where each angle's `|d|` is first
    /// maxed over `±window` samples (so a centre that is a few pixels off still lines its
    /// circle's edges up); `None` where fewer than `min_fraction` of the angles are in the
    /// frame.
    pub(super) fn median_profile(&self, min_fraction: f64, window: usize) -> Vec<Option<f32>> {
        let n = self.n;
        let mut widened = vec![f32::NAN; self.angles * n];
        let rows = self.deriv.chunks_exact(n.max(1));
        for (row, out) in rows.zip(widened.chunks_exact_mut(n.max(1))) {
            for (i, (o, d)) in out.iter_mut().zip(row).enumerate() {
                if d.is_nan() {
                    continue;
                }
                let lo = i.saturating_sub(window);
                let hi = (i + window + 1).min(n);
                *o = (row.get(lo..hi).unwrap_or_default())
                    .iter()
                    .filter(|d| !d.is_nan())
                    .fold(0.0f32, |m, d| m.max(d.abs()));
            }
        }
        let mut column = Vec::with_capacity(self.angles);
        (0..n)
            .map(|i| {
                column.clear();
                column.extend(
                    (widened.iter().skip(i).step_by(n.max(1)))
                        .copied()
                        .filter(|d| !d.is_nan()),
                );
                if (column.len() as f64) < min_fraction * self.angles as f64 {
                    return None;
                }
                let mid = column.len() / 2;
                let (_, &mut m, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                Some(m)
            })
            .collect()
    }

    /// Median `|d|` over every defined sample: the level of texture and noise.
    pub(super) fn typical(&self) -> f32 {
        let mut all: Vec<f32> = self
            .deriv
            .iter()
            .filter(|d| !d.is_nan())
            .map(|d| d.abs())
            .collect();
        if all.is_empty() {
            return 0.0;
        }
        let mid = all.len() / 2;
        let (_, &mut m, _) = all.select_nth_unstable_by(mid, f32::total_cmp);
        m
    }
}

/// The edges along one ray of a polar window: local maxima of `|d|`, located to a
/// sub-sample by a parabola, as (radius, strength), strongest first.
#[derive(Debug, Clone)]
pub(super) struct Ray {
    pub(super) angle: f64,
    pub(super) edges: Vec<(f64, f32)>,
}

impl Ray {
    /// Strength of the strongest edge.
    pub(super) fn strength(&self) -> f32 {
        self.edges.first().map_or(0.0, |e| e.1)
    }
}

/// Most edges kept per ray.
pub(super) const EDGES_PER_RAY: usize = 4;

/// The edges on every ray of the polar window; rays with an undefined sample are out of
/// the frame: `None`.
pub(super) fn ray_edges(polar: &Polar) -> Vec<Option<Ray>> {
    (0..polar.angles)
        .map(|a| {
            let row = polar.row(a);
            if row.iter().any(|d| d.is_nan()) {
                return None;
            }
            let m = |i: usize| row.get(i).map_or(0.0, |d| d.abs());
            let n = row.len();
            let mut edges: Vec<(f64, f32)> = (0..n)
                .filter(|&i| (i == 0 || m(i) >= m(i - 1)) && (i + 1 == n || m(i) > m(i + 1)))
                .map(|i| {
                    let mut offset = 0.0;
                    if i > 0 && i + 1 < n {
                        let (l, c, r) = (m(i - 1), m(i), m(i + 1));
                        let den = l - 2.0 * c + r;
                        if den < 0.0 {
                            offset = f64::from((0.5 * (l - r) / den).clamp(-0.5, 0.5));
                        }
                    }
                    (polar.r0 + i as f64 + offset, m(i))
                })
                .collect();
            edges.sort_unstable_by(|x, y| y.1.total_cmp(&x.1));
            edges.truncate(EDGES_PER_RAY);
            Some(Ray {
                angle: std::f64::consts::TAU * a as f64 / polar.angles as f64,
                edges,
            })
        })
        .collect()
}
