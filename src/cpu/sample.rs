//! Reading a plane at fractional positions: nearest, bilinear, bicubic, trilinear mips.
//!
//! Keep in step with `shaders/sample.wgsl`: same addressing, weights and rounding.

use rayon::prelude::*;

use crate::mip::mip_level_count;
use crate::options::Interpolation;

/// A read-only plane with its geometry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlaneRef<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: u32,
    pub height: u32,
}

/// Horizontal addressing outside the plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WrapX {
    /// Repeat the edge pixel.
    Clamp,
    /// Wrap around (equirectangular panoramas).
    Repeat,
}

impl PlaneRef<'_> {
    #[inline(always)]
    fn column(&self, x: i32, wrap: WrapX) -> usize {
        let w = self.width as i32;
        match wrap {
            WrapX::Clamp => x.clamp(0, w - 1) as usize,
            WrapX::Repeat => x.rem_euclid(w) as usize,
        }
    }

    #[inline(always)]
    fn row(&self, y: i32) -> usize {
        y.clamp(0, self.height as i32 - 1) as usize
    }

    #[inline(always)]
    fn texel<const C: usize>(&self, col: usize, row: usize) -> [f32; C] {
        // `row`, `col` are clamped or wrapped into the plane, which holds them; the fallback
        // (black) is never taken and costs no more than the check a slice index makes.
        let i = row * self.stride + col * C;
        let px = self.data.get(i..i + C).unwrap_or_default();
        let mut out = [0f32; C];
        for (o, &v) in out.iter_mut().zip(px) {
            *o = f32::from(v);
        }
        out
    }

    /// Nearest pixel to `(x, y)`.
    #[inline(always)]
    pub fn nearest<const C: usize>(&self, x: f32, y: f32, wrap: WrapX) -> [f32; C] {
        let col = self.column(floor_i32(x + 0.5), wrap);
        let row = self.row(floor_i32(y + 0.5));
        self.texel(col, row)
    }

    /// Bilinear blend around `(x, y)`.
    #[inline(always)]
    pub fn bilinear<const C: usize>(&self, x: f32, y: f32, wrap: WrapX) -> [f32; C] {
        let (x0, y0) = (floor_i32(x), floor_i32(y));
        let (tx, ty) = (x - x0 as f32, y - y0 as f32);
        if x0 >= 0 && y0 >= 0 && x0 + 1 < self.width as i32 && y0 + 1 < self.height as i32 {
            // Interior: both rows' two pixels are contiguous (the plane holds them; else the
            // general path below reads them).
            let o0 = y0 as usize * self.stride + x0 as usize * C;
            let o1 = o0 + self.stride;
            let rows = (self.data.get(o0..o0 + 2 * C), self.data.get(o1..o1 + 2 * C));
            if let (Some(r0), Some(r1)) = rows {
                let ((left0, right0), (left1, right1)) = (r0.split_at(C), r1.split_at(C));
                let mut out = [0f32; C];
                let taps = left0.iter().zip(right0).zip(left1.iter().zip(right1));
                for (o, ((&a, &b), (&c, &d))) in out.iter_mut().zip(taps) {
                    let (a, b, c, d) = (f32::from(a), f32::from(b), f32::from(c), f32::from(d));
                    let top = a + (b - a) * tx;
                    let bottom = c + (d - c) * tx;
                    *o = top + (bottom - top) * ty;
                }
                return out;
            }
        }
        let (c0, c1) = (self.column(x0, wrap), self.column(x0 + 1, wrap));
        let (r0, r1) = (self.row(y0), self.row(y0 + 1));
        let a: [f32; C] = self.texel(c0, r0);
        let b: [f32; C] = self.texel(c1, r0);
        let c: [f32; C] = self.texel(c0, r1);
        let d: [f32; C] = self.texel(c1, r1);
        let mut out = [0f32; C];
        for (o, ((a, b), (c, d))) in out
            .iter_mut()
            .zip(a.into_iter().zip(b).zip(c.into_iter().zip(d)))
        {
            let top = a + (b - a) * tx;
            let bottom = c + (d - c) * tx;
            *o = top + (bottom - top) * ty;
        }
        out
    }

    /// Catmull-Rom bicubic around `(x, y)`.
    pub fn bicubic<const C: usize>(&self, x: f32, y: f32, wrap: WrapX) -> [f32; C] {
        let (fx, fy) = (floor_i32(x), floor_i32(y));
        let wx = cubic_weights(x - fx as f32);
        let wy = cubic_weights(y - fy as f32);
        let (x0, y0) = (fx - 1, fy - 1);
        let mut acc = [0f32; C];
        for (j, wyj) in wy.iter().enumerate() {
            let row = self.row(y0 + j as i32);
            let mut line = [0f32; C];
            for (i, wxi) in wx.iter().enumerate() {
                let t: [f32; C] = self.texel(self.column(x0 + i as i32, wrap), row);
                for (l, t) in line.iter_mut().zip(t) {
                    *l += wxi * t;
                }
            }
            for (a, l) in acc.iter_mut().zip(line) {
                *a += wyj * l;
            }
        }
        acc
    }

    /// Sample with `interpolation`.
    #[inline(always)]
    pub fn sample<const C: usize>(
        &self,
        x: f32,
        y: f32,
        interpolation: Interpolation,
        wrap: WrapX,
    ) -> [f32; C] {
        match interpolation {
            Interpolation::Nearest => self.nearest(x, y, wrap),
            Interpolation::Bilinear => self.bilinear(x, y, wrap),
            Interpolation::Bicubic => self.bicubic(x, y, wrap),
        }
    }
}

/// `⌊x⌋` without a libm call (baseline x86-64 has no rounding instruction); `x` must fit
/// an `i32` (positions are clamped far inside that).
#[inline(always)]
pub(crate) fn floor_i32(x: f32) -> i32 {
    let i = x as i32;
    i - i32::from((i as f32) > x)
}

/// Catmull-Rom weights (a = −0.5) for taps at −1, 0, 1, 2 around fraction `t`: the one
/// cubic of the CPU side, used by the bicubic sampler and the mapping grid
/// (`shaders/sample.wgsl` has its twin).
#[inline(always)]
pub(crate) fn cubic_weights(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ]
}

/// An owned plane (a mip level).
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnedPlane {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Level 0 borrowed, levels 1.. owned, each a 2×2 box average of the one before
/// (`(a + b + c + d + 2) >> 2`), size `max(1, ⌊previous / 2⌋)`, odd last rows/columns dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct MipChain {
    pub levels: Vec<OwnedPlane>,
}

impl MipChain {
    /// Rebuilds the levels above `base` in place (buffers are reused between frames).
    pub fn rebuild(&mut self, base: PlaneRef<'_>, channels: usize) {
        let count = mip_level_count(base.width, base.height) as usize - 1;
        self.levels.resize_with(count, OwnedPlane::default);
        let mut previous = base;
        for level in &mut self.levels {
            let (w, h) = ((previous.width / 2).max(1), (previous.height / 2).max(1));
            level.width = w;
            level.height = h;
            level.data.resize(w as usize * h as usize * channels, 0);
            let row_len = w as usize * channels;
            let (pw, ph) = (previous.width as usize, previous.height as usize);
            let source = previous;
            let downsample = |(y, out_row): (usize, &mut [u8])| {
                let (y0, y1) = ((2 * y).min(ph - 1), (2 * y + 1).min(ph - 1));
                // Rows y0, y1 < ph of the previous level, which holds them.
                let row = |y: usize| source.data.get(y * source.stride..).unwrap_or_default();
                let (ra, rb) = (row(y0), row(y1));
                if pw >= 2 {
                    // 2x + 1 < pw for every x < w = ⌊pw / 2⌋: no clamping (it vectorises).
                    let (ra, rb) = (ra.get(..2 * row_len), rb.get(..2 * row_len));
                    let pairs = (ra.unwrap_or_default().chunks_exact(2 * channels))
                        .zip(rb.unwrap_or_default().chunks_exact(2 * channels));
                    for (out, (a, b)) in out_row.chunks_exact_mut(channels).zip(pairs) {
                        let ((a0, a1), (b0, b1)) = (a.split_at(channels), b.split_at(channels));
                        let taps = a0.iter().zip(a1).zip(b0.iter().zip(b1));
                        for (o, ((&p, &q), (&r, &s))) in out.iter_mut().zip(taps) {
                            let sum = u16::from(p) + u16::from(q) + u16::from(r) + u16::from(s);
                            *o = ((sum + 2) >> 2) as u8;
                        }
                    }
                } else {
                    for (o, (&a, &b)) in out_row.iter_mut().zip(ra.iter().zip(rb)) {
                        *o = ((2 * (u16::from(a) + u16::from(b)) + 2) >> 2) as u8;
                    }
                }
            };
            // Small levels are not worth a thread's wake-up.
            if h >= 64 {
                let rows = level.data.par_chunks_exact_mut(row_len).enumerate();
                rows.for_each(downsample);
            } else {
                level
                    .data
                    .chunks_exact_mut(row_len)
                    .enumerate()
                    .for_each(downsample);
            }
            previous = PlaneRef {
                data: &level.data,
                stride: row_len,
                width: w,
                height: h,
            };
        }
    }

    /// Level `k` (0 = `base`; `base` too past the top level).
    pub fn level<'a>(&'a self, base: PlaneRef<'a>, k: usize, channels: usize) -> PlaneRef<'a> {
        let Some(l) = k.checked_sub(1).and_then(|k| self.levels.get(k)) else {
            return base;
        };
        PlaneRef {
            data: &l.data,
            stride: l.width as usize * channels,
            width: l.width,
            height: l.height,
        }
    }
}

/// Samples `base`/`mips` at level-0 position `(x, y)` with level of detail `lod`
/// (log2 of the footprint in level-0 pixels): `interpolation` at level 0 when `lod ≤ 0`,
/// else a blend of the two nearest levels, level 0 read with `interpolation` and the others
/// bilinearly, so the result is continuous in `lod`.
#[inline(always)]
pub(crate) fn sample_lod<const C: usize>(
    base: PlaneRef<'_>,
    mips: Option<&MipChain>,
    x: f32,
    y: f32,
    lod: f32,
    interpolation: Interpolation,
    wrap: WrapX,
) -> [f32; C] {
    let Some(mips) = mips.filter(|_| lod > 0.0) else {
        return base.sample(x, y, interpolation, wrap);
    };
    let top = mips.levels.len() as f32;
    let lod = lod.min(top);
    let k0 = lod.floor() as usize;
    let t = lod - k0 as f32;
    let at = |k: usize| -> [f32; C] {
        if k == 0 {
            return base.sample(x, y, interpolation, wrap);
        }
        let plane = mips.level(base, k, C);
        let sx = plane.width as f32 / base.width as f32;
        let sy = plane.height as f32 / base.height as f32;
        plane.bilinear((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, wrap)
    };
    let a = at(k0);
    if t == 0.0 || k0 + 1 > mips.levels.len() {
        return a;
    }
    let b = at(k0 + 1);
    let mut out = a;
    for (o, b) in out.iter_mut().zip(b) {
        *o += (b - *o) * t;
    }
    out
}

/// Rounds a sample to 8 bits (round half up, clamped).
#[inline(always)]
pub(crate) fn to_u8(v: f32) -> u8 {
    (v + 0.5).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(data: &[u8], w: u32, h: u32) -> PlaneRef<'_> {
        PlaneRef {
            data,
            stride: w as usize,
            width: w,
            height: h,
        }
    }

    #[test]
    fn bilinear_is_exact_at_pixel_centres_and_midway() {
        let data = [0u8, 100, 200, 50];
        let p = plane(&data, 2, 2);
        assert_eq!(p.bilinear::<1>(1.0, 0.0, WrapX::Clamp), [100.0]);
        assert_eq!(p.bilinear::<1>(0.5, 0.5, WrapX::Clamp), [87.5]);
        assert_eq!(p.bilinear::<1>(-3.0, 9.0, WrapX::Clamp), [200.0]);
        assert_eq!(p.bilinear::<1>(1.5, 0.0, WrapX::Repeat), [50.0]);
    }

    #[test]
    fn bicubic_reproduces_linear_ramps() {
        let data: Vec<u8> = (0..64).map(|i| (i % 8) as u8 * 10).collect();
        let p = plane(&data, 8, 8);
        let v = p.bicubic::<1>(3.25, 4.0, WrapX::Clamp)[0];
        assert!((v - 32.5).abs() < 1e-4, "{v}");
        assert!((cubic_weights(0.3).iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn mip_chain_averages_and_counts_like_wgpu() {
        assert_eq!(mip_level_count(1, 1), 1);
        assert_eq!(mip_level_count(640, 480), 10);
        let data = [10u8, 20, 30, 40, 1, 2, 3, 4, 5, 6, 7, 8];
        let base = PlaneRef {
            data: &data,
            stride: 4,
            width: 4,
            height: 3,
        };
        let mut mips = MipChain::default();
        mips.rebuild(base, 1);
        assert_eq!(mips.levels.len(), 2);
        assert_eq!(mips.levels[0].data, vec![8, 19]);
        assert_eq!((mips.levels[0].width, mips.levels[0].height), (2, 1));
        assert_eq!(mips.levels[1].data, vec![14]);
    }
    #[test]
    fn mip_levels_are_the_clamped_2x2_average_at_every_size() {
        // Odd sizes, one-pixel strips, interleaved channels and levels tall enough to be
        // built in parallel, against the clamped average written out per pixel.
        for (w, h, channels) in [(301, 257, 3), (1, 200, 1), (130, 1, 4), (7, 5, 2)] {
            let stride = w * channels + 3;
            let data: Vec<u8> = (0..stride * h).map(|i| (i * 37 % 251) as u8).collect();
            let base = PlaneRef {
                data: &data,
                stride,
                width: w as u32,
                height: h as u32,
            };
            let mut mips = MipChain::default();
            mips.rebuild(base, channels);
            let mut previous = base;
            for level in &mips.levels {
                let (pw, ph) = (previous.width as usize, previous.height as usize);
                assert_eq!(
                    (level.width as usize, level.height as usize),
                    ((pw / 2).max(1), (ph / 2).max(1))
                );
                for y in 0..level.height as usize {
                    for x in 0..level.width as usize {
                        for c in 0..channels {
                            let at = |x: usize, y: usize| {
                                let (x, y) = (x.min(pw - 1), y.min(ph - 1));
                                u16::from(previous.data[y * previous.stride + x * channels + c])
                            };
                            let (x2, y2) = (2 * x, 2 * y);
                            let sum =
                                at(x2, y2) + at(x2 + 1, y2) + at(x2, y2 + 1) + at(x2 + 1, y2 + 1);
                            let got = level.data[(y * level.width as usize + x) * channels + c];
                            assert_eq!(
                                got,
                                ((sum + 2) >> 2) as u8,
                                "{w}×{h}×{channels} at {x},{y}"
                            );
                        }
                    }
                }
                previous = PlaneRef {
                    data: &level.data,
                    stride: level.width as usize * channels,
                    width: level.width,
                    height: level.height,
                };
            }
        }
    }
}
