//! The GPU backend (feature `gpu`): the same mapping and samplers as [`crate::cpu`], in WGSL
//! (`shaders/*.wgsl`), on [`wgpu`].
//!
//! Each output pixel is mapped to the frame in the fragment shader from a small uniform
//! block (view, calibration, fill): panning, zooming or changing the projection is a uniform
//! update, no table is rebuilt. The camera model, the source format, the interpolation and
//! anti-aliasing are pipeline constants instead, so each pipeline holds only the code it
//! runs (pipelines are built on first use and kept). Samplers read whole texels (`textureLoad`) and blend them in f32 with the CPU's
//! weights and rounding, so the two backends agree within one 8-bit step almost everywhere.
//! With anti-aliasing on, each source plane gets a mip chain built on the GPU by a render
//! pass per level that averages 2×2 texels with the CPU's integer rounding, and is sampled
//! trilinearly at the level of detail of the exact mapping's footprint.
//!
//! | input | how |
//! |---|---|
//! | [`Frame`] RGBA8, RGB8 (expanded to RGBA on upload), Gray8 | one texture |
//! | [`Frame`] I420 / NV12 | Y, U, V (or UV) planes as R8 / RG8 textures, converted in the shader with the frame's [`YuvColor`](crate::YuvColor) |
//! | a caller's [`wgpu::Texture`] | `Rgba8Unorm`, `Bgra8Unorm` or `R8Unorm`, with `TEXTURE_BINDING` (and `COPY_SRC` for anti-aliasing) |
//!
//! | output | how |
//! |---|---|
//! | [`FrameMut`] RGBA8 | [`GpuDewarper::dewarp`], [`GpuDewarper::read_output`] |
//! | [`FrameMut`] I420, from I420 / NV12 frames | [`GpuDewarper::dewarp`]: Y and UV drawn at their own resolutions, read back as planes |
//! | a caller's texture | [`GpuDewarper::render_to`] (our render pass), or [`GpuDewarper::prepare`] + [`GpuDewarper::draw`] (the caller's render pass); [`read_texture`] reads it back into a [`FrameBuf`](crate::FrameBuf) |
//!
//! ```no_run
//! use omnidewarp::gpu::GpuDewarper;
//! use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
//! use omnidewarp::{DewarpOptions, Frame, FrameMut, PixelFormat};
//! # fn main() -> omnidewarp::Result<()> {
//! let ring = RingModel::builder().center(glam::DVec2::new(63.5, 63.5))
//!     .radii(20.0, 60.0)
//!     .elevations(-0.9, 0.6)
//!     .build()?;
//! let calibration = Calibration::new((128, 128), CameraModel::Ring(ring), None)?;
//! let view = View::new(Projection::Perspective { fov: 1.5 }, Orientation::default(), 320, 240)?;
//! let mut gpu = GpuDewarper::new(calibration, view, DewarpOptions::default())?;
//! let frame = vec![128u8; 128 * 128 * 4];
//! let mut out = vec![0u8; 320 * 240 * 4];
//! gpu.dewarp(
//!     &Frame::packed(PixelFormat::Rgba8, 128, 128, &frame)?,
//!     &mut FrameMut::packed(PixelFormat::Rgba8, 320, 240, &mut out)?,
//! )?;
//! // Pan: a uniform update.
//! let mut view = *gpu.view();
//! view.orientation.yaw += 0.1;
//! gpu.set_view(view)?;
//! # Ok(()) }
//! ```

mod config;
mod device;
mod draw;
mod pipelines;
mod readback;
mod resources;
mod shaders;
mod upload;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use device::{headless_device, quiet_device_select_without_runtime_dir};
pub use readback::read_texture;
pub use resources::create_texture_2d;

use config::DewarpConfig;
use device::scoped;
use pipelines::{Entry, PipelineKey, Pipelines};
use resources::Output;
use upload::Source;

use crate::frame::{Frame, FrameMut, PixelFormat};
use crate::model::{Calibration, View};
use crate::options::DewarpOptions;
use crate::{Error, Result};

/// Formats a caller's source texture may have.
pub const SOURCE_TEXTURE_FORMATS: [wgpu::TextureFormat; 3] = [
    wgpu::TextureFormat::Rgba8Unorm,
    wgpu::TextureFormat::Bgra8Unorm,
    wgpu::TextureFormat::R8Unorm,
];

/// Formats of the targets [`GpuDewarper::render_to`] and [`GpuDewarper::prepare`] accept.
/// On sRGB targets the stored bytes are the same as on the others (the shader writes linear
/// values that the target encodes back to our 8-bit codes).
pub const TARGET_FORMATS: [wgpu::TextureFormat; 7] = [
    wgpu::TextureFormat::Rgba8Unorm,
    wgpu::TextureFormat::Rgba8UnormSrgb,
    wgpu::TextureFormat::Bgra8Unorm,
    wgpu::TextureFormat::Bgra8UnormSrgb,
    wgpu::TextureFormat::Rgb10a2Unorm,
    wgpu::TextureFormat::Rgba16Float,
    wgpu::TextureFormat::Rgba32Float,
];

/// A GPU dewarper: one calibration, one view, one set of options; frames in, views out.
///
/// Create it on its own headless device ([`GpuDewarper::new`]) or on the caller's
/// ([`GpuDewarper::with_device`]). Textures, buffers and pipelines are kept and reused while
/// frame and view sizes stay the same. Every wgpu error on these paths comes back as
/// [`Error::Gpu`]; nothing panics.
#[derive(Debug)]
pub struct GpuDewarper {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: Option<wgpu::AdapterInfo>,
    /// Why our own device was lost, once it was (set by its lost callback).
    lost: std::sync::Arc<std::sync::OnceLock<String>>,
    calibration: Calibration,
    view: View,
    options: DewarpOptions,
    /// The calibration scaled to the current source's size.
    scaled: Option<Calibration>,
    pipelines: Pipelines,
    uniform: wgpu::Buffer,
    /// What the uniform holds (written again when the view, options or source change it).
    config: Option<DewarpConfig>,
    /// A 1×1 texture bound where a source has fewer than three planes.
    dummy: wgpu::TextureView,
    source: Option<Source>,
    /// Our own render targets, one per entry point drawn.
    outputs: HashMap<Entry, Output>,
    /// RGB8 frames expanded to RGBA.
    staging: Vec<u8>,
    /// The pipeline of the last [`GpuDewarper::prepare`].
    prepared: Option<PipelineKey>,
}

impl GpuDewarper {
    /// A dewarper on its own headless device (see [`headless_device`]):
    /// [`Error::NoGpu`] when there is no adapter. Whether that device is lost later is
    /// watched ([`GpuDewarper::device_lost`]).
    pub fn new(calibration: Calibration, view: View, options: DewarpOptions) -> Result<Self> {
        let (device, queue, info) = headless_device()?;
        let mut dewarper = Self::with_device(&device, &queue, calibration, view, options)?;
        dewarper.adapter = Some(info);
        let lost = std::sync::Arc::clone(&dewarper.lost);
        device.set_device_lost_callback(move |reason, message| {
            let _ = lost.set(format!("{reason:?}: {message}"));
        });
        Ok(dewarper)
    }

    /// A dewarper on the caller's device and queue (wgpu handles are shared, not copied).
    /// The device's lost callback stays the caller's: [`GpuDewarper::device_lost`] is `None`.
    pub fn with_device(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        calibration: Calibration,
        view: View,
        options: DewarpOptions,
    ) -> Result<Self> {
        view.validate()?;
        calibration.model.validate()?;
        scoped(device, "creating the GPU dewarper", || {
            let pipelines = Pipelines::new(device);
            let uniform = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("omnidewarp config"),
                size: size_of::<DewarpConfig>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let dummy = create_texture_2d(
                device,
                "omnidewarp unused plane",
                (1, 1),
                wgpu::TextureFormat::R8Unorm,
                1,
                wgpu::TextureUsages::TEXTURE_BINDING,
            )
            .create_view(&wgpu::TextureViewDescriptor::default());
            Ok(Self {
                device: device.clone(),
                queue: queue.clone(),
                adapter: None,
                lost: std::sync::Arc::default(),
                calibration,
                view,
                options,
                scaled: None,
                pipelines,
                uniform,
                config: None,
                dummy,
                source: None,
                outputs: HashMap::new(),
                staging: Vec::new(),
                prepared: None,
            })
        })
    }

    /// The adapter, when the dewarper made its own device.
    #[must_use]
    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        self.adapter.as_ref()
    }

    /// Why the dewarper's own device (from [`GpuDewarper::new`]) was lost — a driver reset,
    /// a GPU unplugged, [`wgpu::Device::destroy`] — once it was; every call fails after it.
    #[must_use]
    pub fn device_lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// The device.
    #[must_use]
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    #[must_use]
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    dewarper_settings! {
        set_view: "Changes the view (pan, zoom, projection, size): a uniform update, nothing \
                   rebuilt (the readback texture follows the size on the next frame).",
        set_options: "Changes the sampling options. The fill is a uniform update; \
                      interpolation and anti-aliasing select another pipeline (built once, \
                      on first use), and turning anti-aliasing on builds the current \
                      source's mip chain before the next draw.",
    }

    /// Waits until the GPU has finished all submitted work (for timing stages apart).
    pub fn wait(&self) -> Result<()> {
        device::wait(&self.device)
    }

    fn check_size(&self, what: &str, (w, h): (u32, u32)) -> Result<()> {
        let max = self.device.limits().max_texture_dimension_2d;
        if w > max || h > max {
            return Err(Error::Gpu(format!(
                "{what} is {w}×{h}; this device's textures are at most {max}×{max}"
            )));
        }
        Ok(())
    }

    /// Dewarps `src` into `dst` (the view's size): upload, draw, read back. `dst` is RGBA8
    /// from any frame, or I420 from an I420 or NV12 frame (each plane sampled at its own
    /// resolution, as [`CpuDewarper::dewarp`](crate::CpuDewarper::dewarp) does: video stays
    /// YUV end to end).
    pub fn dewarp(&mut self, src: &Frame<'_>, dst: &mut FrameMut<'_>) -> Result<()> {
        self.check_output(dst, src.format().is_yuv())?;
        self.upload(src)?;
        if dst.format() == PixelFormat::I420 {
            self.render_outputs(&[
                (wgpu::TextureFormat::R8Unorm, Entry::Luma),
                (wgpu::TextureFormat::Rg8Unorm, Entry::Chroma),
            ])?;
            return self.read_i420(dst);
        }
        self.render()?;
        self.read_output(dst)
    }

    /// Dewarps a caller's texture (see [`GpuDewarper::set_source_texture`]) into `dst`
    /// (RGBA8).
    pub fn dewarp_texture(&mut self, src: &wgpu::Texture, dst: &mut FrameMut<'_>) -> Result<()> {
        self.check_output(dst, false)?;
        self.set_source_texture(src)?;
        self.render()?;
        self.read_output(dst)
    }
}

/// An invariant of ours broke: reported as an error rather than a panic.
fn internal(what: &str) -> Error {
    Error::Gpu(format!("internal error ({what}); please report it"))
}
