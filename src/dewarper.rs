//! One front for both backends, and the [`Backend::Auto`] policy that picks one.

use crate::Result;
use crate::cpu::CpuDewarper;
use crate::frame::{Frame, FrameMut};
use crate::model::{Calibration, View};
use crate::options::{Backend, DewarpOptions};

/// Output pixels (frames × width × height) up to which [`Backend::Auto`] keeps work it is
/// told is short ([`DewarpOptions::expected_frames`]) on the CPU: about what the CPU path
/// dewarps in the time a GPU instance and device take to come up (≈ 0.3 s at ≈ 50 Mpixel/s
/// on two cores, BENCHMARKS.md).
pub const AUTO_CPU_PIXELS: u64 = 16 << 20;

/// Why [`Backend::Auto`] chose the CPU without asking a GPU driver, or `None` when a GPU is
/// worth trying.
fn cpu_without_a_device(view: &View, options: &DewarpOptions) -> Option<String> {
    if !cfg!(feature = "gpu") {
        return Some("omnidewarp was built without the `gpu` feature".into());
    }
    if let Some(frames) = options.expected_frames {
        let pixels = frames.saturating_mul(u64::from(view.width) * u64::from(view.height));
        if pixels <= AUTO_CPU_PIXELS {
            return Some(format!(
                "{frames} frame(s) of {}×{}: less work than starting a GPU",
                view.width, view.height
            ));
        }
    }
    if !hardware_gpu_listed() {
        return Some("no hardware GPU device on this machine".into());
    }
    None
}

/// Whether the system lists a hardware GPU, found without loading a driver (part of the
/// [`Backend::Auto`] policy). On Linux a GPU needs a device node (a DRM render node,
/// NVIDIA's, or WSL's `/dev/dxg`); where there is none (containers, CI runners, most VMs)
/// only software rasterizers could answer, and this is `false`. Elsewhere it is `true`: the
/// driver is asked.
#[must_use]
pub fn hardware_gpu_listed() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let render_node = std::fs::read_dir("/dev/dri").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    render_node
        || ["/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"]
            .iter()
            .any(|p| std::path::Path::new(p).exists())
}

#[derive(Debug)]
enum Inner {
    Cpu(Box<CpuDewarper>),
    #[cfg(feature = "gpu")]
    Gpu(Box<crate::gpu::GpuDewarper>),
}

impl Inner {
    fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        match self {
            Inner::Cpu(c) => c.dewarp(src, dst),
            #[cfg(feature = "gpu")]
            Inner::Gpu(g) => g.dewarp(src, dst),
        }
    }

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
/// let ring = RingModel::builder().center(glam::DVec2::new(63.5, 63.5))
///     .radii(20.0, 60.0)
///     .elevations(-0.9, 0.6)
///     .build()?;
/// let calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None)?;
/// let view = View::new(Projection::Equirect { top: 0.6, bottom: -0.9 },
///     Orientation::default(), 256, 64)?;
/// let options = DewarpOptions::default().with_backend(Backend::Cpu);
/// let dewarper = Dewarper::new(calibration, view, options)?;
/// assert_eq!(dewarper.backend(), Backend::Cpu);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Dewarper {
    inner: Inner,
}

impl Dewarper {
    /// A dewarper on `options.backend`, which is decided here, once.
    ///
    /// [`Backend::Auto`] takes the CPU, without creating a GPU instance, when
    /// `options.expected_frames` says the work is at most [`AUTO_CPU_PIXELS`] output pixels
    /// (a still), when the machine lists no hardware GPU, or without the `gpu` feature (one
    /// `log::debug!` line says why). Otherwise it creates a GPU dewarper, and still takes the
    /// CPU when the adapter is a software rasterizer (Mesa's llvmpipe/lavapipe, WARP: slower
    /// than the CPU path) or the GPU cannot be used (one `log::warn!` line).
    /// [`Backend::Gpu`] takes any adapter, and is an error ([`Error::NoGpu`](crate::Error::NoGpu)) without one.
    ///
    /// Both backends check the calibration and the view here.
    pub fn new(calibration: Calibration, view: View, options: DewarpOptions) -> Result<Self> {
        view.validate()?;
        calibration.model.validate()?;
        let cpu = |calibration| -> Result<Inner> {
            Ok(Inner::Cpu(Box::new(CpuDewarper::new(
                calibration,
                view,
                options,
            )?)))
        };
        let inner = match options.backend {
            Backend::Cpu => cpu(calibration)?,
            Backend::Gpu => Self::gpu(calibration, view, options)?,
            Backend::Auto => match cpu_without_a_device(&view, &options) {
                Some(reason) => {
                    log::debug!("backend auto: the CPU ({reason})");
                    cpu(calibration)?
                }
                None => match Self::gpu(calibration.clone(), view, options) {
                    Ok(gpu) if !gpu.is_software() => gpu,
                    Ok(_) => {
                        log::info!("only a software GPU adapter found; dewarping on the CPU");
                        cpu(calibration)?
                    }
                    Err(e) => {
                        log::warn!("no usable GPU ({e}); dewarping on the CPU");
                        cpu(calibration)?
                    }
                },
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
        Err(crate::Error::NoGpu(
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
    ///
    /// A GPU chosen by [`Backend::Auto`] whose textures cannot hold `src` or the view hands
    /// over to the CPU for good (one `log::warn!` line) instead of failing; with
    /// [`Backend::Gpu`] that is an [`Error::Gpu`](crate::Error::Gpu) naming the limit.
    ///
    /// A GPU whose own device is lost ([`crate::gpu::GpuDewarper::device_lost`]) is
    /// replaced and the frame dewarped again: by the CPU under [`Backend::Auto`] (a device
    /// lost once may be lost again; the CPU is known to work), by a new device under
    /// [`Backend::Gpu`] (an error where none can be had). Each is one `log::warn!` line.
    pub fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        #[cfg(feature = "gpu")]
        self.leave_a_gpu_too_small_for(src)?;
        let result = self.inner.dewarp(src, dst);
        #[cfg(feature = "gpu")]
        if result.is_err() && self.replace_a_lost_gpu()? {
            // Once: a new device lost at once again is this frame's error.
            return self.inner.dewarp(src, dst);
        }
        result
    }

    /// After a failed call: a GPU whose device was lost replaced (see [`Dewarper::dewarp`]);
    /// whether it was.
    #[cfg(feature = "gpu")]
    fn replace_a_lost_gpu(&mut self) -> Result<bool> {
        let Inner::Gpu(gpu) = &self.inner else {
            return Ok(false);
        };
        let Some(reason) = gpu.device_lost() else {
            return Ok(false);
        };
        let (calibration, view, options) = (gpu.calibration().clone(), *gpu.view(), *gpu.options());
        self.inner = if options.backend == Backend::Auto {
            log::warn!("the GPU device was lost ({reason}); dewarping on the CPU");
            Inner::Cpu(Box::new(CpuDewarper::new(calibration, view, options)?))
        } else {
            log::warn!("the GPU device was lost ({reason}); starting a new one");
            let fresh = crate::gpu::GpuDewarper::new(calibration, view, options).map_err(|e| {
                crate::Error::Gpu(format!(
                    "the GPU device was lost ({reason}) and no new one could be had: {e}"
                ))
            })?;
            Inner::Gpu(Box::new(fresh))
        };
        Ok(true)
    }

    /// The CPU in place of an [`Backend::Auto`] GPU whose largest texture side is below
    /// `src`'s or the view's.
    #[cfg(feature = "gpu")]
    fn leave_a_gpu_too_small_for(&mut self, src: &Frame<'_>) -> Result<()> {
        let Inner::Gpu(gpu) = &self.inner else {
            return Ok(());
        };
        let max = gpu.device().limits().max_texture_dimension_2d;
        let view = *gpu.view();
        let frame = (src.width(), src.height());
        let fits = |(w, h): (u32, u32)| w <= max && h <= max;
        if gpu.options().backend != Backend::Auto
            || (fits(frame) && fits((view.width, view.height)))
        {
            return Ok(());
        }
        log::warn!(
            "a {}×{} frame into a {}×{} view passes this GPU's {max}-pixel texture limit; \
             dewarping on the CPU",
            frame.0,
            frame.1,
            view.width,
            view.height
        );
        let cpu = CpuDewarper::new(gpu.calibration().clone(), view, *gpu.options())?;
        self.inner = Inner::Cpu(Box::new(cpu));
        Ok(())
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

    /// Changes the sampling options (the backend stays the one chosen at creation).
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

impl From<CpuDewarper> for Dewarper {
    fn from(cpu: CpuDewarper) -> Self {
        Self {
            inner: Inner::Cpu(Box::new(cpu)),
        }
    }
}

/// A GPU dewarper made by the caller (e.g. on its own device, [`GpuDewarper::with_device`]),
/// behind the common front; with [`Backend::Auto`] in its options it hands over to the CPU
/// where a frame is too large for the device (see [`Dewarper::dewarp`]).
///
/// [`GpuDewarper::with_device`]: crate::gpu::GpuDewarper::with_device
#[cfg(feature = "gpu")]
impl From<crate::gpu::GpuDewarper> for Dewarper {
    fn from(gpu: crate::gpu::GpuDewarper) -> Self {
        Self {
            inner: Inner::Gpu(Box::new(gpu)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::model::{CameraModel, Orientation, Projection, RingModel};

    fn view(width: u32, height: u32) -> View {
        View::new(
            Projection::Perspective { fov: 1.5 },
            Orientation::default(),
            width,
            height,
        )
        .unwrap()
    }

    #[test]
    fn auto_keeps_short_work_on_the_cpu_without_a_device() {
        let still = DewarpOptions::default().with_expected_frames(Some(1));
        // 4096 × 4096 = AUTO_CPU_PIXELS: at the limit, still the CPU.
        assert!(cpu_without_a_device(&view(4096, 4096), &still).is_some());
        let two = still.with_expected_frames(Some(2));
        let reason = cpu_without_a_device(&view(4096, 4096), &two);
        assert_eq!(
            reason.is_some(),
            !cfg!(feature = "gpu") || !hardware_gpu_listed(),
            "{reason:?}"
        );
        // Unknown length (a video, a viewer): only the machine decides.
        let stream = DewarpOptions::default();
        assert_eq!(
            cpu_without_a_device(&view(64, 64), &stream).is_some(),
            !cfg!(feature = "gpu") || !hardware_gpu_listed()
        );
    }

    #[test]
    fn both_backends_check_the_calibration_at_construction() {
        let ring = RingModel::builder()
            .center(glam::DVec2::new(63.5, 63.5))
            .radii(20.0, 60.0)
            .elevations(-0.9, 0.6)
            .build()
            .unwrap();
        let mut calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None).unwrap();
        if let CameraModel::Ring(ring) = &mut calibration.model {
            ring.center.x = f64::NAN;
        }
        for backend in Backend::ALL {
            let options = DewarpOptions::default().with_backend(backend);
            let err = Dewarper::new(calibration.clone(), view(32, 32), options).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidParameter { name, .. } if name == "center"),
                "{backend}: {err}"
            );
        }
        let err = CpuDewarper::new(calibration, view(32, 32), DewarpOptions::default());
        assert!(err.is_err());
    }
}
