//! The AVX2 kernel: the integer recipe of `kernels/mod.rs`, 8 pixels a step, each tap a
//! 32-bit gather (a tap's channels are the low `C` bytes of its lane).

use std::arch::x86_64::*;

use super::{FRACTION_BITS, SampleRow, Texel, scalar};

/// Bilinear samples of a row (see [`super::bilinear_row`]).
///
/// # Safety
///
/// The CPU must support AVX2. `row.ys`, `row.valid` must be as long as `row.xs`, `out` `C`
/// texels per pixel, `1 ≤ C ≤ 4` (1 for wide texels), and `plane.data` must hold `(height − 1)·stride + width·C` bytes
/// (every clamped tap in range).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn bilinear_row<const C: usize, T: Texel>(
    row: SampleRow<'_>,
    fill: [T; C],
    out: &mut [T],
) {
    const { assert!(C >= 1 && C <= 4 && (C == 1 || T::SHIFT == 2 * FRACTION_BITS)) };
    let SampleRow {
        plane,
        xs,
        ys,
        valid,
    } = row;
    let n = xs.len();
    let data = plane.data;
    // A gather reads 4 bytes at each tap: taps whose 4 bytes would pass the end of the data
    // go to the scalar kernel (the last pixels of the last row, at most).
    let safe_end = data.len() as i32 - 4;
    let one = _mm256_set1_epi32(1 << FRACTION_BITS);
    let scale = _mm256_set1_ps((1 << FRACTION_BITS) as f32);
    let half = _mm256_set1_ps(0.5);
    let round = _mm256_set1_epi32(1 << (T::SHIFT - 1));
    let drop = _mm_cvtsi32_si128(T::SHIFT as i32);
    let max_x = _mm256_set1_epi32(plane.width as i32 - 1);
    let max_y = _mm256_set1_epi32(plane.height as i32 - 1);
    let zero = _mm256_setzero_si256();
    let (cc, stride) = (
        _mm256_set1_epi32(C as i32),
        _mm256_set1_epi32(plane.stride as i32),
    );
    let byte = _mm256_set1_epi32(0xff);
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 ≤ n` = the length of `xs` and `ys`: 8 f32 in range.
        let (x, y) = unsafe {
            (
                _mm256_loadu_ps(xs.as_ptr().add(i)),
                _mm256_loadu_ps(ys.as_ptr().add(i)),
            )
        };
        let (fx, fy) = (_mm256_floor_ps(x), _mm256_floor_ps(y));
        let wx = _mm256_cvttps_epi32(_mm256_add_ps(
            _mm256_mul_ps(_mm256_sub_ps(x, fx), scale),
            half,
        ));
        let wy = _mm256_cvttps_epi32(_mm256_add_ps(
            _mm256_mul_ps(_mm256_sub_ps(y, fy), scale),
            half,
        ));
        let (x0, y0) = (_mm256_cvttps_epi32(fx), _mm256_cvttps_epi32(fy));
        let clamp = |v: __m256i, max: __m256i| _mm256_min_epi32(_mm256_max_epi32(v, zero), max);
        let step = _mm256_set1_epi32(1);
        let c0 = _mm256_mullo_epi32(clamp(x0, max_x), cc);
        let c1 = _mm256_mullo_epi32(clamp(_mm256_add_epi32(x0, step), max_x), cc);
        let r0 = _mm256_mullo_epi32(clamp(y0, max_y), stride);
        let r1 = _mm256_mullo_epi32(clamp(_mm256_add_epi32(y0, step), max_y), stride);
        let (o00, o01) = (_mm256_add_epi32(r0, c0), _mm256_add_epi32(r0, c1));
        let (o10, o11) = (_mm256_add_epi32(r1, c0), _mm256_add_epi32(r1, c1));
        // The largest offset is o11 (rows and columns grow with the stride and C).
        let beyond = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(
            o11,
            _mm256_set1_epi32(safe_end),
        )));
        if beyond != 0 {
            break;
        }
        let base = data.as_ptr().cast::<i32>();
        // SAFETY: every offset is a clamped tap, so ≤ o11 ≤ len − 4: the 4 bytes read are
        // inside `data` (unaligned reads are what gathers do).
        let (a, b, c, d) = unsafe {
            (
                _mm256_i32gather_epi32::<1>(base, o00),
                _mm256_i32gather_epi32::<1>(base, o01),
                _mm256_i32gather_epi32::<1>(base, o10),
                _mm256_i32gather_epi32::<1>(base, o11),
            )
        };
        let (iwx, iwy) = (_mm256_sub_epi32(one, wx), _mm256_sub_epi32(one, wy));
        let mut packed = zero;
        for k in 0..C {
            let shift = _mm_cvtsi32_si128(8 * k as i32);
            let ch = |v: __m256i| _mm256_and_si256(_mm256_srl_epi32(v, shift), byte);
            let top = _mm256_add_epi32(
                _mm256_mullo_epi32(ch(a), iwx),
                _mm256_mullo_epi32(ch(b), wx),
            );
            let bottom = _mm256_add_epi32(
                _mm256_mullo_epi32(ch(c), iwx),
                _mm256_mullo_epi32(ch(d), wx),
            );
            let v = _mm256_add_epi32(
                _mm256_add_epi32(_mm256_mullo_epi32(top, iwy), _mm256_mullo_epi32(bottom, wy)),
                round,
            );
            let v = _mm256_srl_epi32(v, drop);
            packed = _mm256_or_si256(packed, _mm256_sll_epi32(v, shift));
        }
        let mut lanes = [0u32; 8];
        // SAFETY: `lanes` holds 8 u32 = 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), packed) };
        for (k, lane) in lanes.iter().enumerate() {
            let px = &mut out[(i + k) * C..(i + k + 1) * C];
            if valid[i + k] {
                T::unpack(*lane, px);
            } else {
                px.copy_from_slice(&fill);
            }
        }
        i += 8;
    }
    scalar::bilinear_row::<C, T>(row, fill, out, i);
}
