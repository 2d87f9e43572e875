//! Exact separable geometry for panoramas from radially symmetric models.
//!
//! For an equirect or cylinder tile (double-panorama strips included) looking at the horizon
//! (pitch and roll 0), every output row has one elevation and every output column one
//! heading. A radially symmetric model (a ring; Mei with `fx = fy`, no skew and no tangential
//! distortion) images heading `h` at elevation `e` at
//! `centre + R(e) · (a·sin(h − h₀), −cos(h − h₀))`: a radius per row times a unit vector per
//! column. So the source position of a pixel is two multiply-adds on two tables, exact (f64,
//! no grid, no per-pixel trigonometry), and a new yaw only rebuilds the column table.
//!
//! The tables hold half-pixel steps (tile position `k/2 − 0.5`), so the chroma lattice of an
//! even-sized I420 output (`2i + 0.5`) reads them too; other positions are mapped exactly.

use glam::DVec2;

use super::map::{ExactMap, HalfPixelRun, NO_LOD, RowPoints, SourcePoint, TileSpan};
use crate::model::{CameraModel, Tile, TileProjection, heading_elevation};

/// `R(e)` of a radially symmetric model.
#[derive(Debug, Clone, Copy)]
enum Radius<'a> {
    /// The ring's profile.
    Ring(&'a crate::model::RadialProfile),
    /// Mei: `R = f·ρ·(1 + k1 ρ² + k2 ρ⁴)`, `ρ = cos e / (sz·sin e + ξ)`, visible where
    /// `sz·sin e > z_limit`.
    Mei {
        f: f64,
        xi: f64,
        k1: f64,
        k2: f64,
        sz: f64,
        z_limit: f64,
    },
}

impl Radius<'_> {
    fn at(&self, elevation: f64) -> Option<f64> {
        match *self {
            Self::Ring(profile) => profile.radius(elevation),
            Self::Mei {
                f,
                xi,
                k1,
                k2,
                sz,
                z_limit,
            } => {
                let (se, ce) = elevation.sin_cos();
                let z = sz * se;
                if z <= z_limit {
                    return None;
                }
                let rho = ce / (z + xi);
                let r2 = rho * rho;
                Some(f * rho * (1.0 + k1 * r2 + k2 * r2 * r2))
            }
        }
    }
}

/// `centre + R(e)·(a·sin t, −cos t)`, `t = h − heading0`.
#[derive(Debug, Clone, Copy)]
struct RadialForm<'a> {
    centre: DVec2,
    heading0: f64,
    a: f64,
    radius: Radius<'a>,
}

impl<'a> RadialForm<'a> {
    /// The form of `model`, `None` where the model is not radially symmetric.
    fn of(model: &'a CameraModel) -> Option<Self> {
        match model {
            CameraModel::Ring(ring) => Some(Self {
                centre: ring.center,
                heading0: ring.heading_at_top,
                a: -ring.sign(),
                radius: Radius::Ring(&ring.profile),
            }),
            CameraModel::Mei { lens, mount }
                if lens.fx == lens.fy && lens.skew == 0.0 && lens.p1 == 0.0 && lens.p2 == 0.0 =>
            {
                let (sx, sz) = mount.signs();
                Some(Self {
                    centre: DVec2::new(lens.cx, lens.cy),
                    heading0: mount.heading_at_top,
                    a: sx,
                    radius: Radius::Mei {
                        f: lens.fx,
                        xi: lens.xi,
                        k1: lens.k1,
                        k2: lens.k2,
                        sz,
                        z_limit: lens.z_limit(),
                    },
                })
            }
            _ => None,
        }
    }
}

/// The separable tables of one tile.
#[derive(Debug, Clone)]
pub(crate) struct SeparableTile {
    pub tile: Tile,
    centre: DVec2,
    /// Largest valid position (`frame − 0.5`); the smallest is −0.5.
    frame_max: DVec2,
    /// Per half-pixel column `k` (tile x = `k/2 − 0.5`): the unit vector.
    unit: Vec<DVec2>,
    /// Per half-pixel row: `R`, NaN where the row has no content.
    radius: Vec<f64>,
    /// Per half-pixel row: the level of detail ([`ExactMap::lod`]; the same along a row).
    lod: Vec<f32>,
}

/// How a yaw change moves source positions under `model`, where it is radially symmetric:
/// every position turns about `centre` by `sense × Δyaw` (headings grow with yaw, and a
/// heading `h` lies along `(a·sin(h − h0), −cos(h − h0))` from the centre). `None` otherwise.
pub(crate) fn yaw_turn(model: &CameraModel) -> Option<(DVec2, f64)> {
    RadialForm::of(model).map(|form| (form.centre, form.a))
}

impl SeparableTile {
    /// The largest level of detail of any row (NaN rows have no content).
    pub fn max_lod(&self) -> f32 {
        self.lod.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }

    /// The tables of `tile`, `None` where the geometry is not separable (not a panorama,
    /// pitch or roll not 0, or a model that is not radially symmetric). Rows carry the
    /// exact lod when `with_lod` (anti-aliasing on).
    pub fn build(map: &ExactMap<'_>, tile: Tile, with_lod: bool) -> Option<Self> {
        let span = match tile.projection {
            TileProjection::Equirect { span, .. } | TileProjection::Cylinder { span, .. } => span,
            TileProjection::Perspective { .. } | TileProjection::Stereographic { .. } => {
                return None;
            }
        };
        if tile.orientation.pitch != 0.0 || tile.orientation.roll != 0.0 {
            return None;
        }
        let form = RadialForm::of(map.model)?;
        let half = |k: usize| k as f64 / 2.0 - 0.5;
        let w = f64::from(tile.width);
        let unit = (0..=2 * tile.width as usize)
            .map(|k| {
                let heading = tile.orientation.yaw - span / 2.0 + span * (half(k) + 0.5) / w;
                let (s, c) = (heading - form.heading0).sin_cos();
                DVec2::new(form.a * s, -c)
            })
            .collect();
        let rows = 2 * tile.height as usize + 1;
        let (mut radius, mut lod) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for k in 0..rows {
            let y = half(k);
            // As `ExactMap::point` decides: the ray, the band, then the model.
            let r = tile
                .ray(0.0, y)
                .filter(|d| map.band.contains(d.z.clamp(-1.0, 1.0).asin()))
                .and_then(|d| form.radius.at(heading_elevation(d).1));
            radius.push(r.unwrap_or(f64::NAN));
            lod.push(match map.raw(&tile, 0.0, y) {
                Some((p, _)) if with_lod && r.is_some() => map.lod(&tile, 0.0, y, p),
                _ => NO_LOD,
            });
        }
        let frame_max = DVec2::new(f64::from(map.frame.0), f64::from(map.frame.1)) - 0.5;
        Some(Self {
            tile,
            centre: form.centre,
            frame_max,
            unit,
            radius,
            lod,
        })
    }

    /// The half-pixel index of tile position `v`, `None` off the half-pixel lattice or out
    /// of `0..len`.
    #[inline(always)]
    fn index(v: f32, len: usize) -> Option<usize> {
        let k = 2.0 * v + 1.0;
        let i = k as usize;
        (k >= 0.0 && i as f32 == k && i < len).then_some(i)
    }

    /// Fills the points of `span` into `out`.
    pub fn fill(
        &self,
        map: &ExactMap<'_>,
        span: TileSpan<impl Fn(usize) -> f32>,
        out: &mut RowPoints,
    ) {
        let TileSpan {
            columns: range,
            x_of,
            y,
        } = span;
        let row = Self::index(y, self.radius.len())
            .and_then(|row| self.radius.get(row).zip(self.lod.get(row)));
        let Some((&r, &lod)) = row else {
            for i in range {
                out.set(i, map.point(&self.tile, f64::from(x_of(i)), f64::from(y)));
            }
            return;
        };
        if r.is_nan() {
            return;
        }
        let (c, max) = (self.centre, self.frame_max);
        // Evenly spaced half-pixel positions (output and chroma pixels: the common case) in
        // one pass over the unit table: the same arithmetic as below, without the per-pixel
        // lookups (it vectorises). The unit table's index is `2x + 1`.
        let run = HalfPixelRun::of(range.clone(), &x_of)
            .filter(|run| run.first + 1 + run.delta * (range.len() - 1) < self.unit.len());
        if let Some(run) = run {
            // The run's end was checked just above; `range` lies within `out` (see
            // `Mapper::fill_row`), whose columns are equally long.
            let units = (self.unit.get(run.first + 1..))
                .unwrap_or_default()
                .iter()
                .step_by(run.delta);
            let columns = (
                out.x.get_mut(range.clone()),
                out.y.get_mut(range.clone()),
                out.lod.get_mut(range.clone()),
                out.valid.get_mut(range),
            );
            let (Some(xs), Some(ys), Some(lods), Some(valids)) = columns else {
                return;
            };
            let points = xs.iter_mut().zip(ys).zip(lods).zip(valids);
            for ((((x, y), l), valid), u) in points.zip(units) {
                let p = c + r * *u;
                *valid = p.x >= -0.5 && p.y >= -0.5 && p.x <= max.x && p.y <= max.y;
                (*x, *y, *l) = (p.x as f32, p.y as f32, lod);
            }
            return;
        }
        for i in range {
            let x = x_of(i);
            let Some(unit) = Self::index(x, self.unit.len()).and_then(|k| self.unit.get(k)) else {
                out.set(i, map.point(&self.tile, f64::from(x), f64::from(y)));
                continue;
            };
            let p = c + r * *unit;
            if p.x >= -0.5 && p.y >= -0.5 && p.x <= max.x && p.y <= max.y {
                out.set(
                    i,
                    Some(SourcePoint {
                        x: p.x as f32,
                        y: p.y as f32,
                        lod,
                    }),
                );
            }
        }
    }
}
