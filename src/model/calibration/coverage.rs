//! The last check of [`Calibration::validate`]: does the model show a usable part of its
//! elevation range inside its frame?
//!
//! Every parameter may be finite and in its domain and the calibration still describe no
//! picture: a ring centre 10⁹ px away, an outer radius of 1e308 px (the whole band squeezed
//! next to the inner edge), ξ or a distortion coefficient of 1e300. Such a calibration
//! dewarps to a black or two-colour picture, so it is refused here. The check unprojects a
//! grid of frame points and measures how much of the frame holds content (a ray inside the
//! band), how much elevation that content spans and how much of the sphere it covers.

use glam::{DVec2, DVec3};

use super::Calibration;
use crate::Result;
use crate::error::invalid;
use crate::model::{CameraModel, ElevationBand, MeiModel, RingModel};

/// Points per side of the grid of frame points the check unprojects.
const GRID: u32 = 48;
/// Least share of the frame that must hold content.
const MIN_CONTENT: f64 = 0.01;
/// Least elevation span, degrees, the content must cover (or half the band when narrower).
const MIN_SPAN_DEG: f64 = 1.0;
/// Least solid angle, square degrees, the content must cover.
const MIN_SOLID_ANGLE_DEG2: f64 = 1.0;

/// A change to a Mei lens, for [`candidates`].
type MeiEdit<'a> = &'a dyn Fn(&mut MeiModel);

/// What a grid of frame points sees.
struct Coverage {
    /// Share of the points with content.
    content: f64,
    /// Elevation between the lowest and the highest point with content, radians.
    span: f64,
    /// Solid angle of the content, steradians (each content cell's, from the rays at its
    /// neighbours): near zero when the model squeezes the frame onto a line or a point.
    solid_angle: f64,
}

fn measure(model: &CameraModel, band: ElevationBand, (width, height): (u32, u32)) -> Coverage {
    let n = GRID as usize;
    let at = |i: usize, size: u32| (i as f64 + 0.5) * f64::from(size) / GRID as f64 - 0.5;
    let rays: Vec<Option<DVec3>> = (0..n * n)
        .map(|k| model.unproject(DVec2::new(at(k % n, width), at(k / n, height))))
        .collect();
    let ray = |i: usize, j: usize| rays.get(j * n + i).copied().flatten();
    // A neighbour's ray: the next point, else the previous one.
    let beside = |i: usize, j: usize, di: usize, dj: usize| {
        ray(i + di, j + dj).or_else(|| ray(i.checked_sub(di)?, j.checked_sub(dj)?))
    };
    let (mut count, mut lo, mut hi, mut solid_angle) =
        (0u32, f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for j in 0..n {
        for i in 0..n {
            let Some(d) = ray(i, j) else { continue };
            let e = d.z.clamp(-1.0, 1.0).asin();
            if !band.contains(e) {
                continue;
            }
            count += 1;
            lo = lo.min(e);
            hi = hi.max(e);
            if let (Some(dx), Some(dy)) = (beside(i, j, 1, 0), beside(i, j, 0, 1)) {
                let cell = (dx - d).cross(dy - d).length();
                if cell.is_finite() {
                    solid_angle += cell;
                }
            }
        }
    }
    Coverage {
        content: f64::from(count) / (n * n) as f64,
        span: if count > 0 { hi - lo } else { 0.0 },
        solid_angle,
    }
}

/// What is wrong with the calibration's coverage of its frame, if anything.
fn problem(cal: &Calibration) -> Option<String> {
    let band = cal.elevation_range();
    let seen = measure(&cal.model, band, cal.image_size);
    let (w, h) = cal.image_size;
    let range = format!(
        "{:.1}°..{:.1}°",
        band.min.to_degrees(),
        band.max.to_degrees()
    );
    let need_span = MIN_SPAN_DEG.min((band.max - band.min).to_degrees() / 2.0);
    if seen.content == 0.0 {
        Some(format!(
            "no pixel of the {w}×{h} frame sees the model's elevation range {range}"
        ))
    } else if seen.content < MIN_CONTENT {
        Some(format!(
            "only {:.2} % of the {w}×{h} frame sees the model's elevation range {range} \
             (at least {} % is needed)",
            seen.content * 100.0,
            MIN_CONTENT * 100.0
        ))
    } else if seen.span.to_degrees() < need_span {
        Some(format!(
            "the {w}×{h} frame sees only {:.2e}° of the model's elevation range {range} \
             (at least {need_span}° is needed)",
            seen.span.to_degrees()
        ))
    } else if seen.solid_angle < MIN_SOLID_ANGLE_DEG2.to_radians().to_radians() {
        Some(format!(
            "the {w}×{h} frame sees only {:.2e} square degrees of the sphere: the model squeezes \
             the frame onto a line or a point (at least {MIN_SOLID_ANGLE_DEG2} square degree \
             is needed)",
            seen.solid_angle.to_degrees().to_degrees()
        ))
    } else {
        None
    }
}

/// Refuses a calibration whose frame shows no usable part of its elevation range.
pub(super) fn check(cal: &Calibration) -> Result<()> {
    match problem(cal) {
        None => Ok(()),
        Some(problem) => Err(invalid(
            culprit(cal),
            format!("{problem}; this value is the likely cause"),
        )),
    }
}

/// The parameter to blame: the first whose neutral value would make the calibration pass,
/// else the first one tried.
fn culprit(cal: &Calibration) -> &'static str {
    let candidates = candidates(cal);
    candidates
        .iter()
        .find(|(_, fixed)| problem(fixed).is_none())
        .or(candidates.first())
        .map_or("model", |(key, _)| key)
}

/// The calibration with one parameter (group) at a neutral value, each named as the models'
/// `validate()` names it.
fn candidates(cal: &Calibration) -> Vec<(&'static str, Calibration)> {
    let (w, h) = (f64::from(cal.image_size.0), f64::from(cal.image_size.1));
    let middle = DVec2::new(w / 2.0 - 0.5, h / 2.0 - 0.5);
    let side = w.min(h);
    let with = |model: CameraModel| Calibration {
        model,
        ..cal.clone()
    };
    let mut out = Vec::new();
    match &cal.model {
        CameraModel::Ring(ring) => {
            out.push((
                "center",
                with(CameraModel::Ring(RingModel {
                    center: middle,
                    ..ring.clone()
                })),
            ));
            let (r_in, r_out) = ring.profile.radius_range();
            let farthest = [
                (-0.5, -0.5),
                (w - 0.5, -0.5),
                (-0.5, h - 0.5),
                (w - 0.5, h - 0.5),
            ]
            .into_iter()
            .map(|(x, y)| ring.center.distance(DVec2::new(x, y)))
            .fold(0.0, f64::max);
            let key = if r_in >= farthest {
                "radius_inner"
            } else {
                "radius_outer"
            };
            out.push((
                key,
                with(CameraModel::Ring(RingModel {
                    center: ring.center,
                    ..ring.scaled(0.5 * side / r_out)
                })),
            ));
        }
        CameraModel::Mei { lens, mount } => {
            let quarter = side / 4.0;
            let edits: [(&'static str, MeiEdit<'_>); 13] = [
                ("xi", &|l| l.xi = 1.0),
                ("k1", &|l| l.k1 = 0.0),
                ("k2", &|l| l.k2 = 0.0),
                ("p1", &|l| l.p1 = 0.0),
                ("p2", &|l| l.p2 = 0.0),
                ("skew", &|l| l.skew = 0.0),
                ("cx", &|l| l.cx = middle.x),
                ("cy", &|l| l.cy = middle.y),
                ("cx", &|l| (l.cx, l.cy) = (middle.x, middle.y)),
                ("fx", &|l| l.fx = l.fy),
                ("fy", &|l| l.fy = l.fx),
                ("fx", &|l| (l.fx, l.fy) = (quarter, quarter)),
                ("k1", &|l| (l.k1, l.k2, l.p1, l.p2) = (0.0, 0.0, 0.0, 0.0)),
            ];
            for (key, edit) in edits {
                let mut lens = *lens;
                edit(&mut lens);
                out.push((
                    key,
                    with(CameraModel::Mei {
                        lens,
                        mount: *mount,
                    }),
                ));
            }
        }
        CameraModel::Ocam { lens, mount } => {
            let ocam = |edit: &dyn Fn(&mut crate::model::OcamModel)| {
                let mut lens = lens.clone();
                edit(&mut lens);
                with(CameraModel::Ocam {
                    lens,
                    mount: *mount,
                })
            };
            out.push(("center_row", ocam(&|l| l.center_row = middle.y)));
            out.push(("center_col", ocam(&|l| l.center_col = middle.x)));
            out.push((
                "center_row",
                ocam(&|l| (l.center_row, l.center_col) = (middle.y, middle.x)),
            ));
            out.push(("c", ocam(&|l| (l.c, l.d, l.e) = (1.0, 0.0, 0.0))));
            out.push(("polynomial", ocam(&|l| l.pol = vec![-side / 4.0, 0.0])));
        }
    }
    if cal.band.is_some() {
        out.push((
            "band",
            Calibration {
                band: None,
                ..cal.clone()
            },
        ));
    }
    out
}
