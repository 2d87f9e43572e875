//! Sampling options shared by both backends.

/// How a source pixel value is read at a fractional position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Interpolation {
    /// The nearest pixel: `floor(x + 0.5)`.
    Nearest,
    /// 2×2 linear blend.
    #[default]
    Bilinear,
    /// 4×4 Catmull-Rom cubic (a = −0.5), clamped to 0..255.
    Bicubic,
}

/// How a view is sampled from a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DewarpOptions {
    /// Interpolation where the view does not minify the frame.
    pub interpolation: Interpolation,
    /// Anti-aliasing where the view minifies the frame: sampling of a 2×2 box mip pyramid at
    /// `lod = log2(max(|∂src/∂x|, |∂src/∂y|))`, the footprint measured by finite differences
    /// of the mapping over one output pixel, blending the two nearest levels (level 0 read
    /// with `interpolation`, the others bilinearly). Where `lod ≤ 0`, or when this is off,
    /// `interpolation` alone is used.
    pub antialias: bool,
    /// RGBA colour outside the mirror's content. Its alpha is the output's alpha there, so a
    /// transparent fill gives an alpha mask.
    pub fill: [u8; 4],
}

impl Default for DewarpOptions {
    fn default() -> Self {
        Self {
            interpolation: Interpolation::Bilinear,
            antialias: true,
            fill: [0, 0, 0, 255],
        }
    }
}
