//! The CPU backend: an exact per-pixel oracle and a fast path (exact mapping on a coarse grid,
//! interpolated, rows in parallel), both with the same samplers.
//!
//! | file | what | GPU twin |
//! |---|---|---|
//! | `dewarp.rs` | per output format: map each pixel, sample, write | `shaders/dewarp.wgsl` |
//! | `map.rs` | output pixel → source point: exact, and the coarse grid | `shaders/map.wgsl` |
//! | `kernels/` | fixed-point bilinear rows per format, scalar and AVX2, chosen at run time | `shaders/sample.wgsl` |
//! | `separable.rs` | exact per-row × per-column tables for panoramas of radial models | — |
//! | `sample.rs` | nearest / bilinear / bicubic / mip sampling of a plane | `shaders/sample.wgsl` |
//! | `render.rs` | the forward renderer (a mirror frame from a panorama) | — |

mod dewarp;
mod kernels;
pub(crate) mod map;
mod render;
pub(crate) mod sample;
mod separable;

pub use kernels::CpuLevel;
pub use render::render_mirror;

use rayon::prelude::*;

use crate::Result;
use crate::frame::{Frame, FrameMut};
use crate::model::{Calibration, Tile, View};
use crate::options::DewarpOptions;
use dewarp::{Mapper, TileMapping, run};
use map::{ExactMap, RowPoints, TileGrid};
use sample::MipChain;
use separable::SeparableTile;

/// Geometry that depends only on the frame size and the view, cached between frames.
#[derive(Debug, Clone)]
struct Geometry {
    frame: (u32, u32),
    view: View,
    /// Whether the grid carries lods.
    antialias: bool,
    /// Whether anti-aliasing changes anything: some part of the view is minified (a lod
    /// above 0). Where none is, the mip chain is not built and the fixed-point kernels run.
    minified: bool,
    calibration: Calibration,
    /// The view's tiles, and how each is mapped.
    tiles: Vec<Tile>,
    mappings: Vec<TileMapping>,
    /// The yaw the grids were built at, and those grids: a view that differs only in yaw
    /// turns them (radially symmetric models) instead of mapping its nodes again.
    built_yaw: f64,
    built: Vec<TileMapping>,
}

impl Geometry {
    /// Moves the geometry to `view`, which differs from the built one only in yaw, where the
    /// model is radially symmetric: grids turned from the built ones (never from turned
    /// ones: rounding would add up), separable tables built anew (they cost little).
    /// Returns false, changing nothing, elsewhere.
    fn turn_to(&mut self, view: View) -> bool {
        let mut same = self.view;
        same.orientation.yaw = view.orientation.yaw;
        if same != view {
            return false;
        }
        let Some((centre, sense)) = separable::yaw_turn(&self.calibration.model) else {
            return false;
        };
        let tiles = view.tiles();
        if tiles.len() != self.built.len() {
            return false;
        }
        let map = ExactMap::new(&self.calibration);
        let angle = sense * (view.orientation.yaw - self.built_yaw);
        let mappings = tiles
            .iter()
            .zip(&self.built)
            .map(|(&tile, built)| match built {
                TileMapping::Grid(grid) => {
                    Some(TileMapping::Grid(grid.turned(tile, centre, angle)))
                }
                TileMapping::Separable(_) => {
                    SeparableTile::build(&map, tile, self.antialias).map(TileMapping::Separable)
                }
            });
        let Some(mappings) = mappings.collect::<Option<Vec<_>>>() else {
            return false;
        };
        (self.view, self.tiles, self.mappings) = (view, tiles, mappings);
        true
    }
}

/// A reusable CPU dewarper: caches the calibration scaled to the frame size, the mapping grid
/// of the current view and the mip buffers, and writes into caller-owned frames.
///
/// ```
/// use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat};
/// use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
/// # fn main() -> omnidewarp::Result<()> {
/// let ring = RingModel::builder().center(glam::DVec2::new(63.5, 63.5))
///     .radii(20.0, 60.0)
///     .elevations(-0.9, 0.6)
///     .build()?;
/// let calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None)?;
/// let view = View::new(Projection::Equirect { top: 0.6, bottom: -0.9 },
///     Orientation::default(), 256, 64)?;
/// let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default())?;
/// let frame = vec![128u8; 128 * 128 * 4];
/// let mut out = vec![0u8; 256 * 64 * 4];
/// dewarper.dewarp(
///     &Frame::packed(PixelFormat::Rgba8, 128, 128, &frame)?,
///     &mut FrameMut::packed(PixelFormat::Rgba8, 256, 64, &mut out)?,
/// )?;
/// assert_eq!(out[0], 128);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CpuDewarper {
    calibration: Calibration,
    view: View,
    options: DewarpOptions,
    geometry: Option<Geometry>,
    mips: [MipChain; 3],
    level: CpuLevel,
}

impl CpuDewarper {
    /// A dewarper for frames of any size (the calibration is scaled to each frame's size);
    /// the calibration's model and the view are checked here. Its kernels run at
    /// [`CpuLevel::from_env`] (the best this CPU has unless `OMNIDEWARP_CPU_LEVEL` names one;
    /// a bad name is an error here).
    pub fn new(calibration: Calibration, view: View, options: DewarpOptions) -> Result<Self> {
        calibration.model.validate()?;
        view.validate()?;
        Ok(Self {
            calibration,
            view,
            options,
            geometry: None,
            mips: Default::default(),
            level: CpuLevel::from_env()?,
        })
    }

    /// The sampling kernels' instruction-set level.
    #[must_use]
    pub fn cpu_level(&self) -> CpuLevel {
        self.level
    }

    /// Forces the kernels' level (all levels give the same bytes; tests and benchmarks run
    /// each); an error where this CPU lacks it.
    pub fn set_cpu_level(&mut self, level: CpuLevel) -> Result<()> {
        level.check()?;
        self.level = level;
        Ok(())
    }

    dewarper_settings! {
        set_view: "Changes the view (pan, zoom, projection, size); the grid is rebuilt on \
                   the next frame (a change of yaw alone turns the one it has).",
        set_options: "Changes the sampling options, from the next frame on.",
    }

    /// Dewarps `src` into `dst` (the view's size). Supported: any format into the same
    /// format, any format into RGBA8, I420/NV12 into I420.
    pub fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        let key = (src.width(), src.height());
        let stale = self.geometry.as_ref().is_none_or(|g| {
            g.frame != key || g.view != self.view || g.antialias != self.options.antialias
        });
        let turned = stale
            && self.geometry.as_mut().is_some_and(|g| {
                g.frame == key && g.antialias == self.options.antialias && g.turn_to(self.view)
            });
        if stale && !turned {
            let calibration = self.calibration.scaled_to(key.0, key.1)?;
            let map = ExactMap::new(&calibration);
            let aa = self.options.antialias;
            let tiles = self.view.tiles();
            let mappings = tiles
                .iter()
                .copied()
                .map(|tile| match SeparableTile::build(&map, tile, aa) {
                    Some(tables) => TileMapping::Separable(tables),
                    None => TileMapping::Grid(TileGrid::build(&map, tile, aa)),
                })
                .collect::<Vec<_>>();
            let minified = aa && mappings.iter().any(|m| m.max_lod() > 0.0);
            self.geometry = Some(Geometry {
                frame: key,
                view: self.view,
                antialias: self.options.antialias,
                minified,
                calibration,
                tiles,
                built_yaw: self.view.orientation.yaw,
                built: mappings.clone(),
                mappings,
            });
        }
        let Some(geometry) = self.geometry.as_ref() else {
            unreachable!("geometry was just built")
        };
        let map = ExactMap::new(&geometry.calibration);
        let mapper = Mapper {
            map: &map,
            tiles: &geometry.tiles,
            mappings: Some(&geometry.mappings),
            snap_safe: self.options.interpolation == crate::options::Interpolation::Nearest,
            kernel: Some(self.level),
        };
        let options = DewarpOptions {
            antialias: geometry.minified,
            ..self.options
        };
        run(&mapper, &self.view, &options, &mut self.mips, src, dst)
    }

    /// Largest distance, in frame pixels, between the grid-interpolated and the exact source
    /// positions measured at cell centres when the current grid was built (`None` before the
    /// first frame; 0 where every tile is mapped by exact separable tables).
    #[must_use]
    pub fn grid_error(&self) -> Option<f64> {
        self.geometry.as_ref().map(|g| {
            g.mappings
                .iter()
                .map(|m| match m {
                    TileMapping::Separable(_) => 0.0,
                    TileMapping::Grid(grid) => grid.measured_error,
                })
                .fold(0.0, f64::max)
        })
    }
}

/// The reference dewarp: every output pixel mapped exactly in f64, then sampled exactly as
/// [`CpuDewarper::dewarp`] samples. Slow; the oracle for the fast paths and the GPU.
pub fn dewarp_reference(
    calibration: &Calibration,
    view: &View,
    options: &DewarpOptions,
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
) -> Result<()> {
    with_exact_mapper(calibration, view, (src.width(), src.height()), |mapper| {
        run(mapper, view, options, &mut Default::default(), src, dst)
    })?
}

/// Runs `f` with the exact per-pixel mapping of `view` for frames of `frame_size`.
fn with_exact_mapper<T>(
    calibration: &Calibration,
    view: &View,
    frame_size: (u32, u32),
    f: impl FnOnce(&Mapper<'_>) -> T,
) -> Result<T> {
    view.validate()?;
    let calibration = calibration.scaled_to(frame_size.0, frame_size.1)?;
    let map = ExactMap::new(&calibration);
    let tiles = view.tiles();
    Ok(f(&Mapper {
        map: &map,
        tiles: &tiles,
        mappings: None,
        snap_safe: false,
        kernel: None,
    }))
}

/// Exact source position (frame pixels, pixel-centre convention) of every output pixel of
/// `view` for frames of `frame_size`, row-major; `[NaN, NaN]` where there is no content.
/// This is the table other tools (FFmpeg `remap`, OpenCV `remap`) need to reproduce a view.
pub fn source_positions(
    calibration: &Calibration,
    view: &View,
    frame_size: (u32, u32),
) -> Result<Vec<[f32; 2]>> {
    with_exact_mapper(calibration, view, frame_size, |mapper| {
        positions(mapper, view)
    })
}

/// Every output pixel's exact source position (see [`source_positions`]).
fn positions(mapper: &Mapper<'_>, view: &View) -> Vec<[f32; 2]> {
    let width = view.width as usize;
    let mut out = vec![[f32::NAN; 2]; width * view.height as usize];
    out.par_chunks_mut(width).enumerate().for_each(|(j, row)| {
        let mut points = RowPoints::default();
        mapper.fill_row(j as f32, width, |i| i as f32, &mut points);
        for (i, p) in row.iter_mut().enumerate() {
            if let Some(q) = points.get(i) {
                *p = [q.x, q.y];
            }
        }
    });
    out
}
