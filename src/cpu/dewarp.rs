//! The CPU twin of `shaders/dewarp.wgsl`: each output pixel mapped to the frame
//! ([`Mapper`], the twin of `view_point`) and sampled per output format (`run` and
//! `Context::{packed, yuv_to_i420, yuv_to_rgba}`, the twins of `fs_main`, `fs_luma` and
//! `fs_chroma`).

use rayon::prelude::*;

use super::kernels::{self, CpuLevel};
use super::map::{ExactMap, RowPoints, SourcePoint, TileGrid, TileSpan};
use super::sample::{self, MipChain, PlaneRef, WrapX, sample_lod, to_u8};
use super::separable::SeparableTile;
use crate::frame::{Frame, FrameMut, PixelFormat, Plane, PlaneMut};
use crate::model::{Tile, View};
use crate::options::{DewarpOptions, Interpolation};
use crate::{Error, Result};

/// How the fast path maps one tile.
#[derive(Debug, Clone)]
pub(super) enum TileMapping {
    /// Exact separable tables (panoramas from radially symmetric models).
    Separable(SeparableTile),
    /// The coarse grid.
    Grid(TileGrid),
}

impl TileMapping {
    /// The largest level of detail the mapping holds (−∞ where it holds none).
    pub fn max_lod(&self) -> f32 {
        match self {
            Self::Separable(tables) => tables.max_lod(),
            Self::Grid(grid) => grid.max_lod(),
        }
    }
}

/// Finds the source points of output positions, by table, grid or exactly.
pub(super) struct Mapper<'a> {
    pub map: &'a ExactMap<'a>,
    pub tiles: &'a [Tile],
    /// One per tile; `None` maps every pixel exactly (the oracle).
    pub mappings: Option<&'a [TileMapping]>,
    /// Map exactly where a grid point lies near a nearest-pixel rounding boundary.
    pub snap_safe: bool,
    /// The fixed-point kernels' level, `None` for the f32 samplers throughout (the oracle).
    pub kernel: Option<CpuLevel>,
}

impl Mapper<'_> {
    /// Source points of output positions `(x_of(0..n), y)` (output luma pixels, continuous,
    /// `x_of` increasing) into `out`. Allocates nothing once `out` has held a row this long.
    pub fn fill_row(
        &self,
        y: f32,
        n: usize,
        x_of: impl Fn(usize) -> f32 + Copy,
        out: &mut RowPoints,
    ) {
        out.reset(n);
        let mut nodes = std::mem::take(&mut out.nodes);
        let py = sample::floor_i32(y + 0.5) as f32;
        let mut start = 0;
        for (k, tile) in self.tiles.iter().enumerate() {
            if !(py >= tile.y0 as f32 && py < (tile.y0 + tile.height) as f32) {
                continue;
            }
            let ly = y - tile.y0 as f32;
            let end_x = (tile.x0 + tile.width) as f32;
            let x0 = tile.x0 as f32;
            // Skip pixels left of this tile (they belong to no tile), then take those in it;
            // pixel columns grow with i, so both ends are found by bisection.
            let column = |i: usize| sample::floor_i32(x_of(i) + 0.5) as f32;
            start = first_failing(start..n, |i| column(i) <= x0 - 1.0);
            let end = first_failing(start..n, |i| column(i) < end_x);
            let local = |i: usize| x_of(i) - x0;
            // One mapping per tile; without one the tile is mapped exactly.
            let span = TileSpan {
                columns: start..end,
                x_of: local,
                y: ly,
            };
            match self.mappings.and_then(|m| m.get(k)) {
                Some(TileMapping::Grid(grid)) => {
                    let row = grid.row_into(ly, &mut nodes);
                    row.fill(self.map, span, self.snap_safe, out);
                }
                Some(TileMapping::Separable(tables)) => tables.fill(self.map, span, out),
                None => {
                    for i in start..end {
                        out.set(i, self.map.point(tile, f64::from(local(i)), f64::from(ly)));
                    }
                }
            }
            start = end;
        }
        out.nodes = nodes;
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

/// `dst`'s planes, `N` of them (a checked frame has as many as its format).
pub(super) fn planes_of<'a, 'b, const N: usize>(
    dst: &'a mut FrameMut<'b>,
) -> Result<&'a mut [PlaneMut<'b>; N]> {
    let format = dst.format();
    dst.planes_mut()
        .try_into()
        .map_err(|_| Error::OutputLayout(format!("{format:?} output without {N} planes")))
}

/// Source plane `index` as a sampler view.
pub(super) fn plane_ref<'a>(frame: &Frame<'a>, index: usize) -> PlaneRef<'a> {
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
            rescale(i as f32, self.out_scale.0),
            rescale(j as f32, self.out_scale.1),
        )
    }

    /// Source plane position and lod of a source point.
    #[inline(always)]
    fn source(&self, p: SourcePoint) -> (f32, f32, f32) {
        (
            rescale(p.x, self.src_scale.0),
            rescale(p.y, self.src_scale.1),
            p.lod + self.lod_bias,
        )
    }
}

/// Position `v` (plane pixels, centre convention) in a plane `scale` times as large.
#[inline(always)]
fn rescale(v: f32, scale: f32) -> f32 {
    (v + 0.5) * scale - 0.5
}

thread_local! {
    /// Each thread's row of source points, reused from row to row and frame to frame (the
    /// steady state allocates nothing).
    static POINTS: std::cell::RefCell<RowPoints> = std::cell::RefCell::default();
}

/// Runs `f` with this thread's [`RowPoints`].
fn with_points<T>(f: impl FnOnce(&mut RowPoints) -> T) -> T {
    POINTS.with_borrow_mut(f)
}

/// Runs `f(row index, row bytes)` over the first `height` rows of `plane`, in parallel.
pub(super) fn for_each_row(
    plane: &mut PlaneMut<'_>,
    row_bytes: usize,
    height: u32,
    f: impl Fn(usize, &mut [u8], &mut RowPoints) + Sync,
) {
    let stride = plane.stride();
    plane
        .data_mut()
        .par_chunks_mut(stride)
        .take(height as usize)
        .enumerate()
        .for_each(|(j, row)| {
            // A checked plane's rows hold `row_bytes`.
            if let Some(row) = row.get_mut(..row_bytes) {
                with_points(|points| f(j, row, points));
            }
        });
}

pub(super) fn run(
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
    let supported = df != PixelFormat::Nv12
        && (sf == df || df == PixelFormat::Rgba8 || (sf.is_yuv() && df == PixelFormat::I420));
    if !supported {
        return Err(Error::OutputLayout(format!(
            "cannot dewarp {sf:?} into {df:?}"
        )));
    }
    if options.antialias {
        // The levels of every plane in one entry into the thread pool: the parallel loops
        // inside run on its workers' own queues (each entry from outside takes a slot of
        // rayon's job injector, which allocates a block every 63 jobs).
        rayon::scope(|_| {
            for (k, chain) in mips.iter_mut().enumerate().take(sf.plane_count()) {
                let (_, _, c) = sf.plane_shape(k, src.width(), src.height());
                chain.rebuild(plane_ref(src, k), c);
            }
        });
    }
    let mips: &[MipChain; 3] = mips;
    let ctx = Context {
        mapper,
        options,
        mips: [0, 1, 2].map(|k| mips.get(k).filter(|_| options.antialias)),
        src_size: (src.width(), src.height()),
        dst_size: (dst.width(), dst.height()),
    };
    match (sf, df) {
        (PixelFormat::Rgba8, _) => ctx.packed::<4>(plane_ref(src, 0), dst),
        (PixelFormat::Rgb8, _) => ctx.packed::<3>(plane_ref(src, 0), dst),
        (PixelFormat::Gray8, _) => ctx.packed::<1>(plane_ref(src, 0), dst),
        (_, PixelFormat::I420) => ctx.yuv_to_i420(src, dst),
        _ => ctx.yuv_to_rgba(src, dst),
    }
}

struct Context<'a> {
    mapper: &'a Mapper<'a>,
    options: &'a DewarpOptions,
    /// The source planes' mip chains, where anti-aliasing is on.
    mips: [Option<&'a MipChain>; 3],
    src_size: (u32, u32),
    dst_size: (u32, u32),
}

impl Context<'_> {
    /// The kernels' level for a row of `points` where they serve: bilinear, and no point
    /// minified in the plane sampled (its lod plus `lod_bias` ≤ 0, where the mip path
    /// samples the base level as the kernels do), or no anti-aliasing. Other
    /// interpolations and minified rows keep the f32 samplers.
    fn kernel(
        &self,
        mips: Option<&MipChain>,
        points: &RowPoints,
        lod_bias: f32,
    ) -> Option<CpuLevel> {
        let magnified = || {
            let lods = points.lod.iter().zip(&points.valid);
            lods.filter(|(_, valid)| **valid)
                .all(|(lod, _)| lod + lod_bias <= 0.0)
        };
        self.bilinear_level()
            .filter(|_| mips.is_none() || magnified())
    }

    /// The kernels' level where the interpolation is theirs (bilinear), whatever the lods:
    /// [`trilinear_row`] takes minified rows.
    fn bilinear_level(&self) -> Option<CpuLevel> {
        self.mapper
            .kernel
            .filter(|_| self.options.interpolation == Interpolation::Bilinear)
    }

    /// Runs `f(row, points)` over the view's rows of `plane` (`row_bytes` each), in
    /// parallel, `points` holding the source points of the row's output pixels.
    fn for_each_mapped_row(
        &self,
        plane: &mut PlaneMut<'_>,
        row_bytes: usize,
        f: impl Fn(&mut [u8], &RowPoints) + Sync,
    ) {
        let (w, h) = self.dst_size;
        for_each_row(plane, row_bytes, h, |j, row, points| {
            self.mapper
                .fill_row(j as f32, w as usize, |i| i as f32, points);
            f(row, points);
        });
    }

    /// A packed source with `C` channels into the same format or RGBA8.
    fn packed<const C: usize>(&self, src: PlaneRef<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        let [mips, ..] = self.mips;
        let to_rgba = dst.format() == PixelFormat::Rgba8;
        let d = if to_rgba { 4 } else { C };
        let fill = packed_fill(self.options.fill, d);
        let geometry =
            PlaneGeometry::new(self.dst_size, self.dst_size, self.src_size, self.src_size);
        let w = self.dst_size.0;
        let interpolation = self.options.interpolation;
        let mut kernel_fill = [0u8; C];
        kernel_fill.iter_mut().zip(fill).for_each(|(k, f)| *k = f);
        let [plane] = planes_of(dst)?;
        self.for_each_mapped_row(plane, w as usize * d, |row, points| {
            if let Some(level) = self.kernel(mips, points, 0.0).filter(|_| d == C) {
                let taps = points.sample_row(src);
                kernels::bilinear_row::<C, u8>(level, taps, kernel_fill, row);
                return;
            }
            if let (Some(level), Some(mips)) = (self.bilinear_level(), mips)
                && C == 1
                && d == 1
                && trilinear_row(level, (src, mips), points, 0.0, kernel_fill[0], row)
            {
                return;
            }
            for (i, out) in row.chunks_exact_mut(d).enumerate() {
                let Some(p) = points.get(i) else {
                    out.iter_mut().zip(fill).for_each(|(o, f)| *o = f);
                    continue;
                };
                let (sx, sy, lod) = geometry.source(p);
                let v: [f32; C] = sample_lod(src, mips, sx, sy, lod, interpolation, WrapX::Clamp);
                match (C, to_rgba) {
                    (1, true) => {
                        let g = to_u8(v[0]);
                        out.copy_from_slice(&[g, g, g, 255]);
                    }
                    (3, true) => {
                        out.iter_mut().zip(v).for_each(|(o, c)| *o = to_u8(c));
                        if let Some(alpha) = out.get_mut(3) {
                            *alpha = 255;
                        }
                    }
                    _ => out.iter_mut().zip(v).for_each(|(o, c)| *o = to_u8(c)),
                }
            }
        });
        Ok(())
    }

    /// I420/NV12 into I420, each plane sampled at its own resolution.
    fn yuv_to_i420(&self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        let mips = self.mips;
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
        let [y_plane, u_plane, v_plane] = planes_of(dst)?;
        self.for_each_mapped_row(y_plane, w as usize, |row, points| {
            if let Some(level) = self.kernel(mips[0], points, 0.0) {
                kernels::bilinear_row::<1, u8>(level, points.sample_row(luma), [fy], row);
                return;
            }
            if let (Some(level), Some(mips)) = (self.bilinear_level(), mips[0])
                && trilinear_row(level, (luma, mips), points, 0.0, fy, row)
            {
                return;
            }
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
        let (us, vs) = (u_plane.stride(), v_plane.stride());
        u_plane
            .data_mut()
            .par_chunks_mut(us)
            .zip(v_plane.data_mut().par_chunks_mut(vs))
            .take(ch as usize)
            .enumerate()
            .for_each(|(j, (u_row, v_row))| {
                with_points(|points| {
                    let n = cw as usize;
                    // A checked chroma plane's rows hold `cw` bytes.
                    let (Some(u_row), Some(v_row)) = (u_row.get_mut(..n), v_row.get_mut(..n))
                    else {
                        return;
                    };
                    mapper.fill_row(
                        chroma_geometry.luma(0, j).1,
                        n,
                        |i| chroma_geometry.luma(i, j).0,
                        points,
                    );
                    // I420's planes on the kernels: the row's points in chroma pixels once,
                    // then bilinear (nothing minified) or trilinear (one lod) samples.
                    let bias = chroma_geometry.lod_bias;
                    let kernel = self.kernel(mips[1], points, bias);
                    let trilinear = self
                        .bilinear_level()
                        .zip(mips[1].zip(mips[2]))
                        .filter(|_| shared_minified_lod(points, bias).is_some());
                    if src.format() == PixelFormat::I420
                        && (kernel.is_some() || trilinear.is_some())
                    {
                        let (sx, sy) = chroma_geometry.src_scale;
                        points.x.iter_mut().for_each(|x| *x = rescale(*x, sx));
                        points.y.iter_mut().for_each(|y| *y = rescale(*y, sy));
                        let (u, v) = (plane_ref(src, 1), plane_ref(src, 2));
                        if let Some(level) = kernel {
                            kernels::bilinear_row::<1, u8>(
                                level,
                                points.sample_row(u),
                                [fu],
                                u_row,
                            );
                            kernels::bilinear_row::<1, u8>(
                                level,
                                points.sample_row(v),
                                [fv],
                                v_row,
                            );
                        } else if let Some((level, (u_mips, v_mips))) = trilinear {
                            trilinear_row(level, (u, u_mips), points, bias, fu, u_row);
                            trilinear_row(level, (v, v_mips), points, bias, fv, v_row);
                        }
                        return;
                    }
                    for (i, (u_out, v_out)) in u_row.iter_mut().zip(v_row).enumerate() {
                        (*u_out, *v_out) = points.get(i).map_or((fu, fv), sample_uv);
                    }
                })
            });
        Ok(())
    }

    /// I420/NV12 into RGBA8 with the frame's YUV matrix and range.
    fn yuv_to_rgba(&self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        let mips = self.mips;
        let color = src.color();
        let fill = self.options.fill;
        let interpolation = self.options.interpolation;
        let w = self.dst_size.0;
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
        let (u, v) = (plane_ref(src, 1), plane_ref(src, 2));
        let (sx, sy) = chroma_geometry.src_scale;
        let to_rgb = WideYuvToRgb::new(color);
        // The kernels' rows: Y, U and V as wide texels, then converted.
        let kernel_row = |level: CpuLevel, row: &mut [u8], p: &RowPoints| {
            with_wide_row(|s| {
                s.cx.clear();
                s.cx.extend(p.x.iter().map(|x| rescale(*x, sx)));
                s.cy.clear();
                s.cy.extend(p.y.iter().map(|y| rescale(*y, sy)));
                for plane in [&mut s.y, &mut s.u, &mut s.v] {
                    plane.resize(w as usize, 0);
                }
                kernels::bilinear_row::<1, u16>(level, p.sample_row(luma), [0], &mut s.y);
                let chroma = |plane| kernels::SampleRow {
                    plane,
                    xs: &s.cx,
                    ys: &s.cy,
                    valid: &p.valid,
                };
                kernels::bilinear_row::<1, u16>(level, chroma(u), [0], &mut s.u);
                kernels::bilinear_row::<1, u16>(level, chroma(v), [0], &mut s.v);
                // Every pixel converted (branch-free, it vectorises), then the fill.
                let texels = s.y.iter().zip(&s.u).zip(&s.v);
                for (out, ((y, u), v)) in row.chunks_exact_mut(4).zip(texels) {
                    let [r, g, b] = to_rgb.convert(*y, *u, *v);
                    out.copy_from_slice(&[r, g, b, 255]);
                }
                for (out, valid) in row.chunks_exact_mut(4).zip(&p.valid) {
                    if !valid {
                        out.copy_from_slice(&fill);
                    }
                }
            });
        };
        let [plane] = planes_of(dst)?;
        self.for_each_mapped_row(plane, w as usize * 4, |row, points| {
            let luma_kernel = self.kernel(mips[0], points, 0.0);
            let chroma_kernel = self.kernel(mips[1], points, chroma_geometry.lod_bias);
            if let (Some(level), Some(_)) = (luma_kernel, chroma_kernel)
                && src.format() == PixelFormat::I420
            {
                kernel_row(level, row, points);
                return;
            }
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
                let [r, g, b] = color.to_rgb(yv, u, v).map(to_u8);
                out.copy_from_slice(&[r, g, b, 255]);
            }
        });
        Ok(())
    }
}

/// The trilinear sample of a one-channel `base` (bilinear within two mip levels, blended by
/// the lod's fraction, as [`sample_lod`]) at a row of `points` whose valid points share one
/// lod (the rows of a panorama's separable tables): two kernel rows of wide texels and a
/// blend, each byte within 1 of the f32 sampler's (each wide value is within 0.16).
/// Returns false, writing nothing, where the lods differ or the row is not minified.
fn trilinear_row(
    level: CpuLevel,
    (base, mips): (PlaneRef<'_>, &MipChain),
    points: &RowPoints,
    lod_bias: f32,
    fill: u8,
    row: &mut [u8],
) -> bool {
    let Some(lod) = shared_minified_lod(points, lod_bias) else {
        return false;
    };
    let lod = lod.min(mips.levels.len() as f32);
    let k0 = lod.floor() as usize;
    let t = lod - k0 as f32;
    with_wide_row(|s| {
        let sample = |k: usize, out: &mut Vec<u16>, cx: &mut Vec<f32>, cy: &mut Vec<f32>| {
            out.resize(row.len(), 0);
            let plane = mips.level(base, k, 1);
            let taps = if k == 0 {
                points.sample_row(plane)
            } else {
                let sx = plane.width as f32 / base.width as f32;
                let sy = plane.height as f32 / base.height as f32;
                cx.clear();
                cx.extend(points.x.iter().map(|x| rescale(*x, sx)));
                cy.clear();
                cy.extend(points.y.iter().map(|y| rescale(*y, sy)));
                kernels::SampleRow {
                    plane,
                    xs: cx,
                    ys: cy,
                    valid: &points.valid,
                }
            };
            kernels::bilinear_row::<1, u16>(level, taps, [0], out);
        };
        let WideRow {
            y: lower,
            u: upper,
            cx,
            cy,
            ..
        } = s;
        sample(k0, lower, cx, cy);
        let wide = (1u32 << kernels::WIDE_BITS) as f32;
        if t > 0.0 && k0 < mips.levels.len() {
            sample(k0 + 1, upper, cx, cy);
            for ((o, a), b) in row.iter_mut().zip(lower.iter()).zip(upper.iter()) {
                let (fa, fb) = (f32::from(*a), f32::from(*b));
                *o = to_u8((fa + (fb - fa) * t) / wide);
            }
        } else {
            for (o, a) in row.iter_mut().zip(lower.iter()) {
                *o = to_u8(f32::from(*a) / wide);
            }
        }
        for (o, valid) in row.iter_mut().zip(&points.valid) {
            if !valid {
                *o = fill;
            }
        }
    });
    true
}

/// The lod (plus `lod_bias`) all valid `points` share, where there is one and it is above 0.
fn shared_minified_lod(points: &RowPoints, lod_bias: f32) -> Option<f32> {
    let mut lods = points.lod.iter().zip(&points.valid).filter(|(_, v)| **v);
    let (&first, _) = lods.next()?;
    (lods.all(|(lod, _)| *lod == first) && first + lod_bias > 0.0).then_some(first + lod_bias)
}

/// A thread's scratch for one row of wide YUV texels (or a trilinear row's two levels) and
/// the chroma planes' (or the upper levels') positions.
#[derive(Default)]
struct WideRow {
    y: Vec<u16>,
    u: Vec<u16>,
    v: Vec<u16>,
    cx: Vec<f32>,
    cy: Vec<f32>,
}

thread_local! {
    static WIDE_ROW: std::cell::RefCell<WideRow> = std::cell::RefCell::default();
}

/// Runs `f` with this thread's [`WideRow`].
fn with_wide_row<T>(f: impl FnOnce(&mut WideRow) -> T) -> T {
    WIDE_ROW.with_borrow_mut(f)
}

/// [`YuvColor::to_rgb`](crate::YuvColor::to_rgb) as the affine map it is, over wide texels
/// (`2^WIDE_BITS` per code value): each wide value is within 0.16 of the f32 sample, so each
/// RGB value is within (1.17 + 2.15)·0.16 < 0.6 of the f32 oracle's before rounding (the
/// largest coefficients: BT.2020, limited range) and the bytes differ from it by at most 1.
struct WideYuvToRgb {
    offset: [f32; 3],
    /// Per channel, the RGB change of one wide step of Y, U and V.
    steps: [[f32; 3]; 3],
}

impl WideYuvToRgb {
    fn new(color: crate::YuvColor) -> Self {
        let offset = color.to_rgb(0.0, 0.0, 0.0);
        let wide = (1u32 << kernels::WIDE_BITS) as f32;
        let step = |[y, u, v]: [f32; 3]| {
            let mut rgb = color.to_rgb(y, u, v);
            for (c, o) in rgb.iter_mut().zip(offset) {
                *c = (*c - o) / wide;
            }
            rgb
        };
        Self {
            offset,
            steps: [
                step([1.0, 0.0, 0.0]),
                step([0.0, 1.0, 0.0]),
                step([0.0, 0.0, 1.0]),
            ],
        }
    }

    #[inline(always)]
    fn convert(&self, y: u16, u: u16, v: u16) -> [u8; 3] {
        let [[y0, y1, y2], [u0, u1, u2], [v0, v1, v2]] = self.steps;
        let [o0, o1, o2] = self.offset;
        let (y, u, v) = (f32::from(y), f32::from(u), f32::from(v));
        let channel = |o: f32, sy: f32, su: f32, sv: f32| to_u8(o + sy * y + su * u + sv * v);
        [
            channel(o0, y0, u0, v0),
            channel(o1, y1, u1, v1),
            channel(o2, y2, u2, v2),
        ]
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
    interpolation: Interpolation,
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
pub(super) fn packed_fill(fill: [u8; 4], channels: usize) -> [u8; 4] {
    match channels {
        1 => {
            let [r, g, b, _] = fill.map(f32::from);
            [to_u8(0.299 * r + 0.587 * g + 0.114 * b), 0, 0, 0]
        }
        3 => [fill[0], fill[1], fill[2], 0],
        _ => fill,
    }
}
