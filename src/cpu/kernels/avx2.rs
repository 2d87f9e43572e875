//! The AVX2 kernel: the integer recipe of `kernels/mod.rs`, 8 pixels a step, taps read by
//! 32-bit gathers (a tap's channels are the low `C` bytes of its lane); for `C ≤ 2` one
//! gather per source row reads a pixel's left tap and its right neighbour together.

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
#[expect(
    clippy::indexing_slicing,
    reason = "i + k < i + 8 ≤ n (the loop's condition) = valid.len() = out.len() / C, as \
              the safety contract requires and kernels::bilinear_row asserts"
)]
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
    // A gather reads `read` bytes at each left tap: pixels whose read would pass the end of
    // the data go to the scalar kernel (the last pixels of the last row, at most).
    let read = if C <= 2 { 4 } else { C as i32 + 4 };
    let safe_end = data.len() as i32 - read;
    let one = _mm256_set1_epi32(1 << FRACTION_BITS);
    let scale = _mm256_set1_ps((1 << FRACTION_BITS) as f32);
    let half = _mm256_set1_ps(0.5);
    let round = _mm256_set1_epi32(1 << (T::SHIFT - 1));
    let drop = _mm_cvtsi32_si128(T::SHIFT as i32);
    let max_x = _mm256_set1_epi32(plane.width as i32 - 1);
    let max_y = _mm256_set1_epi32(plane.height as i32 - 1);
    let zero = _mm256_setzero_si256();
    let stride = _mm256_set1_epi32(plane.stride as i32);
    // Column × C by shifts and adds (C is a constant): a 32-bit multiply costs more.
    let times_c = |v: __m256i| match C {
        1 => v,
        2 => _mm256_slli_epi32::<1>(v),
        3 => _mm256_add_epi32(_mm256_slli_epi32::<1>(v), v),
        _ => _mm256_slli_epi32::<2>(v),
    };
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
        let c0 = times_c(clamp(x0, max_x));
        // The right tap is the next pixel where neither column is clamped, else the left
        // tap again (both clamp to the same edge column).
        let right_is_next = _mm256_and_si256(
            _mm256_cmpgt_epi32(x0, _mm256_set1_epi32(-1)),
            _mm256_cmpgt_epi32(max_x, x0),
        );
        let r0 = _mm256_mullo_epi32(clamp(y0, max_y), stride);
        let r1 = _mm256_mullo_epi32(clamp(_mm256_add_epi32(y0, step), max_y), stride);
        let (o0, o1) = (_mm256_add_epi32(r0, c0), _mm256_add_epi32(r1, c0));
        // The largest offset is o1 (rows grow with the stride).
        let beyond = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(
            o1,
            _mm256_set1_epi32(safe_end),
        )));
        if beyond != 0 {
            break;
        }
        // SAFETY: every offset is a clamped left tap, so ≤ o1 ≤ len − read: the bytes read
        // are inside `data` (unaligned reads are what gathers do); AVX2 is enabled here.
        let ((a, b), (c, d)) = unsafe {
            (
                row_taps::<C>(data.as_ptr(), o0, right_is_next),
                row_taps::<C>(data.as_ptr(), o1, right_is_next),
            )
        };
        let iwy = _mm256_sub_epi32(one, wy);
        // (1 − wx, wx) as the two 16-bit halves of each lane: a row's two taps, paired the
        // same way, take one multiply-add (`a·(S − wx) + b·wx` exactly: taps ≤ 255 and
        // weights ≤ S = 2048 are 16-bit values, the sum a 32-bit one).
        let weights_x = _mm256_or_si256(_mm256_sub_epi32(one, wx), _mm256_slli_epi32::<16>(wx));
        let mut packed = zero;
        for k in 0..C {
            let shift = _mm_cvtsi32_si128(8 * k as i32);
            let ch = |v: __m256i| _mm256_and_si256(_mm256_srl_epi32(v, shift), byte);
            let pair =
                |l: __m256i, r: __m256i| _mm256_or_si256(ch(l), _mm256_slli_epi32::<16>(ch(r)));
            let top = _mm256_madd_epi16(pair(a, b), weights_x);
            let bottom = _mm256_madd_epi16(pair(c, d), weights_x);
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

/// The left and right taps of 8 pixels on one source row: the `C` bytes at each `offset`
/// and, where `right_is_next`, the `C` bytes after them, else the left ones again; each as
/// the low bytes of a 32-bit lane. For `C ≤ 2` one gather reads both (a 64-bit gather for
/// more channels measured no faster than two 32-bit ones: it needs lanes narrowed).
///
/// # Safety
///
/// The CPU must support AVX2; `4` bytes (`C ≤ 2`) or `C + 4` bytes from `base + offset`
/// must be readable for every lane.
#[target_feature(enable = "avx2")]
unsafe fn row_taps<const C: usize>(
    base: *const u8,
    offset: __m256i,
    right_is_next: __m256i,
) -> (__m256i, __m256i) {
    let base = base.cast::<i32>();
    if C <= 2 {
        // SAFETY: the caller guarantees 4 readable bytes at every offset.
        let both = unsafe { _mm256_i32gather_epi32::<1>(base, offset) };
        let right = _mm256_srl_epi32(both, _mm_cvtsi32_si128(8 * C as i32));
        (both, _mm256_blendv_epi8(both, right, right_is_next))
    } else {
        let right = _mm256_add_epi32(
            offset,
            _mm256_and_si256(right_is_next, _mm256_set1_epi32(C as i32)),
        );
        // SAFETY: the caller guarantees C + 4 readable bytes at every offset.
        unsafe {
            (
                _mm256_i32gather_epi32::<1>(base, offset),
                _mm256_i32gather_epi32::<1>(base, right),
            )
        }
    }
}
