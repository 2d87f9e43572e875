//! The mip chain both backends build for anti-aliasing, as far as they must agree on its
//! shape: level `k` of a `width × height` plane is `max(1, ⌊width / 2^k⌋) × max(1,
//! ⌊height / 2^k⌋)` (odd last rows and columns dropped, as wgpu sizes mip levels), down to
//! 1 × 1. The CPU builds it in `cpu::sample::MipChain`, the GPU in `shaders/mipmap.wgsl`.

/// Mip levels of a `width × height` plane, level 0 included (as wgpu counts them).
#[must_use]
pub(crate) fn mip_level_count(width: u32, height: u32) -> u32 {
    32 - width.max(height).leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_levels_down_to_one_pixel() {
        assert_eq!(mip_level_count(1, 1), 1);
        assert_eq!(mip_level_count(2, 1), 2);
        assert_eq!(mip_level_count(3, 5), 3);
        assert_eq!(mip_level_count(640, 480), 10);
        assert_eq!(mip_level_count(1024, 1), 11);
    }
}
