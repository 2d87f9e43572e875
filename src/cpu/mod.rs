//! The CPU backend: an exact per-pixel oracle and a fast path (exact mapping on a coarse grid,
//! interpolated, rows in parallel), both with the same samplers.

pub(crate) mod map;
mod render;
pub(crate) mod sample;

pub use render::render_mirror;

use rayon::prelude::*;

use crate::frame::{Frame, FrameMut, PixelFormat, Plane, PlaneMut};
use crate::model::{Calibration, Tile, View};
use crate::options::DewarpOptions;
use crate::{Error, Result};
use map::{ExactMap, GridRow, RowPoints, SourcePoint, TileGrid};
use sample::{MipChain, PlaneRef, WrapX, sample_lod, to_u8};

/// Geometry that depends only on the frame size and the view, cached between frames.
#[derive(Debug, Clone)]
struct Geometry {
    frame: (u32, u32),
    view: View,
    /// Whether the grid carries lods.
    antialias: bool,
    calibration: Calibration,
    grids: Vec<TileGrid>,
}

/// A reusable CPU dewarper: caches the calibration scaled to the frame size, the mapping grid
/// of the current view and the mip buffers, and writes into caller-owned frames.
///
/// ```
/// use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat};
/// use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
/// # fn main() -> omnidewarp::Result<()> {
/// let ring = RingModel::new(glam::DVec2::new(63.5, 63.5), (20.0, 60.0),
///     (-0.9, 0.6), 0.0, true)?;
/// let calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None)?;
/// let view = View::new(Projection::Equirect { top: 0.6, bottom: -0.9 },
///     Orientation::default(), 256, 64)?;
/// let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default());
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
}

impl CpuDewarper {
    /// A dewarper for frames of any size (the calibration is scaled to each frame's size).
    #[must_use]
    pub fn new(calibration: Calibration, view: View, options: DewarpOptions) -> Self {
        Self {
            calibration,
            view,
            options,
            geometry: None,
            mips: Default::default(),
        }
    }

    /// The current view.
    #[must_use]
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Changes the view (pan, zoom, projection, size); the grid is rebuilt on the next frame.
    pub fn set_view(&mut self, view: View) -> Result<()> {
        view.validate()?;
        self.view = view;
        Ok(())
    }

    /// The sampling options.
    #[must_use]
    pub fn options(&self) -> &DewarpOptions {
        &self.options
    }

    /// Changes the sampling options.
    pub fn set_options(&mut self, options: DewarpOptions) {
        self.options = options;
    }

    /// The calibration, at the size it was made.
    #[must_use]
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Dewarps `src` into `dst` (the view's size). Supported: any format into the same
    /// format, any format into RGBA8, I420/NV12 into I420.
    pub fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        let key = (src.width(), src.height());
        let stale = self.geometry.as_ref().is_none_or(|g| {
            g.frame != key || g.view != self.view || g.antialias != self.options.antialias
        });
        if stale {
            let calibration = self.calibration.scaled_to(key.0, key.1)?;
            let map = ExactMap::new(&calibration);
            let grids = self
                .view
                .tiles()
                .into_iter()
                .map(|tile| TileGrid::build(&map, tile, self.options.antialias))
                .collect();
            self.geometry = Some(Geometry {
                frame: key,
                view: self.view,
                antialias: self.options.antialias,
                calibration,
                grids,
            });
        }
        let Some(geometry) = self.geometry.as_ref() else {
            unreachable!("geometry was just built")
        };
        let map = ExactMap::new(&geometry.calibration);
        let tiles: Vec<Tile> = geometry.grids.iter().map(|g| g.tile).collect();
        let mapper = Mapper {
            map: &map,
            tiles: &tiles,
            grids: Some(&geometry.grids),
            snap_safe: self.options.interpolation == crate::options::Interpolation::Nearest,
        };
        run(&mapper, &self.view, &self.options, &mut self.mips, src, dst)
    }

    /// Largest distance, in frame pixels, between the grid-interpolated and the exact source
    /// positions measured at cell centres when the current grid was built (`None` before the
    /// first frame).
    #[must_use]
    pub fn grid_error(&self) -> Option<f64> {
        self.geometry
            .as_ref()
            .map(|g| g.grids.iter().map(|t| t.measured_error).fold(0.0, f64::max))
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
        grids: None,
        snap_safe: false,
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
        mapper.row(j as f32).fill(width, |i| i as f32, &mut points);
        for (i, p) in row.iter_mut().enumerate() {
            if let Some(q) = points.get(i) {
                *p = [q.x, q.y];
            }
        }
    });
    out
}

/// Finds the source points of output positions, by grid or exactly.
struct Mapper<'a> {
    map: &'a ExactMap<'a>,
    tiles: &'a [Tile],
    grids: Option<&'a [TileGrid]>,
    /// Map exactly where a grid point lies near a nearest-pixel rounding boundary.
    snap_safe: bool,
}

impl Mapper<'_> {
    /// The mapping along output row `y` (output luma pixels, continuous).
    fn row(&self, y: f32) -> RowMapper<'_> {
        let py = sample::floor_i32(y + 0.5) as f32;
        let spans = self
            .tiles
            .iter()
            .enumerate()
            .filter(|(_, t)| py >= t.y0 as f32 && py < (t.y0 + t.height) as f32)
            .map(|(k, tile)| {
                let ly = y - tile.y0 as f32;
                Span {
                    tile,
                    ly,
                    grid: self.grids.map(|grids| grids[k].row(ly)),
                }
            })
            .collect();
        RowMapper {
            map: self.map,
            spans,
            snap_safe: self.snap_safe,
        }
    }
}

/// The part of an output row inside one tile.
struct Span<'a> {
    tile: &'a Tile,
    /// The row's tile-local y.
    ly: f32,
    /// The grid along the row, or `None` for exact mapping.
    grid: Option<GridRow<'a>>,
}

/// Source points along one output row.
struct RowMapper<'a> {
    map: &'a ExactMap<'a>,
    spans: Vec<Span<'a>>,
    snap_safe: bool,
}

impl RowMapper<'_> {
    /// Source points of output positions `x_of(0..n)` (increasing) on this row, into `out`.
    fn fill(&self, n: usize, x_of: impl Fn(usize) -> f32 + Copy, out: &mut RowPoints) {
        out.reset(n);
        let mut start = 0;
        for span in &self.spans {
            let end_x = (span.tile.x0 + span.tile.width) as f32;
            let x0 = span.tile.x0 as f32;
            // Skip pixels left of this tile (they belong to no tile), then take those in it;
            // pixel columns grow with i, so both ends are found by bisection.
            let column = |i: usize| sample::floor_i32(x_of(i) + 0.5) as f32;
            start = first_failing(start..n, |i| column(i) <= x0 - 1.0);
            let end = first_failing(start..n, |i| column(i) < end_x);
            let local = |i: usize| x_of(i) - x0;
            match &span.grid {
                Some(grid) => grid.fill(self.map, start..end, local, span.ly, self.snap_safe, out),
                None => {
                    for i in start..end {
                        out.set(
                            i,
                            self.map
                                .point(span.tile, f64::from(local(i)), f64::from(span.ly)),
                        );
                    }
                }
            }
            start = end;
        }
    }
}

/// The first index of `range` where `holds` is false, for a `holds` true on a prefix of it.
fn first_failing(range: std::ops::Range<usize>, holds: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (range.start, range.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Source plane `index` as a sampler view.
fn plane_ref<'a>(frame: &Frame<'a>, index: usize) -> PlaneRef<'a> {
    let (w, h, _) = frame
        .format()
        .plane_shape(index, frame.width(), frame.height());
    let Plane { data, stride } = frame.plane(index);
    PlaneRef {
        data,
        stride,
        width: w,
        height: h,
    }
}

/// How output plane pixels relate to output luma positions and source plane positions.
#[derive(Debug, Clone, Copy)]
struct PlaneGeometry {
    /// Output luma pixels per output plane pixel.
    out_scale: (f32, f32),
    /// Source plane pixels per source luma pixel.
    src_scale: (f32, f32),
    /// Added to the lod: log2 of the footprint scale from luma to plane pixels.
    lod_bias: f32,
}

impl PlaneGeometry {
    fn new(dst: (u32, u32), dst_plane: (u32, u32), src: (u32, u32), src_plane: (u32, u32)) -> Self {
        let out_scale = (
            dst.0 as f32 / dst_plane.0 as f32,
            dst.1 as f32 / dst_plane.1 as f32,
        );
        let src_scale = (
            src_plane.0 as f32 / src.0 as f32,
            src_plane.1 as f32 / src.1 as f32,
        );
        let footprint = (out_scale.0 * src_scale.0).max(out_scale.1 * src_scale.1);
        Self {
            out_scale,
            src_scale,
            lod_bias: footprint.log2(),
        }
    }

    /// Output luma position of output plane pixel `(i, j)`.
    #[inline(always)]
    fn luma(&self, i: usize, j: usize) -> (f32, f32) {
        (
            (i as f32 + 0.5) * self.out_scale.0 - 0.5,
            (j as f32 + 0.5) * self.out_scale.1 - 0.5,
        )
    }

    /// Source plane position and lod of a source point.
    #[inline(always)]
    fn source(&self, p: SourcePoint) -> (f32, f32, f32) {
        (
            (p.x + 0.5) * self.src_scale.0 - 0.5,
            (p.y + 0.5) * self.src_scale.1 - 0.5,
            p.lod + self.lod_bias,
        )
    }
}

/// Runs `f(row index, row bytes)` over the first `height` rows of `plane`, in parallel.
fn for_each_row(
    plane: &mut PlaneMut<'_>,
    row_bytes: usize,
    height: u32,
    f: impl Fn(usize, &mut [u8], &mut RowPoints) + Sync,
) {
    let stride = plane.stride;
    plane
        .data
        .par_chunks_mut(stride)
        .take(height as usize)
        .enumerate()
        .for_each_init(RowPoints::default, |points, (j, row)| {
            f(j, &mut row[..row_bytes], points)
        });
}

fn run(
    mapper: &Mapper<'_>,
    view: &View,
    options: &DewarpOptions,
    mips: &mut [MipChain; 3],
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
) -> Result<()> {
    if (dst.width(), dst.height()) != (view.width, view.height) {
        return Err(Error::OutputLayout(format!(
            "output is {}×{}, the view is {}×{}",
            dst.width(),
            dst.height(),
            view.width,
            view.height
        )));
    }
    let (sf, df) = (src.format(), dst.format());
    let supported =
        sf == df || df == PixelFormat::Rgba8 || (sf.is_yuv() && df == PixelFormat::I420);
    if !supported {
        return Err(Error::OutputLayout(format!(
            "cannot dewarp {sf:?} into {df:?}"
        )));
    }
    if options.antialias {
        for (k, chain) in mips.iter_mut().enumerate().take(sf.plane_count()) {
            let (_, _, c) = sf.plane_shape(k, src.width(), src.height());
            chain.rebuild(plane_ref(src, k), c);
        }
    }
    let mips: &[MipChain; 3] = mips;
    let mip = |k: usize| options.antialias.then(|| &mips[k]);
    let ctx = Context {
        mapper,
        options,
        src_size: (src.width(), src.height()),
        dst_size: (dst.width(), dst.height()),
    };
    match (sf, df) {
        (PixelFormat::Rgba8, _) => ctx.packed::<4>(plane_ref(src, 0), mip(0), dst),
        (PixelFormat::Rgb8, _) => ctx.packed::<3>(plane_ref(src, 0), mip(0), dst),
        (PixelFormat::Gray8, _) => ctx.packed::<1>(plane_ref(src, 0), mip(0), dst),
        (_, PixelFormat::I420) => ctx.yuv_to_i420(src, [mip(0), mip(1), mip(2)], dst),
        _ => ctx.yuv_to_rgba(src, [mip(0), mip(1), mip(2)], dst),
    }
    Ok(())
}

struct Context<'a> {
    mapper: &'a Mapper<'a>,
    options: &'a DewarpOptions,
    src_size: (u32, u32),
    dst_size: (u32, u32),
}

impl Context<'_> {
    /// A packed source with `C` channels into the same format or RGBA8.
    fn packed<const C: usize>(
        &self,
        src: PlaneRef<'_>,
        mips: Option<&MipChain>,
        dst: &mut FrameMut<'_>,
    ) {
        let to_rgba = dst.format() == PixelFormat::Rgba8;
        let d = if to_rgba { 4 } else { C };
        let fill = packed_fill(self.options.fill, d);
        let geometry =
            PlaneGeometry::new(self.dst_size, self.dst_size, self.src_size, self.src_size);
        let (w, h) = self.dst_size;
        let (interpolation, mapper) = (self.options.interpolation, self.mapper);
        for_each_row(
            &mut dst.planes_mut()[0],
            w as usize * d,
            h,
            |j, row, points| {
                mapper.row(geometry.luma(0, j).1).fill(
                    w as usize,
                    |i| geometry.luma(i, j).0,
                    points,
                );
                for (i, out) in row.chunks_exact_mut(d).enumerate() {
                    let Some(p) = points.get(i) else {
                        out.copy_from_slice(&fill[..d]);
                        continue;
                    };
                    let (sx, sy, lod) = geometry.source(p);
                    let v: [f32; C] =
                        sample_lod(src, mips, sx, sy, lod, interpolation, WrapX::Clamp);
                    match (C, to_rgba) {
                        (1, true) => {
                            let g = to_u8(v[0]);
                            out.copy_from_slice(&[g, g, g, 255]);
                        }
                        (3, true) => {
                            out[..3].iter_mut().zip(v).for_each(|(o, c)| *o = to_u8(c));
                            out[3] = 255;
                        }
                        _ => out.iter_mut().zip(v).for_each(|(o, c)| *o = to_u8(c)),
                    }
                }
            },
        );
    }

    /// I420/NV12 into I420, each plane sampled at its own resolution.
    fn yuv_to_i420(&self, src: &Frame<'_>, mips: [Option<&MipChain>; 3], dst: &mut FrameMut<'_>) {
        let color = src.color();
        let [fy, fu, fv] = color.from_rgb([
            self.options.fill[0],
            self.options.fill[1],
            self.options.fill[2],
        ]);
        let (interpolation, mapper) = (self.options.interpolation, self.mapper);
        let (w, h) = self.dst_size;
        let (sw, sh) = self.src_size;
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (scw, sch) = (sw.div_ceil(2), sh.div_ceil(2));
        let luma = plane_ref(src, 0);
        let luma_geometry =
            PlaneGeometry::new(self.dst_size, self.dst_size, self.src_size, self.src_size);
        let planes = dst.planes_mut();
        for_each_row(&mut planes[0], w as usize, h, |j, row, points| {
            mapper.row(luma_geometry.luma(0, j).1).fill(
                w as usize,
                |i| luma_geometry.luma(i, j).0,
                points,
            );
            for (i, out) in row.iter_mut().enumerate() {
                *out = match points.get(i) {
                    Some(p) => {
                        let (sx, sy, lod) = luma_geometry.source(p);
                        to_u8(
                            sample_lod::<1>(
                                luma,
                                mips[0],
                                sx,
                                sy,
                                lod,
                                interpolation,
                                WrapX::Clamp,
                            )[0],
                        )
                    }
                    None => fy,
                };
            }
        });
        let chroma_geometry =
            PlaneGeometry::new(self.dst_size, (cw, ch), self.src_size, (scw, sch));
        let sample_uv = |p: SourcePoint| -> (u8, u8) {
            let (sx, sy, lod) = chroma_geometry.source(p);
            let [u, v] = sample_chroma(src, mips, sx, sy, lod, interpolation);
            (to_u8(u), to_u8(v))
        };
        let (u_plane, v_plane) = planes[1..].split_at_mut(1);
        let (u_plane, v_plane) = (&mut u_plane[0], &mut v_plane[0]);
        let (us, vs) = (u_plane.stride, v_plane.stride);
        u_plane
            .data
            .par_chunks_mut(us)
            .zip(v_plane.data.par_chunks_mut(vs))
            .take(ch as usize)
            .enumerate()
            .for_each_init(RowPoints::default, |points, (j, (u_row, v_row))| {
                let n = cw as usize;
                mapper.row(chroma_geometry.luma(0, j).1).fill(
                    n,
                    |i| chroma_geometry.luma(i, j).0,
                    points,
                );
                for i in 0..n {
                    let (u, v) = points.get(i).map_or((fu, fv), sample_uv);
                    u_row[i] = u;
                    v_row[i] = v;
                }
            });
    }

    /// I420/NV12 into RGBA8 with the frame's YUV matrix and range.
    fn yuv_to_rgba(&self, src: &Frame<'_>, mips: [Option<&MipChain>; 3], dst: &mut FrameMut<'_>) {
        let color = src.color();
        let fill = self.options.fill;
        let (interpolation, mapper) = (self.options.interpolation, self.mapper);
        let (w, h) = self.dst_size;
        let (sw, sh) = self.src_size;
        let luma_geometry =
            PlaneGeometry::new(self.dst_size, self.dst_size, self.src_size, self.src_size);
        let chroma_geometry = PlaneGeometry::new(
            self.dst_size,
            self.dst_size,
            self.src_size,
            (sw.div_ceil(2), sh.div_ceil(2)),
        );
        let luma = plane_ref(src, 0);
        for_each_row(
            &mut dst.planes_mut()[0],
            w as usize * 4,
            h,
            |j, row, points| {
                mapper.row(luma_geometry.luma(0, j).1).fill(
                    w as usize,
                    |i| luma_geometry.luma(i, j).0,
                    points,
                );
                for (i, out) in row.chunks_exact_mut(4).enumerate() {
                    let Some(p) = points.get(i) else {
                        out.copy_from_slice(&fill);
                        continue;
                    };
                    let (sx, sy, lod) = luma_geometry.source(p);
                    let yv =
                        sample_lod::<1>(luma, mips[0], sx, sy, lod, interpolation, WrapX::Clamp)[0];
                    let (cx, cy, clod) = chroma_geometry.source(p);
                    let [u, v] = sample_chroma(src, mips, cx, cy, clod, interpolation);
                    let rgb = color.to_rgb(yv, u, v);
                    out[..3]
                        .iter_mut()
                        .zip(rgb)
                        .for_each(|(o, c)| *o = to_u8(c));
                    out[3] = 255;
                }
            },
        );
    }
}

/// U and V of an I420 or NV12 frame at chroma-plane position `(x, y)`.
#[inline(always)]
fn sample_chroma(
    src: &Frame<'_>,
    mips: [Option<&MipChain>; 3],
    x: f32,
    y: f32,
    lod: f32,
    interpolation: crate::options::Interpolation,
) -> [f32; 2] {
    if src.format() == PixelFormat::Nv12 {
        return sample_lod(
            plane_ref(src, 1),
            mips[1],
            x,
            y,
            lod,
            interpolation,
            WrapX::Clamp,
        );
    }
    let [u] = sample_lod(
        plane_ref(src, 1),
        mips[1],
        x,
        y,
        lod,
        interpolation,
        WrapX::Clamp,
    );
    let [v] = sample_lod(
        plane_ref(src, 2),
        mips[2],
        x,
        y,
        lod,
        interpolation,
        WrapX::Clamp,
    );
    [u, v]
}

/// The fill colour as `channels` bytes (grey = BT.601 luma).
fn packed_fill(fill: [u8; 4], channels: usize) -> [u8; 4] {
    match channels {
        1 => {
            let [r, g, b, _] = fill.map(f32::from);
            [to_u8(0.299 * r + 0.587 * g + 0.114 * b), 0, 0, 0]
        }
        3 => [fill[0], fill[1], fill[2], 0],
        _ => fill,
    }
}
