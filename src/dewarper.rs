//! One front for both backends: pick the GPU when there is one, the CPU otherwise.

use std::fmt;
use std::str::FromStr;

use crate::cpu::CpuDewarper;
use crate::frame::{Frame, FrameMut};
use crate::model::{Calibration, View};
use crate::options::DewarpOptions;
use crate::{Error, Result};

/// Which backend a [`Dewarper`] runs on.
///
/// Parses from and prints as `auto`, `cpu`, `gpu` (for command-line flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// The GPU when an adapter exists (and the crate has feature `gpu`), else the CPU.
    #[default]
    Auto,
    /// The CPU ([`CpuDewarper`]).
    Cpu,
    /// The GPU (`gpu::GpuDewarper`); [`Error::NoGpu`] without an adapter.
    Gpu,
}

impl Backend {
    /// The names [`Backend::from_str`] accepts.
    pub const NAMES: [&'static str; 3] = ["auto", "cpu", "gpu"];
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        })
    }
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            _ => Err(crate::error::invalid(
                "backend",
                format!("expected one of auto, cpu, gpu; got `{s}`"),
            )),
        }
    }
}

#[derive(Debug)]
enum Inner {
    Cpu(Box<CpuDewarper>),
    #[cfg(feature = "gpu")]
    Gpu(Box<crate::gpu::GpuDewarper>),
}

impl Inner {
    /// Whether this is a GPU backend running on a software rasterizer.
    fn is_software(&self) -> bool {
        match self {
            Inner::Cpu(_) => false,
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g
                .adapter_info()
                .is_some_and(|info| info.device_type == wgpu::DeviceType::Cpu),
        }
    }
}

/// A dewarper on the backend chosen at creation: same calls whichever it is.
///
/// ```
/// use omnidewarp::{Backend, DewarpOptions, Dewarper};
/// use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
/// # fn main() -> omnidewarp::Result<()> {
/// let ring = RingModel::new(glam::DVec2::new(63.5, 63.5), (20.0, 60.0), (-0.9, 0.6), 0.0, true)?;
/// let calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None)?;
/// let view = View::new(Projection::Equirect { top: 0.6, bottom: -0.9 },
///     Orientation::default(), 256, 64)?;
/// let dewarper = Dewarper::new(calibration, view, DewarpOptions::default(), Backend::Cpu)?;
/// assert_eq!(dewarper.backend(), Backend::Cpu);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Dewarper {
    inner: Inner,
}

impl Dewarper {
    /// A dewarper on `backend`. With [`Backend::Auto`], a GPU that cannot be used (no
    /// adapter, device refused, or no `gpu` feature) is reported by one `log::warn!` line
    /// and the CPU is used; so is a software adapter (Mesa's llvmpipe/lavapipe, WARP), which
    /// is slower than the CPU path it would replace; with [`Backend::Gpu`] it is an error ([`Error::NoGpu`] without
    /// an adapter).
    pub fn new(
        calibration: Calibration,
        view: View,
        options: DewarpOptions,
        backend: Backend,
    ) -> Result<Self> {
        view.validate()?;
        let inner = match backend {
            Backend::Cpu => Inner::Cpu(Box::new(CpuDewarper::new(calibration, view, options))),
            Backend::Gpu => Self::gpu(calibration, view, options)?,
            Backend::Auto => match Self::gpu(calibration.clone(), view, options) {
                Ok(gpu) if !gpu.is_software() => gpu,
                Ok(_) => {
                    log::info!("only a software GPU adapter found; dewarping on the CPU");
                    Inner::Cpu(Box::new(CpuDewarper::new(calibration, view, options)))
                }
                Err(e) => {
                    log::warn!("no usable GPU ({e}); dewarping on the CPU");
                    Inner::Cpu(Box::new(CpuDewarper::new(calibration, view, options)))
                }
            },
        };
        Ok(Self { inner })
    }

    #[cfg(feature = "gpu")]
    fn gpu(calibration: Calibration, view: View, options: DewarpOptions) -> Result<Inner> {
        crate::gpu::GpuDewarper::new(calibration, view, options).map(|g| Inner::Gpu(Box::new(g)))
    }

    #[cfg(not(feature = "gpu"))]
    fn gpu(_: Calibration, _: View, _: DewarpOptions) -> Result<Inner> {
        Err(Error::NoGpu(
            "omnidewarp was built without the `gpu` feature".into(),
        ))
    }

    /// The backend in use: [`Backend::Cpu`] or [`Backend::Gpu`].
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Cpu(_) => Backend::Cpu,
            #[cfg(feature = "gpu")]
            Inner::Gpu(_) => Backend::Gpu,
        }
    }

    /// One line naming the backend, and the adapter for the GPU (e.g. for `--verbose`).
    #[must_use]
    pub fn description(&self) -> String {
        match &self.inner {
            Inner::Cpu(_) => format!("CPU ({} threads)", rayon::current_num_threads()),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => match g.adapter_info() {
                Some(info) => format!("GPU ({}, {:?})", info.name, info.backend),
                None => "GPU".to_owned(),
            },
        }
    }

    /// Dewarps `src` into `dst` (the view's size). The CPU writes the formats
    /// [`CpuDewarper::dewarp`] lists; the GPU writes RGBA8, and I420 from I420/NV12 frames.
    pub fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        match &mut self.inner {
            Inner::Cpu(c) => c.dewarp(src, dst),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.dewarp(src, dst),
        }
    }

    /// The current view.
    #[must_use]
    pub fn view(&self) -> &View {
        match &self.inner {
            Inner::Cpu(c) => c.view(),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.view(),
        }
    }

    /// Changes the view.
    pub fn set_view(&mut self, view: View) -> Result<()> {
        match &mut self.inner {
            Inner::Cpu(c) => c.set_view(view),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.set_view(view),
        }
    }

    /// The sampling options.
    #[must_use]
    pub fn options(&self) -> &DewarpOptions {
        match &self.inner {
            Inner::Cpu(c) => c.options(),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.options(),
        }
    }

    /// Changes the sampling options.
    pub fn set_options(&mut self, options: DewarpOptions) {
        match &mut self.inner {
            Inner::Cpu(c) => c.set_options(options),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.set_options(options),
        }
    }

    /// The CPU dewarper, when that is the backend.
    #[must_use]
    pub fn as_cpu(&mut self) -> Option<&mut CpuDewarper> {
        match &mut self.inner {
            Inner::Cpu(c) => Some(&mut **c),
            #[cfg(feature = "gpu")]
            Inner::Gpu(_) => None,
        }
    }

    /// The GPU dewarper, when that is the backend.
    #[cfg(feature = "gpu")]
    #[must_use]
    pub fn as_gpu(&mut self) -> Option<&mut crate::gpu::GpuDewarper> {
        match &mut self.inner {
            Inner::Cpu(_) => None,
            Inner::Gpu(g) => Some(&mut **g),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for name in Backend::NAMES {
            assert_eq!(name.parse::<Backend>().unwrap().to_string(), name);
        }
        assert_eq!("GPU".parse::<Backend>().unwrap(), Backend::Gpu);
        assert!("metal".parse::<Backend>().is_err());
        assert_eq!(Backend::default(), Backend::Auto);
    }
}
