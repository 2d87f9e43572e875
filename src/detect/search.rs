//! Steps 3 to 5 put together: the radii around each candidate ([`refine_candidate`]), the
//! refinement on the full-resolution luma ([`refine_full`]) and the confidence.

use glam::DVec2;

use super::fit::{CircleFit, CircleRays, fit_concentric, median, quantile};
use super::hough::Candidate;
use super::image::{Gray, Luma, Sampler};
use super::polar::{Polar, Ray, ray_edges};
use super::{DetectedRing, FALLBACK_INNER_FRACTION};

/// A ring on the analysis image.
#[derive(Debug, Clone, Copy)]
pub(super) struct Estimate {
    pub(super) center: DVec2,
    pub(super) radius_outer: f64,
    pub(super) outer: CircleFit,
    pub(super) inner: Option<CircleFit>,
}

impl Estimate {
    pub(super) fn score(&self) -> f64 {
        confidence(self.outer.support, self.inner.map_or(0.0, |f| f.support))
    }
}

/// Confidence from the rim's and the blind spot's support: the rim's support, discounted
/// by up to 40 % when the blind spot is not seen (a plain circle in a photo has no plain
/// camera reflection in its middle).
pub(super) fn confidence(outer: f64, inner: f64) -> f64 {
    (outer * (0.6 + 0.4 * inner)).clamp(0.0, 1.0)
}

/// Angles sampled on the analysis image.
pub(super) const WORK_ANGLES: usize = 360;
/// Largest blind spot radius, as a fraction of the rim's: a camera reflection covering more
/// of the mirror would leave little to see (typical optics: 0.1–0.4).
pub(super) const MAX_INNER_FRACTION: f64 = 0.55;
/// Angles of the whole-radius profiles `M(r)` (a median needs fewer).
pub(super) const PROFILE_ANGLES: usize = 180;
/// Smallest rim radius searched, as a fraction of the frame's short side: the mirror is
/// assumed to fill a good part of the frame (this keeps balls, plates and the sun out).
pub(super) const MIN_RIM_FRACTION: f64 = 0.2;
/// Least fraction of a circle's angles that must lie in the frame.
pub(super) const MIN_COVERAGE: f64 = 0.3;

/// Local maxima of `M(r)` at least `floor`, as (radius, value). A maximum must be the
/// largest within `±reach` samples (the first of equal values wins); its radius is the
/// middle of the run of samples within 5 % of it, since a profile maxed over a window has
/// flat tops.
pub(super) fn profile_peaks(
    profile: &[Option<f32>],
    r0: f64,
    floor: f32,
    reach: usize,
) -> Vec<(f64, f32)> {
    let mut peaks = Vec::new();
    let at = |j: usize| profile.get(j).copied().flatten();
    for (i, &p) in profile.iter().enumerate() {
        let Some(v) = p else { continue };
        if v < floor {
            continue;
        }
        let lo = i.saturating_sub(reach);
        let hi = (i + reach + 1).min(profile.len());
        let is_max = (lo..hi).all(|j| j == i || at(j).is_none_or(|u| u < v || (u == v && j > i)));
        if is_max {
            let near = |j: usize| at(j).is_some_and(|u| u >= 0.95 * v);
            let mut a = i;
            while a > 0 && near(a - 1) {
                a -= 1;
            }
            let mut b = i;
            while b + 1 < profile.len() && near(b + 1) {
                b += 1;
            }
            peaks.push((r0 + 0.5 * (a + b) as f64, v));
        }
    }
    peaks
}

/// Finds and fits the rim and blind spot around a centre candidate on the analysis image.
pub(super) fn refine_candidate(
    img: &Gray,
    candidate: Candidate,
    window: usize,
) -> std::result::Result<Estimate, String> {
    let (w, h) = (img.w as f64, img.h as f64);
    let short = w.min(h);
    let mut center = candidate.center;
    let r_far = [
        (0.0, 0.0),
        (w - 1.0, 0.0),
        (0.0, h - 1.0),
        (w - 1.0, h - 1.0),
    ]
    .iter()
    .map(|&(x, y)| center.distance(DVec2::new(x, y)))
    .fold(0.0, f64::max);
    let r_start = (0.03 * short).max(3.0);
    let n = (r_far - r_start).max(1.0) as usize;
    let polar = Polar::new(img, center, PROFILE_ANGLES, r_start, n, 2.0);
    let profile = polar.median_profile(MIN_COVERAGE, window);
    let typical = polar.typical();
    let top = profile.iter().flatten().copied().fold(0.0f32, f32::max);
    let floor = (3.0 * typical).max(0.25 * top).max(0.3);
    let peaks = profile_peaks(&profile, r_start, floor, window + 2);
    let Some(&(r_rim, m_rim)) = peaks
        .iter()
        .rev()
        .find(|&&(r, _)| r >= MIN_RIM_FRACTION * short)
    else {
        return Err("no circular edge stands out around the candidate centres".to_owned());
    };
    // Edges weaker than this do not count: a third of the rim's median edge, and well above
    // the texture and noise level.
    let threshold = (0.33 * m_rim).max(2.5 * typical).max(0.3);
    let mut radius = r_rim;
    let mut fit = None;
    for (half, sigma) in [(6.0, 1.5), (3.0, 1.0), (2.0, 1.0)] {
        let rays = rays_near(img, center, WORK_ANGLES, radius, half, sigma);
        let rim = CircleRays {
            rays: &rays,
            threshold,
            radius,
        };
        let Some(&[f]) = fit_concentric(center, &[rim], 1.0, false).as_deref() else {
            return Err("too few rim edges".to_owned());
        };
        if f.coverage < MIN_COVERAGE || f.center.distance(center) > 3.0 * half {
            return Err("rim fit diverged or left the frame".to_owned());
        }
        center = f.center;
        radius = f.radius;
        fit = Some(f);
    }
    let Some(mut outer) = fit else {
        return Err("no rim fit".to_owned());
    };
    // The blind spot: the circle edge with the camera's plain reflection inside and the
    // scene outside, told apart by their angular spread (a lens ring inside the reflection
    // has plain on both sides, a horizon has scene on both sides).
    let n_in = (0.85 * radius - r_start).max(1.0) as usize;
    let polar_in = Polar::new(img, center, PROFILE_ANGLES, r_start, n_in, 1.5);
    let profile_in = polar_in.median_profile(MIN_COVERAGE, 1);
    let spread = polar_in.angular_spread(MIN_COVERAGE);
    let inner_floor = (3.0 * typical).max(0.15 * m_rim).max(0.3);
    // Bands of radii just inside and just outside a candidate edge, and the scene's own
    // typical angular spread (well inside the ring) to judge them by.
    let band = (0.05 * radius).max(3.0) as usize;
    let scene_spread = quantile(
        spread
            .iter()
            .enumerate()
            .filter(|&(i, _)| r_start + i as f64 >= 0.5 * radius)
            .map(|(_, &v)| f64::from(v))
            .collect(),
        0.5,
    );
    if scene_spread.is_nan() || scene_spread <= 0.0 {
        // A featureless ring: there is no way to tell the camera from the scene.
        return Ok(Estimate {
            center,
            radius_outer: radius,
            outer,
            inner: None,
        });
    }
    let mut inner: Option<(CircleFit, f32)> = None;
    for (r_in, m_in) in profile_peaks(&profile_in, r_start, inner_floor, 2)
        .into_iter()
        .filter(|&(r, _)| r <= MAX_INNER_FRACTION * radius)
    {
        let i = (r_in - r_start).round() as usize;
        let inside_end = i.saturating_sub(2).max(1);
        let inside: Vec<f64> = (spread.get(inside_end.saturating_sub(band)..inside_end))
            .unwrap_or_default()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let outside_band = (i + 2).min(spread.len())..(i + 2 + band).min(spread.len());
        let outside: Vec<f64> = (spread.get(outside_band))
            .unwrap_or_default()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        if outside.is_empty() {
            continue;
        }
        let a_in = quantile(inside, 0.5);
        let a_out = quantile(outside, 0.5);
        let contrast = a_out / (a_in + 0.02 * scene_spread + 0.3);
        // Plain inside, busy outside: edges inside the camera's reflection score below 1
        // (rarely up to 1.8), the scene around it 2 (plain ground in a dark scene) or more.
        if contrast < 2.0 {
            continue;
        }
        let rays = rays_near(img, center, WORK_ANGLES, r_in, 3.0, 1.0);
        let t = (0.33 * m_in).max(2.5 * typical).max(0.3);
        let circle = CircleRays {
            rays: &rays,
            threshold: t,
            radius: r_in,
        };
        if let Some(&[f]) = fit_concentric(center, &[circle], 1.0, true).as_deref() {
            if f.support >= 0.4 {
                // The innermost such circle: further out come scene circles (a horizon
                // between plain ground and busy sky passes the test too).
                inner = Some((f, t));
                break;
            }
        }
    }
    // Both circles together pin the centre down better than the rim alone, which may be
    // mostly outside the frame.
    if let Some((mut fin, t_in)) = inner {
        for half in [3.0, 2.0] {
            let rim = rays_near(img, center, WORK_ANGLES, radius, half, 1.0);
            let blind = rays_near(img, center, WORK_ANGLES, fin.radius, half, 1.0);
            let circles = [
                CircleRays {
                    rays: &rim,
                    threshold,
                    radius,
                },
                CircleRays {
                    rays: &blind,
                    threshold: t_in,
                    radius: fin.radius,
                },
            ];
            match fit_concentric(center, &circles, 1.0, false).as_deref() {
                Some(&[o, i])
                    if o.center.distance(center) < half
                        && o.support + i.support >= outer.support + fin.support - 0.05 =>
                {
                    center = o.center;
                    radius = o.radius;
                    outer = o;
                    fin = i;
                }
                _ => break,
            }
        }
        inner = Some((fin, t_in));
    }
    let inner = inner.map(|(f, _)| f);
    Ok(Estimate {
        center,
        radius_outer: radius,
        outer,
        inner,
    })
}

/// Ray edges within `±half` of `radius` around `center`, the luma smoothed along the rays
/// by `sigma`.
pub(super) fn rays_near(
    img: &impl Sampler,
    center: DVec2,
    angles: usize,
    radius: f64,
    half: f64,
    sigma: f64,
) -> Vec<Option<Ray>> {
    let polar = Polar::new(
        img,
        center,
        angles,
        radius - half,
        (2.0 * half) as usize + 1,
        sigma,
    );
    ray_edges(&polar)
}

/// Ray edges near `radius` on the full-resolution luma (about one angle per 2 px of
/// circumference), and a threshold of a third of their median strength.
pub(super) fn full_rays(
    luma: &Luma<'_>,
    center: DVec2,
    radius: f64,
    half: f64,
) -> (Vec<Option<Ray>>, f32) {
    let angles = ((std::f64::consts::TAU * radius / 2.0) as usize).clamp(90, 1440);
    let rays = rays_near(luma, center, angles, radius, half, 1.0);
    let mut strengths: Vec<f64> = rays
        .iter()
        .flatten()
        .map(|ray| f64::from(ray.strength()))
        .collect();
    let threshold = (0.33 * median(&mut strengths)).max(0.5) as f32;
    (rays, threshold)
}

/// Refits the analysis-image estimate on the full-resolution luma: rim and blind spot
/// together when both were found, the rim alone otherwise.
pub(super) fn refine_full(luma: &Luma<'_>, coarse: &Estimate, factor: usize) -> DetectedRing {
    let f = factor as f64;
    let mut center = (coarse.center + 0.5) * f - 0.5;
    let mut radius = coarse.radius_outer * f;
    let half = (1.5 * f).max(2.0);
    let tolerance = (0.5 * f).max(1.0) + 0.002 * radius;
    let mut outer = coarse.outer;
    let mut inner = coarse.inner.map(|i| (i.radius * f, i.support));
    for _ in 0..2 {
        let (rim, t_rim) = full_rays(luma, center, radius, half);
        let rim = CircleRays {
            rays: &rim,
            threshold: t_rim,
            radius,
        };
        let joint = inner.and_then(|(r_in, _)| {
            let (blind, t_in) = full_rays(luma, center, r_in, half);
            let blind = CircleRays {
                rays: &blind,
                threshold: t_in,
                radius: r_in,
            };
            fit_concentric(center, &[rim, blind], tolerance, false)
        });
        let fits = joint.or_else(|| fit_concentric(center, &[rim], tolerance, false));
        match fits.as_deref() {
            Some([o, rest @ ..])
                if o.center.distance(center) < half && o.support >= 0.5 * outer.support =>
            {
                center = o.center;
                radius = o.radius;
                outer = *o;
                if let Some(i) = rest.first() {
                    inner = Some((i.radius, i.support));
                }
            }
            _ => break,
        }
    }
    let (radius_inner, inner_support) = inner.unwrap_or((FALLBACK_INNER_FRACTION * radius, 0.0));
    DetectedRing {
        image_size: (luma.width as u32, luma.height as u32),
        center,
        radius_inner,
        radius_outer: radius,
        confidence: confidence(outer.support, inner_support),
        outer_support: outer.support,
        inner_support,
    }
}
