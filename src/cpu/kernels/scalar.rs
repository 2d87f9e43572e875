//! The portable kernel: the integer recipe of `kernels/mod.rs`, one pixel at a time.

use super::{FRACTION_BITS, SampleRow, Texel};

const ONE: i32 = 1 << FRACTION_BITS;

/// The weight of a fraction `f ∈ [0, 1)`: `⌊f·S + ½⌋`.
#[inline(always)]
pub(super) fn weight(f: f32) -> i32 {
    (f * ONE as f32 + 0.5) as i32
}

/// Bilinear samples of pixels `start..` (see [`super::bilinear_row`]).
#[expect(
    clippy::indexing_slicing,
    reason = "in bounds by the asserts of kernels::bilinear_row, which every call comes \
              through (directly or via avx2::bilinear_row): i < xs.len() = ys.len() = \
              valid.len() = out.len() / C, and a tap r + c + k ≤ (height − 1)·stride + \
              (width − 1)·C + C − 1 < data.len() (rows and columns clamped to the plane)"
)]
pub(super) fn bilinear_row<const C: usize, T: Texel>(
    row: SampleRow<'_>,
    fill: [T; C],
    out: &mut [T],
    start: usize,
) {
    let plane = row.plane;
    let (w, h) = (plane.width as i32, plane.height as i32);
    let data = plane.data;
    for i in start..row.xs.len() {
        let px = &mut out[i * C..(i + 1) * C];
        if !row.valid[i] {
            px.copy_from_slice(&fill);
            continue;
        }
        let (x, y) = (row.xs[i], row.ys[i]);
        let (fx, fy) = (x.floor(), y.floor());
        let (wx, wy) = (weight(x - fx), weight(y - fy));
        let (x0, y0) = (fx as i32, fy as i32);
        let c0 = x0.clamp(0, w - 1) as usize * C;
        let c1 = (x0 + 1).clamp(0, w - 1) as usize * C;
        let r0 = y0.clamp(0, h - 1) as usize * plane.stride;
        let r1 = (y0 + 1).clamp(0, h - 1) as usize * plane.stride;
        for (k, o) in px.iter_mut().enumerate() {
            let tap = |r: usize, c: usize| i32::from(data[r + c + k]);
            let top = tap(r0, c0) * (ONE - wx) + tap(r0, c1) * wx;
            let bottom = tap(r1, c0) * (ONE - wx) + tap(r1, c1) * wx;
            let v = top * (ONE - wy) + bottom * wy;
            *o = T::from_value(((v + (1 << (T::SHIFT - 1))) >> T::SHIFT) as u32);
        }
    }
}
