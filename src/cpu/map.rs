//! Output pixel → source position: the exact per-pixel mapping (the oracle) and a coarse grid
//! of exact nodes, interpolated bilinearly, whose error is measured when it is built.

use glam::{DVec2, DVec3};
use rayon::prelude::*;

use super::kernels::SampleRow;
use super::sample::{PlaneRef, cubic_weights};
use crate::model::{Calibration, CameraModel, ElevationBand, Tile};

/// Where an output pixel reads the frame: level-0 position and level of detail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SourcePoint {
    pub x: f32,
    pub y: f32,
    pub lod: f32,
}

/// The exact mapping of one calibration (already scaled to the frame) and one frame size.
#[derive(Debug, Clone)]
pub(crate) struct ExactMap<'a> {
    pub model: &'a CameraModel,
    pub band: ElevationBand,
    pub frame: (u32, u32),
    /// `[x_min, x_max, y_min, y_max, e_min, e_max]` (f32): interpolated points strictly
    /// inside are content without further checks (margins included).
    pub safe_bounds: [f32; 6],
}

impl<'a> ExactMap<'a> {
    pub fn new(calibration: &'a Calibration) -> Self {
        let band = calibration.elevation_range();
        let (w, h) = (
            f64::from(calibration.image_size.0),
            f64::from(calibration.image_size.1),
        );
        let m = 2.0 * GRID_TOLERANCE;
        let safe_bounds = [
            -0.5 + m,
            w - 0.5 - m,
            -0.5 + m,
            h - 0.5 - m,
            band.min + ELEVATION_MARGIN,
            band.max - ELEVATION_MARGIN,
        ]
        .map(|v| v as f32);
        Self {
            model: &calibration.model,
            band,
            frame: calibration.image_size,
            safe_bounds,
        }
    }

    fn in_frame(&self, p: DVec2) -> bool {
        let (w, h) = (f64::from(self.frame.0), f64::from(self.frame.1));
        p.x >= -0.5 && p.y >= -0.5 && p.x <= w - 0.5 && p.y <= h - 0.5
    }

    fn in_band(&self, d: DVec3) -> bool {
        self.band.contains(d.z.clamp(-1.0, 1.0).asin())
    }

    /// Source position of tile pixel `(x, y)` and the direction's elevation, without the
    /// band or frame checks and with a ring's profile extended (for footprints and grid
    /// nodes).
    pub fn raw(&self, tile: &Tile, x: f64, y: f64) -> Option<(DVec2, f64)> {
        let d = tile.ray(x, y)?;
        let p = self.model.project_extended(d)?;
        Some((p, d.z.clamp(-1.0, 1.0).asin()))
    }

    /// Whether a mapped position counts as content.
    pub fn valid(&self, p: DVec2, elevation: f64) -> bool {
        self.band.contains(elevation) && self.in_frame(p)
    }

    /// Whether an approximate position (within `margin` px, elevation within
    /// `elevation_margin` rad) is too close to the edge of the content to decide validity.
    pub fn near_boundary(
        &self,
        p: DVec2,
        elevation: f64,
        margin: f64,
        elevation_margin: f64,
    ) -> bool {
        let (w, h) = (f64::from(self.frame.0), f64::from(self.frame.1));
        let near = |v: f64, lo: f64, hi: f64, m: f64| (v - lo).abs() < m || (v - hi).abs() < m;
        near(p.x, -0.5, w - 0.5, margin)
            || near(p.y, -0.5, h - 0.5, margin)
            || near(elevation, self.band.min, self.band.max, elevation_margin)
    }

    /// Exact source point of tile pixel `(x, y)`: `None` outside the content; lod as
    /// [`ExactMap::lod`].
    pub fn point(&self, tile: &Tile, x: f64, y: f64) -> Option<SourcePoint> {
        let d = tile.ray(x, y)?;
        if !self.in_band(d) {
            return None;
        }
        let p = self.model.project(d)?;
        if !self.in_frame(p) {
            return None;
        }
        Some(SourcePoint {
            x: p.x as f32,
            y: p.y as f32,
            lod: self.lod(tile, x, y, p),
        })
    }

    /// Level of detail at tile pixel `(x, y)` that maps to `p`: log2 of the longer of the
    /// forward differences to `(x + 1, y)` and `(x, y + 1)` (backward where the forward
    /// neighbour has no projection), a ring's profile extended past its edges.
    pub fn lod(&self, tile: &Tile, x: f64, y: f64, p: DVec2) -> f32 {
        let project = |x: f64, y: f64| self.raw(tile, x, y).map(|(q, _)| q);
        let step = |dx: f64, dy: f64| -> f64 {
            project(x + dx, y + dy)
                .or_else(|| project(x - dx, y - dy))
                .map_or(0.0, |q| (q - p).length())
        };
        lod_of(step(1.0, 0.0).max(step(0.0, 1.0)))
    }
}

/// Level of detail meaning "no minification" where no footprint could be measured.
pub(crate) const NO_LOD: f32 = -16.0;

/// `log2(footprint)`, at least [`NO_LOD`].
fn lod_of(footprint: f64) -> f32 {
    if footprint > 0.0 {
        (footprint.log2() as f32).max(NO_LOD)
    } else {
        NO_LOD
    }
}

/// One grid node: `[x, y, elevation, lod]`; NaN where the mapping has no value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node([f32; 4]);

impl Node {
    const MISSING: Node = Node([f32::NAN; 4]);

    /// `Σ w_k n_k` (NaN if any node is missing).
    #[inline(always)]
    #[expect(
        clippy::indexing_slicing,
        reason = "k < 4, the length of every array here"
    )]
    fn blend(nodes: [Node; 4], w: [f32; 4]) -> Node {
        let (a, b, c, d) = (nodes[0].0, nodes[1].0, nodes[2].0, nodes[3].0);
        let mut out = [0f32; 4];
        for k in 0..4 {
            out[k] = a[k] * w[0] + b[k] * w[1] + c[k] * w[2] + d[k] * w[3];
        }
        Node(out)
    }
}

/// Grid node spacing, output pixels, tried in this order until the measured error fits.
const STEPS: [u32; 4] = [8, 4, 2, 1];
/// Largest accepted distance between an interpolated and an exact position, pixels.
pub(crate) const GRID_TOLERANCE: f64 = 0.005;
/// Interpolated elevations this close to the band's edges (radians; f32 nodes hold about
/// 1e-7) are re-mapped exactly to decide whether they are content.
const ELEVATION_MARGIN: f64 = 1e-4;

/// Exact nodes every `step` pixels over one tile, one ring of nodes beyond its edges,
/// interpolated with Catmull-Rom weights ([`cubic_weights`], as the bicubic sampler; exact at nodes, third-order accurate between);
/// where one of the 4×4 nodes around a position is missing, that position is mapped exactly.
#[derive(Debug, Clone)]
pub(crate) struct TileGrid {
    pub tile: Tile,
    step: u32,
    /// Nodes per row, the outer ring included.
    cols: usize,
    rows: usize,
    nodes: Vec<Node>,
    /// Largest position error measured at cell centres when the grid was built.
    pub measured_error: f64,
}

impl TileGrid {
    /// The largest level of detail of any node (missing nodes aside).
    pub fn max_lod(&self) -> f32 {
        self.nodes
            .iter()
            .map(|n| n.0[3])
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// This grid moved to `tile`, the same tile turned about the vertical: every position
    /// turned by `angle` about `centre` (see `separable::yaw_turn`), elevations, lods and
    /// missing nodes kept, as they do not depend on the heading. Exact up to f32 rounding.
    pub fn turned(&self, tile: Tile, centre: DVec2, angle: f64) -> Self {
        let (sin, cos) = angle.sin_cos();
        let nodes = self
            .nodes
            .iter()
            .map(|&Node([x, y, elevation, lod])| {
                let d = DVec2::new(f64::from(x), f64::from(y)) - centre;
                let p = centre + DVec2::new(cos * d.x - sin * d.y, sin * d.x + cos * d.y);
                Node([p.x as f32, p.y as f32, elevation, lod])
            })
            .collect();
        Self {
            tile,
            nodes,
            ..*self
        }
    }

    /// Builds the coarsest grid whose error at every cell centre is within
    /// [`GRID_TOLERANCE`]. Nodes carry the exact lod when `with_lod` (anti-aliasing on).
    pub fn build(map: &ExactMap<'_>, tile: Tile, with_lod: bool) -> Self {
        for &step in &STEPS {
            let grid = Self::with_step(map, tile, step, with_lod);
            if step == 1 || grid.measured_error <= GRID_TOLERANCE {
                return grid;
            }
        }
        unreachable!("the last step is 1")
    }

    fn with_step(map: &ExactMap<'_>, tile: Tile, step: u32, with_lod: bool) -> Self {
        // Node (i, j) sits at tile position ((i − 1)·step, (j − 1)·step); at least one cell
        // each way, so a tile one pixel wide or tall still has the 4 nodes a cubic reads.
        let cols = (tile.width - 1).div_ceil(step).max(1) as usize + 3;
        let rows = (tile.height - 1).div_ceil(step).max(1) as usize + 3;
        let s = f64::from(step);
        let position = |i: usize, j: usize| ((i as f64 - 1.0) * s, (j as f64 - 1.0) * s);
        let nodes = (0..rows * cols)
            .into_par_iter()
            .map(|k| {
                let (x, y) = position(k % cols, k / cols);
                map.raw(&tile, x, y)
                    .map_or(Node::MISSING, |(p, elevation)| {
                        let lod = if with_lod {
                            map.lod(&tile, x, y, p)
                        } else {
                            NO_LOD
                        };
                        Node([p.x as f32, p.y as f32, elevation as f32, lod])
                    })
            })
            .collect();
        let mut grid = Self {
            tile,
            step,
            cols,
            rows,
            nodes,
            measured_error: 0.0,
        };
        if step > 1 {
            grid.measured_error = (0..rows - 3)
                .into_par_iter()
                .map(|j| {
                    let y = (j as f64 + 0.5) * s;
                    let mut nodes = Vec::new();
                    let row = grid.row_into(y as f32, &mut nodes);
                    (0..cols - 3)
                        .filter_map(|i| {
                            let x = (i as f64 + 0.5) * s;
                            let (exact, _) = map.raw(&tile, x, y)?;
                            let [nx, ny, ..] = row.interpolate(x as f32)?.0;
                            Some((exact - DVec2::new(f64::from(nx), f64::from(ny))).length())
                        })
                        .fold(0.0, f64::max)
                })
                .reduce(|| 0.0, f64::max);
        }
        grid
    }

    /// The grid interpolated to tile row `y` (continuous): one blended node per grid column,
    /// written into `nodes` (reused between rows).
    pub fn row_into<'a>(&'a self, y: f32, nodes: &'a mut Vec<Node>) -> GridRow<'a> {
        let s = self.step as f32;
        let gy = (y / s).max(0.0);
        let j = (gy as usize).min(self.rows - 4);
        let w = cubic_weights(gy - j as f32);
        // Node rows j..j + 4 (j ≤ rows − 4); without them the row's nodes are missing:
        // every point is mapped exactly. Either way there is one node per grid column.
        let mut rows = self.nodes.chunks_exact(self.cols.max(1)).skip(j);
        nodes.clear();
        if let (Some(r0), Some(r1), Some(r2), Some(r3)) =
            (rows.next(), rows.next(), rows.next(), rows.next())
        {
            nodes.extend(
                r0.iter()
                    .zip(r1)
                    .zip(r2)
                    .zip(r3)
                    .map(|(((a, b), c), d)| Node::blend([*a, *b, *c, *d], w)),
            );
        } else {
            nodes.resize(self.cols, Node::MISSING);
        }
        GridRow { grid: self, nodes }
    }
}

/// Source points of a run of output pixels (structure of arrays), reused between rows.
#[derive(Debug, Default)]
pub(crate) struct RowPoints {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub lod: Vec<f32>,
    pub valid: Vec<bool>,
    /// Scratch for the grid blended along the row.
    pub nodes: Vec<Node>,
    /// Scratch for the grid's interpolated elevations.
    elevation: Vec<f32>,
}

impl RowPoints {
    /// The kernels' view of these points over `plane`.
    pub fn sample_row<'a>(&'a self, plane: PlaneRef<'a>) -> SampleRow<'a> {
        SampleRow {
            plane,
            xs: &self.x,
            ys: &self.y,
            valid: &self.valid,
        }
    }

    /// Makes room for `n` points, all invalid. Only `valid` is cleared: the positions of
    /// an invalid point are never read.
    pub fn reset(&mut self, n: usize) {
        self.x.resize(n, 0.0);
        self.y.resize(n, 0.0);
        self.lod.resize(n, 0.0);
        self.elevation.resize(n, 0.0);
        self.valid.clear();
        self.valid.resize(n, false);
    }

    /// Point `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<SourcePoint> {
        if self.valid.get(i) != Some(&true) {
            return None;
        }
        Some(SourcePoint {
            x: *self.x.get(i)?,
            y: *self.y.get(i)?,
            lod: *self.lod.get(i)?,
        })
    }

    /// Stores point `i`.
    #[inline(always)]
    pub fn set(&mut self, i: usize, p: Option<SourcePoint>) {
        let Some(p) = p else { return };
        let columns = (
            self.x.get_mut(i),
            self.y.get_mut(i),
            self.lod.get_mut(i),
            self.valid.get_mut(i),
        );
        if let (Some(x), Some(y), Some(lod), Some(valid)) = columns {
            (*x, *y, *lod, *valid) = (p.x, p.y, p.lod, true);
        }
    }
}

/// Output pixels `columns` of one row of a tile: pixel `i` at tile position `(x_of(i), y)`,
/// `x_of` affine and increasing.
pub(crate) struct TileSpan<F> {
    pub columns: std::ops::Range<usize>,
    pub x_of: F,
    pub y: f32,
}

/// Positions `x_of(i)` of a range of pixels on the half-pixel lattice, evenly spaced:
/// `2·x_of(range.start + m) = first + delta·m` (whole numbers), as output pixels and chroma
/// pixels are (`x_of` affine).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HalfPixelRun {
    pub first: usize,
    pub delta: usize,
}

impl HalfPixelRun {
    /// The run of `range` under `x_of` (affine and increasing), `None` where its positions
    /// are not half pixels (or negative, or far enough to be inexact in f32), or the range is
    /// empty.
    pub fn of(range: std::ops::Range<usize>, x_of: impl Fn(usize) -> f32) -> Option<Self> {
        if range.is_empty() {
            return None;
        }
        let (first, n) = (2.0 * x_of(range.start), range.len());
        let end = 2.0 * x_of(range.end - 1);
        let delta = if n > 1 {
            (end - first) / (n - 1) as f32
        } else {
            1.0
        };
        let whole = |v: f32| (0.0..16_777_216.0).contains(&v) && v.fract() == 0.0;
        (whole(first) && whole(end) && whole(delta) && delta >= 1.0).then_some(Self {
            first: first as usize,
            delta: delta as usize,
        })
    }
}

/// One output row's worth of a [`TileGrid`].
#[derive(Debug)]
pub(crate) struct GridRow<'a> {
    grid: &'a TileGrid,
    nodes: &'a [Node],
}

impl GridRow<'_> {
    #[inline(always)]
    #[expect(
        clippy::indexing_slicing,
        reason = "i + 3 < cols = nodes.len(): i is clamped to cols − 4, and \
                  TileGrid::row_into leaves one node per grid column"
    )]
    fn interpolate(&self, x: f32) -> Option<Node> {
        let s = self.grid.step as f32;
        let gx = (x / s).max(0.0);
        let i = (gx as usize).min(self.grid.cols - 4);
        let w = cubic_weights(gx - i as f32);
        let n = Node::blend(
            [
                self.nodes[i],
                self.nodes[i + 1],
                self.nodes[i + 2],
                self.nodes[i + 3],
            ],
            w,
        );
        (!n.0[0].is_nan()).then_some(n)
    }

    /// Fills the points of `span` (`y` being this row's) into `out`: the interpolation of
    /// [`GridRow::point`] with its common case, a point well inside the content, in bulk.
    #[inline]
    #[expect(
        clippy::indexing_slicing,
        reason = "i < range.end ≤ out's length: Mapper::fill_row resets every column of \
                  `out` to the row's n pixels and fills sub-ranges of 0..n"
    )]
    pub fn fill(
        &self,
        map: &ExactMap<'_>,
        span: TileSpan<impl Fn(usize) -> f32>,
        snap_safe: bool,
        out: &mut RowPoints,
    ) {
        let TileSpan {
            columns: range,
            x_of,
            y,
        } = span;
        if snap_safe || range.is_empty() {
            for i in range {
                out.set(i, self.point(map, x_of(i), y, snap_safe));
            }
            return;
        }
        let done = match HalfPixelRun::of(range.clone(), &x_of) {
            Some(run) => self.interpolate_run(range.clone(), run, out),
            None => range.start,
        };
        for i in done..range.end {
            let Node([nx, ny, e, lod]) = self.blend_at(x_of(i));
            (out.x[i], out.y[i], out.elevation[i], out.lod[i]) = (nx, ny, e, lod);
        }
        // Points well inside the content are taken as they are; the others (near an edge,
        // or next to a missing node: NaN) are decided by `point`.
        let b = map.safe_bounds;
        for i in range.clone() {
            let (nx, ny, e) = (out.x[i], out.y[i], out.elevation[i]);
            out.valid[i] = nx > b[0] && nx < b[1] && ny > b[2] && ny < b[3] && e > b[4] && e < b[5];
        }
        for i in range {
            if !out.valid[i] {
                out.set(i, self.point(map, x_of(i), y, false));
            }
        }
    }

    /// The blend of the four nodes around tile position `x` (NaN next to a missing node).
    #[inline(always)]
    #[expect(
        clippy::indexing_slicing,
        reason = "i + 3 < cols = nodes.len(): i is clamped to cols − 4, and \
                  TileGrid::row_into leaves one node per grid column"
    )]
    fn blend_at(&self, x: f32) -> Node {
        let gx = (x / self.grid.step as f32).max(0.0);
        let i = (gx as usize).min(self.grid.cols - 4);
        let w = cubic_weights(gx - i as f32);
        Node::blend(
            [
                self.nodes[i],
                self.nodes[i + 1],
                self.nodes[i + 2],
                self.nodes[i + 3],
            ],
            w,
        )
    }

    /// [`GridRow::blend_at`] of the pixels of `run` into `out`'s raw positions, a segment
    /// at a time: the positions are on the half-pixel lattice, so each one's fraction of its
    /// segment is exact in f32 (`step` a power of two) and the values are the blend's, bit
    /// for bit, with the work of a short filter (it vectorises across a segment's pixels).
    /// Returns where it stopped: the first pixel past the grid's last segment (the
    /// per-pixel blend takes those).
    #[expect(
        clippy::indexing_slicing,
        reason = "k, m, component < 4; j < per_segment ≤ span ≤ MOST and j + n ≤ \
                  per_segment; c ≤ last, so c + 4 ≤ cols = nodes.len() (one node per grid \
                  column, see row_into); i + n ≤ range.end ≤ out's length (Mapper::fill_row \
                  resets every column of `out` to the row's n pixels, ranges within 0..n)"
    )]
    fn interpolate_run(
        &self,
        range: std::ops::Range<usize>,
        run: HalfPixelRun,
        out: &mut RowPoints,
    ) -> usize {
        // Half pixels per segment: a power of two, at most 16 (a step of 8).
        const MOST: usize = 2 * STEPS[0] as usize;
        let span = 2 * self.grid.step as usize;
        let last = self.grid.cols - 4;
        let delta = run.delta;
        if !delta.is_power_of_two() || delta > span {
            return range.start;
        }
        // Every pixel's phase (half pixels into its segment) is `residue + delta·j`: the
        // table holds node k's weight at each j.
        let residue = run.first % delta;
        let phases: [[f32; 4]; MOST] = std::array::from_fn(|j| {
            cubic_weights((residue + delta * j).min(span) as f32 / span as f32)
        });
        let table: [[f32; MOST]; 4] = std::array::from_fn(|k| phases.map(|w| w[k]));
        let (shift, per_segment) = (span.trailing_zeros(), span / delta);
        let mut i = range.start;
        while i < range.end {
            let h = run.first + delta * (i - range.start);
            let (c, j) = (h >> shift, (h & (span - 1)) / delta);
            if c > last {
                break;
            }
            let n = (per_segment - j).min(range.end - i);
            let weights = table.each_ref().map(|w| &w[j..j + n]);
            let nodes = &self.nodes[c..c + 4];
            let outputs = [
                &mut out.x[i..i + n],
                &mut out.y[i..i + n],
                &mut out.elevation[i..i + n],
                &mut out.lod[i..i + n],
            ];
            for (component, values) in outputs.into_iter().enumerate() {
                let [a, b, cc, d] = [0, 1, 2, 3].map(|m| nodes[m].0[component]);
                let taps = weights[0]
                    .iter()
                    .zip(weights[1])
                    .zip(weights[2])
                    .zip(weights[3]);
                for (v, (((w0, w1), w2), w3)) in values.iter_mut().zip(taps) {
                    *v = a * w0 + b * w1 + cc * w2 + d * w3;
                }
            }
            i += n;
        }
        i
    }

    /// Source point of tile position `(x, y)` (`y` being this row's): interpolated where the
    /// 4×4 nodes are all there, exact otherwise. Points near the edge of the content are
    /// mapped exactly, so validity is decided as the exact mapping decides it; with
    /// `snap_safe` (nearest sampling) so are points near a rounding boundary, so the nearest
    /// pixel is the one the exact mapping picks.
    #[inline]
    pub fn point(
        &self,
        map: &ExactMap<'_>,
        x: f32,
        y: f32,
        snap_safe: bool,
    ) -> Option<SourcePoint> {
        let near_edge = |v: f32| {
            let f = (v + 0.5).fract();
            let margin = 2.0 * GRID_TOLERANCE as f32;
            f < margin || f > 1.0 - margin
        };
        match self.interpolate(x) {
            Some(Node([nx, ny, ..])) if snap_safe && (near_edge(nx) || near_edge(ny)) => {
                map.point(&self.grid.tile, f64::from(x), f64::from(y))
            }
            Some(Node([nx, ny, elevation, lod])) => {
                let b = &map.safe_bounds;
                if nx > b[0]
                    && nx < b[1]
                    && ny > b[2]
                    && ny < b[3]
                    && elevation > b[4]
                    && elevation < b[5]
                {
                    return Some(SourcePoint { x: nx, y: ny, lod });
                }
                let p = DVec2::new(f64::from(nx), f64::from(ny));
                let elevation = f64::from(elevation);
                if map.near_boundary(p, elevation, 2.0 * GRID_TOLERANCE, ELEVATION_MARGIN) {
                    return map.point(&self.grid.tile, f64::from(x), f64::from(y));
                }
                map.valid(p, elevation)
                    .then_some(SourcePoint { x: nx, y: ny, lod })
            }
            None => map.point(&self.grid.tile, f64::from(x), f64::from(y)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Orientation, Projection, RingModel, View};

    /// A perspective view, pitched so that rows cross the edge of the content.
    fn map_and_tile() -> (Calibration, Tile) {
        let ring = RingModel::builder()
            .center(DVec2::new(719.5, 719.5))
            .radii(240.0, 705.0)
            .elevations((-55f64).to_radians(), 60f64.to_radians())
            .build()
            .unwrap();
        let calibration = Calibration::new((1440, 1440), CameraModel::Ring(ring), None).unwrap();
        let orientation = Orientation {
            pitch: 40f64.to_radians(),
            ..Orientation::default()
        };
        let projection = Projection::Perspective {
            fov: 100f64.to_radians(),
        };
        let view = View::new(projection, orientation, 301, 97).unwrap();
        (calibration, view.tiles()[0])
    }

    #[test]
    fn rows_in_bulk_are_the_per_pixel_points_bit_for_bit() {
        let (calibration, tile) = map_and_tile();
        let map = ExactMap::new(&calibration);
        let (mut row_points, mut nodes) = (RowPoints::default(), Vec::new());
        let (mut compared, mut invalid) = (0, 0);
        for step in STEPS {
            let grid = TileGrid::with_step(&map, tile, step, true);
            for y in (0..tile.height).step_by(7).map(|y| y as f32) {
                let row = grid.row_into(y, &mut nodes);
                // Whole pixels (the phase path) from mid-segment, and a non-unit spacing
                // (the per-pixel blend), over a range that starts and ends inside the row.
                let unit = |i: usize| i as f32;
                let chroma = |i: usize| (i as f32 + 0.5) * 2.0 - 0.5;
                for x_of in [&unit as &dyn Fn(usize) -> f32, &chroma] {
                    let n = tile.width as usize / 2;
                    row_points.reset(n);
                    let span = TileSpan {
                        columns: 3..n - 2,
                        x_of,
                        y,
                    };
                    row.fill(&map, span, false, &mut row_points);
                    for i in 3..n - 2 {
                        let expected = row.point(&map, x_of(i), y, false);
                        let got = row_points.get(i);
                        let bits = |p: Option<SourcePoint>| {
                            p.map(|p| [p.x.to_bits(), p.y.to_bits(), p.lod.to_bits()])
                        };
                        assert_eq!(bits(got), bits(expected), "step {step}, y {y}, pixel {i}");
                        compared += 1;
                        invalid += usize::from(got.is_none());
                    }
                }
            }
        }
        assert!(
            invalid > 0 && invalid < compared,
            "{invalid} of {compared} invalid"
        );
    }
}
