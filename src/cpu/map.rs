//! Output pixel → source position: the exact per-pixel mapping (the oracle) and a coarse grid
//! of exact nodes, interpolated bilinearly, whose error is measured when it is built.

use glam::{DVec2, DVec3};
use rayon::prelude::*;

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
}

impl<'a> ExactMap<'a> {
    pub fn new(calibration: &'a Calibration) -> Self {
        Self {
            model: &calibration.model,
            band: calibration.elevation_range(),
            frame: calibration.image_size,
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
    /// band or frame checks (for footprints and grid nodes).
    pub fn raw(&self, tile: &Tile, x: f64, y: f64) -> Option<(DVec2, f64)> {
        let d = tile.ray(x, y)?;
        let p = self.model.project(d)?;
        Some((p, d.z.clamp(-1.0, 1.0).asin()))
    }

    /// Whether a mapped position counts as content.
    pub fn valid(&self, p: DVec2, elevation: f64) -> bool {
        self.band.contains(elevation) && self.in_frame(p)
    }

    /// Exact source point of tile pixel `(x, y)`: `None` outside the content. The footprint
    /// is the longer of the forward differences to `(x + 1, y)` and `(x, y + 1)` (backward
    /// where the forward neighbour has no projection).
    pub fn point(&self, tile: &Tile, x: f64, y: f64) -> Option<SourcePoint> {
        let d = tile.ray(x, y)?;
        if !self.in_band(d) {
            return None;
        }
        let p = self.model.project(d)?;
        if !self.in_frame(p) {
            return None;
        }
        let step = |dx: f64, dy: f64| -> f64 {
            self.raw(tile, x + dx, y + dy)
                .or_else(|| self.raw(tile, x - dx, y - dy))
                .map_or(0.0, |(q, _)| (q - p).length())
        };
        let footprint = step(1.0, 0.0).max(step(0.0, 1.0));
        Some(SourcePoint {
            x: p.x as f32,
            y: p.y as f32,
            lod: lod_of(footprint),
        })
    }
}

/// Level of detail meaning "no minification" where no footprint could be measured.
const NO_LOD: f32 = -16.0;

/// `log2(footprint)`, at least [`NO_LOD`].
fn lod_of(footprint: f64) -> f32 {
    if footprint > 0.0 {
        (footprint.log2() as f32).max(NO_LOD)
    } else {
        NO_LOD
    }
}

/// One grid node: position, elevation and footprint (from neighbouring nodes).
#[derive(Debug, Clone, Copy)]
struct Node {
    x: f32,
    y: f32,
    elevation: f32,
    lod: f32,
}

/// Grid node spacing, output pixels, tried in this order until the measured error fits.
const STEPS: [u32; 4] = [8, 4, 2, 1];
/// Largest accepted distance between an interpolated and an exact position, pixels.
pub(crate) const GRID_TOLERANCE: f64 = 0.02;

/// Exact nodes every `step` pixels over one tile; cells with a missing node are mapped
/// exactly per pixel.
#[derive(Debug, Clone)]
pub(crate) struct TileGrid {
    pub tile: Tile,
    step: u32,
    cols: usize,
    nodes: Vec<Option<Node>>,
    /// Largest position error measured at cell centres when the grid was built.
    pub measured_error: f64,
}

impl TileGrid {
    /// Builds the coarsest grid whose error at every cell centre is within
    /// [`GRID_TOLERANCE`].
    pub fn build(map: &ExactMap<'_>, tile: Tile) -> Self {
        for &step in &STEPS {
            let grid = Self::with_step(map, tile, step);
            if step == 1 || grid.measured_error <= GRID_TOLERANCE {
                return grid;
            }
        }
        unreachable!("the last step is 1")
    }

    fn with_step(map: &ExactMap<'_>, tile: Tile, step: u32) -> Self {
        let cols = (tile.width - 1).div_ceil(step) as usize + 1;
        let rows = (tile.height - 1).div_ceil(step) as usize + 1;
        let s = f64::from(step);
        let raw: Vec<Option<(DVec2, f64)>> = (0..rows * cols)
            .into_par_iter()
            .map(|k| map.raw(&tile, (k % cols) as f64 * s, (k / cols) as f64 * s))
            .collect();
        let at = |i: isize, j: isize| -> Option<DVec2> {
            (i >= 0 && j >= 0 && (i as usize) < cols && (j as usize) < rows)
                .then(|| raw[j as usize * cols + i as usize].map(|(p, _)| p))
                .flatten()
        };
        let nodes = (0..rows * cols)
            .map(|k| {
                let (i, j) = ((k % cols) as isize, (k / cols) as isize);
                let (p, elevation) = raw[k]?;
                let diff = |di: isize, dj: isize| -> f64 {
                    at(i + di, j + dj)
                        .or_else(|| at(i - di, j - dj))
                        .map_or(0.0, |q| (q - p).length() / s)
                };
                Some(Node {
                    x: p.x as f32,
                    y: p.y as f32,
                    elevation: elevation as f32,
                    lod: lod_of(diff(1, 0).max(diff(0, 1))),
                })
            })
            .collect();
        let mut grid = Self {
            tile,
            step,
            cols,
            nodes,
            measured_error: 0.0,
        };
        if step > 1 {
            grid.measured_error = (0..(rows - 1) * (cols - 1))
                .into_par_iter()
                .filter_map(|k| {
                    let (i, j) = (k % (cols - 1), k / (cols - 1));
                    let (x, y) = ((i as f64 + 0.5) * s, (j as f64 + 0.5) * s);
                    let (exact, _) = map.raw(&tile, x, y)?;
                    let interpolated = grid.interpolate(x as f32, y as f32)?;
                    Some(
                        (exact - DVec2::new(f64::from(interpolated.x), f64::from(interpolated.y)))
                            .length(),
                    )
                })
                .reduce(|| 0.0, f64::max);
        }
        grid
    }

    /// Bilinear blend of the four nodes around tile position `(x, y)`; `None` when one is
    /// missing.
    #[inline(always)]
    fn interpolate(&self, x: f32, y: f32) -> Option<Node> {
        let s = self.step as f32;
        let (gx, gy) = ((x / s).max(0.0), (y / s).max(0.0));
        let i = (gx as usize).min(self.cols.saturating_sub(2));
        let rows = self.nodes.len() / self.cols;
        let j = (gy as usize).min(rows.saturating_sub(2));
        let (tx, ty) = (gx - i as f32, gy - j as f32);
        let node =
            |i: usize, j: usize| self.nodes[j.min(rows - 1) * self.cols + i.min(self.cols - 1)];
        let (a, b, c, d) = (
            node(i, j)?,
            node(i + 1, j)?,
            node(i, j + 1)?,
            node(i + 1, j + 1)?,
        );
        let lerp2 = |fa: f32, fb: f32, fc: f32, fd: f32| {
            let top = fa + (fb - fa) * tx;
            top + (fc + (fd - fc) * tx - top) * ty
        };
        Some(Node {
            x: lerp2(a.x, b.x, c.x, d.x),
            y: lerp2(a.y, b.y, c.y, d.y),
            elevation: lerp2(a.elevation, b.elevation, c.elevation, d.elevation),
            lod: lerp2(a.lod, b.lod, c.lod, d.lod),
        })
    }

    /// Source point of tile position `(x, y)`: interpolated where the cell is complete,
    /// exact otherwise.
    #[inline]
    pub fn point(&self, map: &ExactMap<'_>, x: f32, y: f32) -> Option<SourcePoint> {
        match self.interpolate(x, y) {
            Some(n) => {
                let p = DVec2::new(f64::from(n.x), f64::from(n.y));
                map.valid(p, f64::from(n.elevation)).then_some(SourcePoint {
                    x: n.x,
                    y: n.y,
                    lod: n.lod,
                })
            }
            None => map.point(&self.tile, f64::from(x), f64::from(y)),
        }
    }
}
