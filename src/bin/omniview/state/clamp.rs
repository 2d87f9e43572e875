//! Keeping a PTZ view inside the mirror's elevation band: the widest field of view that
//! fits, then the pitch range whose view edges stay inside (Pannellum's
//! `avoidShowingBackground`, here from the view's own rays, so the corners count too).

use omnidewarp::model::{
    ElevationBand, Orientation, Projection, ProjectionKind, View, heading_elevation,
};

/// Pitch and field of view, remembered per projection kind. Radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aim {
    /// Elevation of the view centre.
    pub pitch: f64,
    /// Horizontal field of view (PTZ, quad, stereographic).
    pub fov: f64,
}

/// Samples along each edge (and each pane edge of a quad).
const EDGE_SAMPLES: u32 = 17;

/// Bisection steps (2⁻²⁰ of the range: far below a pixel).
const STEPS: u32 = 20;

/// The lowest and highest elevation on the edges of the view (`kind` perspective or quad)
/// at `pitch` and `fov`; `None` when the view is impossible.
fn extent(
    kind: ProjectionKind,
    pitch: f64,
    fov: f64,
    width: u32,
    height: u32,
) -> Option<(f64, f64)> {
    let projection = match kind {
        ProjectionKind::Quad => Projection::Quad { fov },
        _ => Projection::Perspective { fov },
    };
    let orientation = Orientation {
        yaw: 0.0,
        pitch,
        roll: 0.0,
    };
    let view = View::new(projection, orientation, width, height).ok()?;
    let (w, h) = (f64::from(width) - 1.0, f64::from(height) - 1.0);
    let (xs, ys): (Vec<f64>, Vec<f64>) = if kind == ProjectionKind::Quad {
        let (hw, hh) = (f64::from(width / 2), f64::from(height / 2));
        (vec![0.0, hw - 1.0, hw, w], vec![0.0, hh - 1.0, hh, h])
    } else {
        (vec![0.0, w], vec![0.0, h])
    };
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut visit = |x: f64, y: f64| {
        if let Some(ray) = view.ray(x, y) {
            let (_, e) = heading_elevation(ray);
            lo = lo.min(e);
            hi = hi.max(e);
        }
    };
    for i in 0..EDGE_SAMPLES {
        let t = f64::from(i) / f64::from(EDGE_SAMPLES - 1);
        for &y in &ys {
            visit(t * w, y);
        }
        for &x in &xs {
            visit(x, t * h);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// The lowest pitch whose view stays above `band.min`, the highest whose view stays below
/// `band.max` (bisection: the edges rise with the pitch).
fn pitch_range(
    kind: ProjectionKind,
    fov: f64,
    band: ElevationBand,
    w: u32,
    h: u32,
) -> Option<(f64, f64)> {
    let limit = std::f64::consts::FRAC_PI_2;
    let search = |ok: &dyn Fn(f64) -> bool, mut bad: f64, mut good: f64| {
        if !ok(good) {
            return None;
        }
        for _ in 0..STEPS {
            let mid = 0.5 * (bad + good);
            if ok(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Some(good)
    };
    let above = |p: f64| extent(kind, p, fov, w, h).is_some_and(|(lo, _)| lo >= band.min);
    let below = |p: f64| extent(kind, p, fov, w, h).is_some_and(|(_, hi)| hi <= band.max);
    let low = search(&above, -limit, limit)?;
    let high = search(&below, limit, -limit)?;
    (low <= high).then_some((low, high))
}

/// `aim` changed as little as possible so that the view of `kind` at `width × height`
/// shows nothing outside `band`: the fov narrowed until some pitch fits, then the pitch
/// moved into the range that fits.
pub fn fit(kind: ProjectionKind, aim: Aim, band: ElevationBand, width: u32, height: u32) -> Aim {
    let mut fov = aim.fov;
    if pitch_range(kind, fov, band, width, height).is_none() {
        let (mut good, mut bad) = (1f64.to_radians(), fov);
        if pitch_range(kind, good, band, width, height).is_none() {
            return aim;
        }
        for _ in 0..STEPS {
            let mid = 0.5 * (good + bad);
            if pitch_range(kind, mid, band, width, height).is_some() {
                good = mid;
            } else {
                bad = mid;
            }
        }
        fov = good;
    }
    let Some((low, high)) = pitch_range(kind, fov, band, width, height) else {
        return aim;
    };
    Aim {
        pitch: aim.pitch.clamp(low, high),
        fov,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band() -> ElevationBand {
        ElevationBand::new(-55f64.to_radians(), 60f64.to_radians()).unwrap()
    }

    #[test]
    fn a_view_looking_up_is_pulled_down_to_the_rim() {
        let aim = Aim {
            pitch: 80f64.to_radians(),
            fov: 90f64.to_radians(),
        };
        let fitted = fit(ProjectionKind::Perspective, aim, band(), 640, 360);
        assert_eq!(fitted.fov, aim.fov);
        let (lo, hi) = extent(
            ProjectionKind::Perspective,
            fitted.pitch,
            fitted.fov,
            640,
            360,
        )
        .unwrap();
        assert!(hi <= band().max + 1e-9 && lo >= band().min, "{lo} {hi}");
        // As high as it can go: the top edge touches the rim.
        assert!((hi - band().max).abs() < 1e-4, "{hi}");
        // A view inside the band is left alone.
        let inside = Aim {
            pitch: 0.1,
            fov: 60f64.to_radians(),
        };
        assert_eq!(
            fit(ProjectionKind::Perspective, inside, band(), 640, 360),
            inside
        );
    }

    #[test]
    fn a_view_taller_than_the_band_is_narrowed() {
        let aim = Aim {
            pitch: 0.0,
            fov: 120f64.to_radians(),
        };
        // A square window: 120° vertically does not fit into 115°.
        let fitted = fit(ProjectionKind::Perspective, aim, band(), 500, 500);
        assert!(fitted.fov < aim.fov);
        let (lo, hi) = extent(
            ProjectionKind::Perspective,
            fitted.pitch,
            fitted.fov,
            500,
            500,
        )
        .unwrap();
        assert!(lo >= band().min - 1e-9 && hi <= band().max + 1e-9);
        assert!(
            hi - lo > 114f64.to_radians(),
            "narrowed too much: {}",
            (hi - lo).to_degrees()
        );
    }

    #[test]
    fn quad_panes_are_clamped_at_their_own_edges() {
        let aim = Aim {
            pitch: 60f64.to_radians(),
            fov: 90f64.to_radians(),
        };
        let fitted = fit(ProjectionKind::Quad, aim, band(), 640, 360);
        let (_, hi) = extent(ProjectionKind::Quad, fitted.pitch, fitted.fov, 640, 360).unwrap();
        assert!(hi <= band().max + 1e-9);
        assert!(fitted.pitch < aim.pitch);
    }
}
