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
//! | a caller's texture | [`GpuDewarper::render_to`] (our render pass), or [`GpuDewarper::prepare`] + [`GpuDewarper::draw`] (the caller's render pass) |
//!
//! ```no_run
//! use omnidewarp::gpu::GpuDewarper;
//! use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
//! use omnidewarp::{DewarpOptions, Frame, FrameMut, PixelFormat};
//! # fn main() -> omnidewarp::Result<()> {
//! let ring = RingModel::new(glam::DVec2::new(63.5, 63.5), (20.0, 60.0), (-0.9, 0.6), 0.0, true)?;
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
mod pipelines;
mod resources;
mod shaders;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use device::headless_device;

use config::{
    DewarpConfig, SOURCE_GRAY, SOURCE_I420, SOURCE_NV12, SOURCE_RGB, SOURCE_RGBA, SourceInfo,
    Variant,
};
use device::scoped;
use pipelines::{DEWARP_PLANES, Entry, PipelineKey, Pipelines};
use resources::{Output, PlaneTexture};

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

/// What the source textures are: per-plane formats and the frame size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceKey {
    formats: [Option<wgpu::TextureFormat>; 3],
    size: (u32, u32),
}

/// The current source: our own plane textures (with mip chains), or a caller's texture
/// bound as it is (no anti-aliasing).
#[derive(Debug)]
struct Source {
    key: SourceKey,
    /// Our planes; empty when the caller's texture is bound directly.
    planes: Vec<PlaneTexture>,
    bind_group: wgpu::BindGroup,
    info: SourceInfo,
    /// Whether the mip levels hold the current level 0.
    mips_ready: bool,
    /// The caller's texture, when the source is one.
    caller: Option<wgpu::Texture>,
}

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
    calibration: Calibration,
    view: View,
    options: DewarpOptions,
    /// The calibration scaled to the current source's size.
    scaled: Option<Calibration>,
    pipelines: Pipelines,
    uniform: wgpu::Buffer,
    uniform_stale: bool,
    /// What the uniform holds.
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
    /// [`Error::NoGpu`] when there is no adapter.
    pub fn new(calibration: Calibration, view: View, options: DewarpOptions) -> Result<Self> {
        let (device, queue, info) = headless_device()?;
        let mut dewarper = Self::with_device(&device, &queue, calibration, view, options)?;
        dewarper.adapter = Some(info);
        Ok(dewarper)
    }

    /// A dewarper on the caller's device and queue (wgpu handles are shared, not copied).
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
            let dummy = device
                .create_texture(&wgpu::TextureDescriptor {
                    label: Some("omnidewarp unused plane"),
                    size: wgpu::Extent3d {
                        width: 1,
                        height: 1,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: wgpu::TextureFormat::R8Unorm,
                    usage: wgpu::TextureUsages::TEXTURE_BINDING,
                    view_formats: &[],
                })
                .create_view(&wgpu::TextureViewDescriptor::default());
            Ok(Self {
                device: device.clone(),
                queue: queue.clone(),
                adapter: None,
                calibration,
                view,
                options,
                scaled: None,
                pipelines,
                uniform,
                uniform_stale: true,
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

    /// The current view.
    #[must_use]
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Changes the view (pan, zoom, projection, size): a uniform update, nothing rebuilt
    /// (the readback texture follows the size on the next frame).
    pub fn set_view(&mut self, view: View) -> Result<()> {
        view.validate()?;
        self.view = view;
        self.uniform_stale = true;
        Ok(())
    }

    /// The sampling options.
    #[must_use]
    pub fn options(&self) -> &DewarpOptions {
        &self.options
    }

    /// Changes the sampling options. The fill is a uniform update; interpolation and
    /// anti-aliasing select another pipeline (built once, on first use), and turning
    /// anti-aliasing on builds the current source's mip chain before the next draw.
    pub fn set_options(&mut self, options: DewarpOptions) {
        self.options = options;
        self.uniform_stale = true;
    }

    /// The calibration, at the size it was made.
    #[must_use]
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
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

    /// Makes `info` the current source description: the calibration is scaled to its size.
    fn describe_source(&mut self, info: &SourceInfo) -> Result<()> {
        let stale = self.source.as_ref().is_none_or(|s| s.info != *info)
            || self
                .scaled
                .as_ref()
                .is_none_or(|c| c.image_size != info.size);
        if stale {
            self.scaled = Some(self.calibration.scaled_to(info.size.0, info.size.1)?);
            self.uniform_stale = true;
        }
        Ok(())
    }

    /// Our own planes for `key`, reused when the key is unchanged.
    fn own_source(&mut self, key: SourceKey, info: SourceInfo, sizes: [(u32, u32); 3]) {
        if let Some(source) = &mut self.source
            && source.key == key
            && !source.planes.is_empty()
        {
            source.info = info;
            source.caller = None;
            source.mips_ready = false;
            return;
        }
        let planes: Vec<PlaneTexture> = key
            .formats
            .iter()
            .zip(sizes)
            .enumerate()
            .filter_map(|(k, (format, size))| {
                let format = (*format)?;
                Some(PlaneTexture::new(
                    &self.device,
                    &self.pipelines,
                    format,
                    size,
                    &format!("omnidewarp source plane {k}"),
                ))
            })
            .collect();
        let views: Vec<&wgpu::TextureView> = planes.iter().map(|p| &p.view).collect();
        let bind_group = self.bind_group(&views);
        self.source = Some(Source {
            key,
            planes,
            bind_group,
            info,
            mips_ready: false,
            caller: None,
        });
    }

    fn bind_group(&self, views: &[&wgpu::TextureView]) -> wgpu::BindGroup {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: self.uniform.as_entire_binding(),
        }];
        for k in 0..DEWARP_PLANES {
            entries.push(wgpu::BindGroupEntry {
                binding: k + 1,
                resource: wgpu::BindingResource::TextureView(
                    views.get(k as usize).copied().unwrap_or(&self.dummy),
                ),
            });
        }
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("omnidewarp dewarp"),
            layout: &self.pipelines.dewarp_group_layout,
            entries: &entries,
        })
    }

    /// Uploads a frame (and builds its mip chains when anti-aliasing is on). Textures are
    /// reused while the frame's format and size stay the same.
    pub fn upload(&mut self, frame: &Frame<'_>) -> Result<()> {
        let (w, h) = (frame.width(), frame.height());
        self.check_size("the frame", (w, h))?;
        let format = frame.format();
        let (kind, formats) = match format {
            PixelFormat::Rgba8 => (
                SOURCE_RGBA,
                [Some(wgpu::TextureFormat::Rgba8Unorm), None, None],
            ),
            PixelFormat::Rgb8 => (
                SOURCE_RGB,
                [Some(wgpu::TextureFormat::Rgba8Unorm), None, None],
            ),
            PixelFormat::Gray8 => (
                SOURCE_GRAY,
                [Some(wgpu::TextureFormat::R8Unorm), None, None],
            ),
            PixelFormat::I420 => (SOURCE_I420, [Some(wgpu::TextureFormat::R8Unorm); 3]),
            PixelFormat::Nv12 => (
                SOURCE_NV12,
                [
                    Some(wgpu::TextureFormat::R8Unorm),
                    Some(wgpu::TextureFormat::Rg8Unorm),
                    None,
                ],
            ),
        };
        let chroma = if format.is_yuv() {
            (w.div_ceil(2), h.div_ceil(2))
        } else {
            (w, h)
        };
        let info = SourceInfo {
            kind,
            size: (w, h),
            chroma,
            color: frame.color(),
        };
        self.describe_source(&info)?;
        let device = self.device.clone();
        scoped(&device, "uploading a frame", || {
            let sizes = [(w, h), chroma, chroma];
            self.own_source(
                SourceKey {
                    formats,
                    size: (w, h),
                },
                info,
                sizes,
            );
            for k in 0..format.plane_count() {
                let (pw, ph, channels) = format.plane_shape(k, w, h);
                let plane = frame.plane(k);
                let (data, stride, channels) = if format == PixelFormat::Rgb8 {
                    expand_rgb(&mut self.staging, plane.data, plane.stride, (pw, ph));
                    (&self.staging[..], pw as usize * 4, 4)
                } else {
                    (plane.data, plane.stride, channels)
                };
                let row = pw as usize * channels;
                let needed = stride * (ph as usize - 1) + row;
                let Some(source) = &self.source else {
                    return Err(internal("own_source just made it"));
                };
                self.queue.write_texture(
                    source.planes[k].texture.as_image_copy(),
                    &data[..needed],
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(stride as u32),
                        rows_per_image: Some(ph),
                    },
                    wgpu::Extent3d {
                        width: pw,
                        height: ph,
                        depth_or_array_layers: 1,
                    },
                );
            }
            self.ensure_mips()
        })
    }

    /// Makes a caller's texture the source (its current content: call again after each
    /// change). Formats: [`SOURCE_TEXTURE_FORMATS`]; usage `TEXTURE_BINDING`, plus
    /// `COPY_SRC` when anti-aliasing is on (level 0 is copied into a mipmapped texture of
    /// ours). Without anti-aliasing the texture is read where it is.
    pub fn set_source_texture(&mut self, texture: &wgpu::Texture) -> Result<()> {
        let format = texture.format();
        if !SOURCE_TEXTURE_FORMATS.contains(&format) {
            return Err(Error::Gpu(format!(
                "source textures must be one of {SOURCE_TEXTURE_FORMATS:?}, got {format:?}"
            )));
        }
        if texture.dimension() != wgpu::TextureDimension::D2
            || texture.depth_or_array_layers() != 1
            || texture.sample_count() != 1
        {
            return Err(Error::Gpu(
                "source textures must be single-sampled 2D textures with one layer".into(),
            ));
        }
        if !texture
            .usage()
            .contains(wgpu::TextureUsages::TEXTURE_BINDING)
        {
            return Err(Error::Gpu(
                "the source texture needs TextureUsages::TEXTURE_BINDING".into(),
            ));
        }
        if self.options.antialias && !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
            return Err(Error::Gpu(
                "with anti-aliasing on, the source texture needs TextureUsages::COPY_SRC (its \
                 mip chain is built in a copy)"
                    .into(),
            ));
        }
        let size = (texture.width(), texture.height());
        let info = SourceInfo {
            kind: if format == wgpu::TextureFormat::R8Unorm {
                SOURCE_GRAY
            } else {
                SOURCE_RGBA
            },
            size,
            chroma: size,
            color: Default::default(),
        };
        self.describe_source(&info)?;
        let device = self.device.clone();
        scoped(&device, "binding a source texture", || {
            if self.options.antialias {
                let key = SourceKey {
                    formats: [Some(format), None, None],
                    size,
                };
                self.own_source(key, info, [size; 3]);
                let Some(source) = &mut self.source else {
                    return Err(internal("own_source just made it"));
                };
                let mut encoder = self.device.create_command_encoder(&Default::default());
                encoder.copy_texture_to_texture(
                    texture.as_image_copy(),
                    source.planes[0].texture.as_image_copy(),
                    texture.size(),
                );
                self.queue.submit([encoder.finish()]);
                source.caller = Some(texture.clone());
                self.ensure_mips()
            } else {
                let view = texture.create_view(&wgpu::TextureViewDescriptor {
                    base_mip_level: 0,
                    mip_level_count: Some(1),
                    ..Default::default()
                });
                let bind_group = self.bind_group(&[&view]);
                self.source = Some(Source {
                    key: SourceKey {
                        formats: [Some(format), None, None],
                        size,
                    },
                    planes: Vec::new(),
                    bind_group,
                    info,
                    mips_ready: true,
                    caller: Some(texture.clone()),
                });
                Ok(())
            }
        })
    }

    /// With anti-aliasing on, builds the mip chains of the current source if they are stale.
    fn ensure_mips(&mut self) -> Result<()> {
        if !self.options.antialias {
            return Ok(());
        }
        let Some(source) = &self.source else {
            return Ok(());
        };
        if source.mips_ready {
            return Ok(());
        }
        if source.planes.is_empty() {
            // A caller's texture bound as it is: copy it into a mipmapped one.
            if let Some(texture) = source.caller.clone() {
                return self.set_source_texture(&texture);
            }
            return Ok(());
        }
        let mut encoder = self.device.create_command_encoder(&Default::default());
        if let Some(source) = &self.source {
            for plane in &source.planes {
                plane.encode_mips(&self.device, &mut self.pipelines, &mut encoder);
            }
        }
        self.queue.submit([encoder.finish()]);
        if let Some(source) = &mut self.source {
            source.mips_ready = true;
        }
        Ok(())
    }

    /// Writes the uniform block if the view, options or source changed.
    fn update_uniform(&mut self) -> Result<()> {
        let (Some(source), Some(scaled)) = (&self.source, &self.scaled) else {
            return Err(Error::Gpu(
                "nothing to draw: upload a frame or set a source texture first".into(),
            ));
        };
        if self.uniform_stale {
            let config = DewarpConfig::new(scaled, &self.view, &self.options, &source.info);
            self.queue
                .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&config));
            self.config = Some(config);
            self.uniform_stale = false;
        }
        Ok(())
    }

    /// Gets the current source, mips and uniform ready and builds the pipeline for targets
    /// of `format` with `sample_count` samples, for [`GpuDewarper::draw`] in a render pass
    /// of the caller's. `format` must be one of [`TARGET_FORMATS`].
    ///
    /// The uniform block is written through the queue: it takes effect at the next
    /// submission, so draw one view of one dewarper per submission.
    pub fn prepare(&mut self, format: wgpu::TextureFormat, sample_count: u32) -> Result<()> {
        self.prepare_entry(format, sample_count, Entry::Dewarp)
    }

    fn prepare_entry(
        &mut self,
        format: wgpu::TextureFormat,
        sample_count: u32,
        entry: Entry,
    ) -> Result<()> {
        if entry == Entry::Dewarp && !TARGET_FORMATS.contains(&format) {
            return Err(Error::Gpu(format!(
                "render targets must be one of {TARGET_FORMATS:?}, got {format:?}"
            )));
        }
        let device = self.device.clone();
        let key = scoped(&device, "preparing to draw", || {
            self.ensure_mips()?;
            self.update_uniform()?;
            let (Some(source), Some(config)) = (&self.source, &self.config) else {
                return Err(internal("update_uniform made them"));
            };
            let key = (
                format,
                sample_count,
                entry,
                Variant::new(&config.model, source.info.kind, &self.options),
            );
            self.pipelines.dewarp(&device, key);
            Ok(key)
        })?;
        self.prepared = Some(key);
        Ok(())
    }

    /// Records the view into the caller's render pass, at `origin` (top-left, in target
    /// pixels) and the view's size. Sets the pass's viewport and pipeline; the pass's colour
    /// target must have the format and sample count given to [`GpuDewarper::prepare`].
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, origin: [u32; 2]) -> Result<()> {
        self.draw_entry(pass, origin, Entry::Dewarp)
    }

    fn draw_entry(
        &self,
        pass: &mut wgpu::RenderPass<'_>,
        origin: [u32; 2],
        entry: Entry,
    ) -> Result<()> {
        let (Some(key), Some(source)) = (self.prepared, &self.source) else {
            return Err(Error::Gpu("draw needs prepare first".into()));
        };
        let Some(pipeline) = self.pipelines.built(&key).filter(|_| key.2 == entry) else {
            return Err(Error::Gpu("draw needs prepare first".into()));
        };
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &source.bind_group, &[]);
        let (w, h) = entry.size((self.view.width, self.view.height));
        pass.set_viewport(
            origin[0] as f32,
            origin[1] as f32,
            w as f32,
            h as f32,
            0.0,
            1.0,
        );
        pass.draw(0..3, 0..1);
        Ok(())
    }

    /// Records a render pass that draws the view into the caller's `target` at `origin`
    /// (other pixels are kept). The target's texture needs `RENDER_ATTACHMENT`, one of
    /// [`TARGET_FORMATS`], and room for the view at `origin`; the view must be of its
    /// level 0.
    pub fn render_to(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        origin: [u32; 2],
    ) -> Result<()> {
        let texture = target.texture();
        if !texture
            .usage()
            .contains(wgpu::TextureUsages::RENDER_ATTACHMENT)
        {
            return Err(Error::Gpu(
                "the target texture needs TextureUsages::RENDER_ATTACHMENT".into(),
            ));
        }
        let (x, y) = (
            u64::from(origin[0]) + u64::from(self.view.width),
            u64::from(origin[1]) + u64::from(self.view.height),
        );
        if x > u64::from(texture.width()) || y > u64::from(texture.height()) {
            return Err(Error::OutputLayout(format!(
                "a {}×{} view at {origin:?} does not fit a {}×{} target",
                self.view.width,
                self.view.height,
                texture.width(),
                texture.height()
            )));
        }
        self.prepare(texture.format(), texture.sample_count())?;
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("omnidewarp view"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Load,
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        self.draw(&mut pass, origin)
    }

    /// Draws each `(format, entry)` into our own output texture for it (sized per
    /// [`Entry::size`]), in one submission.
    fn render_outputs(&mut self, targets: &[(wgpu::TextureFormat, Entry)]) -> Result<()> {
        let view_size = (self.view.width, self.view.height);
        self.check_size("the view", view_size)?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        for &(format, entry) in targets {
            self.prepare_entry(format, 1, entry)?;
            let size = entry.size(view_size);
            let device = self.device.clone();
            scoped(&device, "rendering", || {
                if self
                    .outputs
                    .get(&entry)
                    .is_none_or(|o| o.size != size || o.format != format)
                {
                    self.outputs
                        .insert(entry, Output::new(&device, size, format));
                }
                let Some(output) = self.outputs.get(&entry) else {
                    return Err(internal("inserted above"));
                };
                let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("omnidewarp view"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &output.view,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                            store: wgpu::StoreOp::Store,
                        },
                    })],
                    depth_stencil_attachment: None,
                    timestamp_writes: None,
                    occlusion_query_set: None,
                    multiview_mask: None,
                });
                self.draw_entry(&mut pass, [0, 0], entry)
            })?;
        }
        self.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Draws the view of the current source into our own RGBA8 output texture (submitted,
    /// not waited for). [`GpuDewarper::read_output`] reads it back.
    pub fn render(&mut self) -> Result<()> {
        self.render_outputs(&[(wgpu::TextureFormat::Rgba8Unorm, Entry::Dewarp)])
    }

    /// Our output texture of `entry`, when the last render drew it at the current view size.
    fn drawn(&self, entry: Entry) -> Result<&Output> {
        let size = entry.size((self.view.width, self.view.height));
        self.outputs
            .get(&entry)
            .filter(|o| o.size == size)
            .ok_or_else(|| Error::Gpu("read_output needs render first".into()))
    }

    /// Copies the last [`GpuDewarper::render`] into `dst` (RGBA8, the view's size), waiting
    /// for the GPU.
    pub fn read_output(&mut self, dst: &mut FrameMut<'_>) -> Result<()> {
        self.check_output(dst, false)?;
        let output = self.drawn(Entry::Dewarp)?;
        scoped(&self.device, "reading back", || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            output.encode_copy(&mut encoder);
            self.queue.submit([encoder.finish()]);
            output.read_into(&self.device, dst)
        })
    }

    /// Copies the Y, U and V planes of the last I420 render into `dst`, waiting for the GPU.
    fn read_i420(&mut self, dst: &mut FrameMut<'_>) -> Result<()> {
        let (luma, chroma) = (self.drawn(Entry::Luma)?, self.drawn(Entry::Chroma)?);
        scoped(&self.device, "reading back", || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            luma.encode_copy(&mut encoder);
            chroma.encode_copy(&mut encoder);
            self.queue.submit([encoder.finish()]);
            let [y, u, v] = dst.planes_mut() else {
                return Err(internal("I420 has three planes"));
            };
            luma.read(&self.device, |j, row| {
                y.data[j * y.stride..][..row.len()].copy_from_slice(row);
            })?;
            chroma.read(&self.device, |j, row| {
                let (u_row, v_row) = (
                    &mut u.data[j * u.stride..][..row.len() / 2],
                    &mut v.data[j * v.stride..][..row.len() / 2],
                );
                for ((pair, u), v) in row.chunks_exact(2).zip(u_row).zip(v_row) {
                    *u = pair[0];
                    *v = pair[1];
                }
            })
        })
    }

    /// Checks `dst` against the view: its size, and RGBA8 (or I420 when `yuv_source`).
    fn check_output(&self, dst: &FrameMut<'_>, yuv_source: bool) -> Result<()> {
        if (dst.width(), dst.height()) != (self.view.width, self.view.height) {
            return Err(Error::OutputLayout(format!(
                "output is {}×{}, the view is {}×{}",
                dst.width(),
                dst.height(),
                self.view.width,
                self.view.height
            )));
        }
        match dst.format() {
            PixelFormat::Rgba8 => Ok(()),
            PixelFormat::I420 if yuv_source => Ok(()),
            PixelFormat::I420 => Err(Error::OutputLayout(
                "the GPU writes I420 from I420 or NV12 frames only".into(),
            )),
            other => Err(Error::OutputLayout(format!(
                "the GPU writes RGBA8 or I420, not {other:?}"
            ))),
        }
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

    /// The mapping of every view pixel as the shader computes it: `[x, y, lod, 1]`, or zeros
    /// outside the content (tests hold it against the CPU's exact mapping).
    #[cfg(test)]
    pub(crate) fn probe(&mut self) -> Result<Vec<[f32; 4]>> {
        self.render_outputs(&[(wgpu::TextureFormat::Rgba32Float, Entry::Probe)])?;
        let output = self.drawn(Entry::Probe)?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        output.encode_copy(&mut encoder);
        self.queue.submit([encoder.finish()]);
        let mut out = Vec::new();
        output.read(&self.device, |_, row| {
            out.extend(
                row.chunks_exact(16)
                    .map(bytemuck::pod_read_unaligned::<[f32; 4]>),
            );
        })?;
        Ok(out)
    }
}

/// An invariant of ours broke: reported as an error rather than a panic.
fn internal(what: &str) -> Error {
    Error::Gpu(format!("internal error ({what}); please report it"))
}

/// RGB rows (any stride) → tightly packed RGBA with alpha 255, into a reused buffer.
fn expand_rgb(out: &mut Vec<u8>, data: &[u8], stride: usize, (w, h): (u32, u32)) {
    let (w, h) = (w as usize, h as usize);
    out.resize(w * h * 4, 0);
    for (j, row) in out.chunks_exact_mut(w * 4).enumerate().take(h) {
        let src = &data[j * stride..j * stride + w * 3];
        for (o, i) in row.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
            o[..3].copy_from_slice(i);
            o[3] = 255;
        }
    }
}
