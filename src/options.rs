//! Options shared by both backends: how a view is sampled, and where it runs.

/// How a source pixel value is read at a fractional position.
///
/// Parses from and prints as `nearest`, `bilinear`, `bicubic`.
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

names!(Interpolation, "interpolation": Nearest = "nearest", Bilinear = "bilinear", Bicubic = "bicubic");

impl Interpolation {
    /// One line saying what it does (for help texts and menus).
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Self::Nearest => "nearest pixel",
            Self::Bilinear => "2×2 linear blend",
            Self::Bicubic => "4×4 Catmull-Rom cubic",
        }
    }
}

/// Which backend a [`Dewarper`](crate::Dewarper) runs on.
///
/// Parses from and prints as `auto`, `cpu`, `gpu` (for command-line flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// A policy, decided once when the dewarper is made: the CPU where a GPU cannot pay
    /// off — a few frames of little work ([`DewarpOptions::expected_frames`]), no hardware
    /// GPU on the machine, no `gpu` feature — else the GPU, falling back to the CPU if it
    /// cannot be used. See [`Dewarper::new`](crate::Dewarper::new).
    #[default]
    Auto,
    /// The CPU ([`CpuDewarper`](crate::CpuDewarper)).
    Cpu,
    /// The GPU (`gpu::GpuDewarper`), software adapters included; [`Error::NoGpu`](crate::Error::NoGpu) without
    /// an adapter.
    Gpu,
}

names!(Backend, "backend": Auto = "auto", Cpu = "cpu", Gpu = "gpu");

impl Backend {
    /// One line saying what it chooses (for help texts and menus).
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Self::Auto => "a hardware GPU when there is one and the work pays for it, else the CPU",
            Self::Cpu => "the CPU",
            Self::Gpu => "the GPU, a software rasterizer such as lavapipe included",
        }
    }
}

/// How a view is sampled from a frame, and where.
///
/// ```
/// use omnidewarp::{Backend, DewarpOptions, Interpolation};
/// let options = DewarpOptions::default()
///     .with_interpolation(Interpolation::Bicubic)
///     .with_fill([0, 0, 0, 0])
///     .with_backend(Backend::Cpu);
/// assert!(options.antialias);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DewarpOptions {
    /// Interpolation where the view does not minify the frame. Default bilinear.
    pub interpolation: Interpolation,
    /// Anti-aliasing where the view minifies the frame: sampling of a 2×2 box mip pyramid at
    /// `lod = log2(max(|∂src/∂x|, |∂src/∂y|))`, the footprint measured by finite differences
    /// of the mapping over one output pixel, blending the two nearest levels (level 0 read
    /// with `interpolation`, the others bilinearly). Where `lod ≤ 0`, or when this is off,
    /// `interpolation` alone is used. Default on.
    pub antialias: bool,
    /// RGBA colour outside the mirror's content. Its alpha is the output's alpha there, so a
    /// transparent fill gives an alpha mask. Default opaque black.
    pub fill: [u8; 4],
    /// Where [`Dewarper`](crate::Dewarper) runs; read when it is made. Default
    /// [`Backend::Auto`].
    pub backend: Backend,
    /// How many frames the dewarper is expected to serve, a hint for [`Backend::Auto`]:
    /// `Some(1)` for a still. Default `None`: many (a video, a viewer).
    pub expected_frames: Option<u64>,
}

impl Default for DewarpOptions {
    fn default() -> Self {
        Self {
            interpolation: Interpolation::Bilinear,
            antialias: true,
            fill: [0, 0, 0, 255],
            backend: Backend::Auto,
            expected_frames: None,
        }
    }
}

impl DewarpOptions {
    with_setters! {
        /// Sets [`DewarpOptions::interpolation`].
        with_interpolation(interpolation: Interpolation);
        /// Sets [`DewarpOptions::antialias`].
        with_antialias(antialias: bool);
        /// Sets [`DewarpOptions::fill`].
        with_fill(fill: [u8; 4]);
        /// Sets [`DewarpOptions::backend`].
        with_backend(backend: Backend);
        /// Sets [`DewarpOptions::expected_frames`].
        with_expected_frames(expected_frames: impl Into<Option<u64>>).into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Backend::NAMES {
            assert_eq!(name.parse::<Backend>().unwrap().to_string(), name);
        }
        for (value, name) in Interpolation::ALL.into_iter().zip(Interpolation::NAMES) {
            assert_eq!(value.to_string(), name);
            assert_eq!(name.parse::<Interpolation>().unwrap(), value);
        }
        assert_eq!("GPU".parse::<Backend>().unwrap(), Backend::Gpu);
        assert_eq!(
            "BiCubic".parse::<Interpolation>().unwrap(),
            Interpolation::Bicubic
        );
        let err = "metal".parse::<Backend>().unwrap_err().to_string();
        assert!(
            err.contains("auto, cpu, gpu") && err.contains("`metal`"),
            "{err}"
        );
        assert!("linear".parse::<Interpolation>().is_err());
        assert_eq!(Backend::default(), Backend::Auto);
    }
}
