//! Sampling kernels: fixed-point bilinear over one output row, per pixel format (1 to 4
//! interleaved 8-bit channels: Gray8, I420 planes, NV12's UV plane, RGB8, RGBA8), into bytes
//! or wide texels ([`Texel`]), at the instruction-set level chosen at run time
//! ([`CpuLevel`]).
//!
//! Every level computes the same integers, so levels agree bit for bit
//! (`tests/cpu_levels.rs`): with `S = 2^FRACTION_BITS`, `wx = ⌊fx·S + ½⌋` and
//! `wy = ⌊fy·S + ½⌋` (f32), `top = a(S − wx) + b·wx`, `bottom = c(S − wx) + d·wx`,
//! `v = (top(S − wy) + bottom·wy + S²/2) >> 2·FRACTION_BITS`, taps clamped to the plane.
//! Against the f32 sampler (the oracle) the weights are off by at most `2^−(F+1)` each, so a
//! value by at most `255 · 2^−F ≈ 0.12` before rounding: the output differs by at most 1.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod scalar;

use std::sync::OnceLock;

use super::sample::PlaneRef;
use crate::error::invalid;
use crate::{Error, Result};

/// Fraction bits of the bilinear weights (i32 arithmetic: `255·S²` must fit).
pub(crate) const FRACTION_BITS: u32 = 11;

/// The instruction-set level of the CPU backend's sampling kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CpuLevel {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86-64 AVX2 (8 pixels a step, gathers).
    Avx2,
}

impl CpuLevel {
    /// Every level, slowest first.
    pub const ALL: [CpuLevel; 2] = [CpuLevel::Scalar, CpuLevel::Avx2];

    /// The name `OMNIDEWARP_CPU_LEVEL` takes: `scalar` or `avx2`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Avx2 => "avx2",
        }
    }

    /// Whether this CPU runs the level.
    #[must_use]
    pub fn supported(self) -> bool {
        match self {
            Self::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx2 => false,
        }
    }

    /// The best level this CPU runs.
    #[must_use]
    pub fn detect() -> CpuLevel {
        Self::ALL
            .into_iter()
            .rev()
            .find(|l| l.supported())
            .unwrap_or(Self::Scalar)
    }

    /// The level dewarpers start with: `OMNIDEWARP_CPU_LEVEL` when set (read once per
    /// process; an unknown or unsupported name is an error), else [`CpuLevel::detect`].
    pub fn from_env() -> Result<CpuLevel> {
        static LEVEL: OnceLock<std::result::Result<CpuLevel, String>> = OnceLock::new();
        LEVEL
            .get_or_init(|| match std::env::var("OMNIDEWARP_CPU_LEVEL") {
                Err(_) => Ok(Self::detect()),
                Ok(name) => name
                    .parse::<CpuLevel>()
                    .map_err(|e| e.to_string())
                    .and_then(|l| l.check().map(|()| l).map_err(|e| e.to_string())),
            })
            .clone()
            .map_err(|e| invalid("OMNIDEWARP_CPU_LEVEL", e))
    }

    /// `Ok` where this CPU runs the level, else a typed error naming it.
    pub fn check(self) -> Result<()> {
        if self.supported() {
            Ok(())
        } else {
            Err(invalid(
                "cpu level",
                format!("this CPU does not run {}", self.name()),
            ))
        }
    }
}

impl std::str::FromStr for CpuLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| {
                invalid(
                    "cpu level",
                    format!("unknown level {s:?} (known: scalar, avx2)"),
                )
            })
    }
}

impl std::fmt::Display for CpuLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a row kernel samples: `plane` at the points `(xs[i], ys[i])` (plane pixels, centre
/// convention) where `valid[i]`; the three slices are equally long.
#[derive(Clone, Copy)]
pub(crate) struct SampleRow<'a> {
    pub plane: PlaneRef<'a>,
    pub xs: &'a [f32],
    pub ys: &'a [f32],
    pub valid: &'a [bool],
}

/// An output value of the kernels: a byte (the sample rounded) or a wide value (the sample
/// times `2^WIDE_BITS`, rounded: for outputs computed further, as YUV → RGB).
pub(crate) trait Texel: Copy {
    /// The right shift from the weighted sum (`2·FRACTION_BITS` fraction bits) to the texel.
    const SHIFT: u32;
    /// The texel of a shifted sum.
    fn from_value(v: u32) -> Self;
    /// Writes a pixel whose channels are packed in `lane` (channel `k` in bits `8k..`; a
    /// wide texel, one channel, is the lane itself).
    fn unpack(lane: u32, px: &mut [Self]);
}

impl Texel for u8 {
    const SHIFT: u32 = 2 * FRACTION_BITS;

    #[inline(always)]
    fn from_value(v: u32) -> Self {
        v as u8
    }

    #[inline(always)]
    fn unpack(lane: u32, px: &mut [Self]) {
        for (p, byte) in px.iter_mut().zip(lane.to_le_bytes()) {
            *p = byte;
        }
    }
}

/// Fraction bits a wide texel keeps: `bilinear_row` into `u16` writes `⌊v·2^WIDE_BITS + ½⌋`,
/// within `255·2^−F + 2^−(WIDE_BITS+1) ≈ 0.16` of the f32 sample.
pub(crate) const WIDE_BITS: u32 = 4;

impl Texel for u16 {
    const SHIFT: u32 = 2 * FRACTION_BITS - WIDE_BITS;

    #[inline(always)]
    fn from_value(v: u32) -> Self {
        v as u16
    }

    #[inline(always)]
    fn unpack(lane: u32, px: &mut [Self]) {
        if let Some(p) = px.first_mut() {
            *p = lane as u16;
        }
    }
}

/// Writes `out[i·C..(i+1)·C]` for every `i < row.xs.len()`: the bilinear sample of
/// `row.plane` at `(xs[i], ys[i])` (clamped at the edges) where `valid[i]`, else `fill`, as
/// bytes or (one channel) wide texels. `level` must be supported ([`CpuLevel::check`]).
pub(crate) fn bilinear_row<const C: usize, T: Texel>(
    level: CpuLevel,
    row: SampleRow<'_>,
    fill: [T; C],
    out: &mut [T],
) {
    let (plane, n) = (row.plane, row.xs.len());
    assert!(row.ys.len() == n && row.valid.len() == n && out.len() == n * C);
    assert!(plane.width > 0 && plane.height > 0);
    assert!(
        plane.data.len() >= (plane.height as usize - 1) * plane.stride + plane.width as usize * C
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        // Offsets are i32 lanes.
        CpuLevel::Avx2 if level.supported() && plane.data.len() < i32::MAX as usize => {
            // SAFETY: AVX2 is available (checked just above); the slices' lengths and the
            // plane's extent were asserted as `avx2::bilinear_row` requires.
            unsafe { avx2::bilinear_row::<C, T>(row, fill, out) }
        }
        _ => scalar::bilinear_row::<C, T>(row, fill, out, 0),
    }
}
