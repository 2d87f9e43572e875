//! Source upload: a frame's planes into our textures (RGB8 expanded to RGBA), or a
//! caller's texture bound (or copied, for anti-aliasing), and the mip chains built.

use super::config::{SOURCE_GRAY, SOURCE_I420, SOURCE_NV12, SOURCE_RGB, SOURCE_RGBA, SourceInfo};
use super::device::scoped;
use super::pipelines::DEWARP_PLANES;
use super::resources::PlaneTexture;
use super::{GpuDewarper, SOURCE_TEXTURE_FORMATS, internal};
use crate::frame::{Frame, PixelFormat};
use crate::{Error, Result};

/// What the source textures are: per-plane formats and the frame size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SourceKey {
    formats: [Option<wgpu::TextureFormat>; 3],
    size: (u32, u32),
}

/// The current source: our own plane textures (with mip chains), or a caller's texture
/// bound as it is (no anti-aliasing).
#[derive(Debug)]
pub(super) struct Source {
    key: SourceKey,
    /// Our planes; empty when the caller's texture is bound directly.
    pub(super) planes: Vec<PlaneTexture>,
    pub(super) bind_group: wgpu::BindGroup,
    pub(super) info: SourceInfo,
    /// Whether the mip levels hold the current level 0.
    mips_ready: bool,
    /// The caller's texture, when the source is one.
    caller: Option<wgpu::Texture>,
}

impl GpuDewarper {
    /// Makes `info` the current source description: the calibration is scaled to its size.
    fn describe_source(&mut self, info: &SourceInfo) -> Result<()> {
        let stale = self.source.as_ref().is_none_or(|s| s.info != *info)
            || self
                .scaled
                .as_ref()
                .is_none_or(|c| c.image_size != info.size);
        if stale {
            self.scaled = Some(self.calibration.scaled_to(info.size.0, info.size.1)?);
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
                let (Some(texture), Some(data)) = (source.planes.get(k), data.get(..needed)) else {
                    return Err(internal("a plane texture per checked frame plane"));
                };
                self.queue.write_texture(
                    texture.texture.as_image_copy(),
                    data,
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
                let Some(plane) = source.planes.first() else {
                    return Err(internal("own_source made a plane"));
                };
                let mut encoder = self.device.create_command_encoder(&Default::default());
                encoder.copy_texture_to_texture(
                    texture.as_image_copy(),
                    plane.texture.as_image_copy(),
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
    pub(super) fn ensure_mips(&mut self) -> Result<()> {
        if !self.options.antialias {
            return Ok(());
        }
        refuse_software_gl_mips(&self.device)?;
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
                plane.encode_mips(&self.device, &mut self.pipelines, &mut encoder)?;
            }
        }
        self.queue.submit([encoder.finish()]);
        if let Some(source) = &mut self.source {
            source.mips_ready = true;
        }
        Ok(())
    }
}

/// RGB rows (any stride) → tightly packed RGBA with alpha 255, into a reused buffer.
fn expand_rgb(out: &mut Vec<u8>, data: &[u8], stride: usize, (w, h): (u32, u32)) {
    let (w, h) = (w as usize, h as usize);
    out.resize(w * h * 4, 0);
    for (j, row) in out.chunks_exact_mut(w * 4).enumerate().take(h) {
        // A checked frame's plane holds its rows; a missing one stays as it was.
        let src = data.get(j * stride..j * stride + w * 3).unwrap_or_default();
        for (o, i) in row.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
            if let ([r, g, b, a], &[ir, ig, ib]) = (o, i) {
                (*r, *g, *b, *a) = (ir, ig, ib, 255);
            }
        }
    }
}

/// Anti-aliasing reads mip levels that differ between neighbouring pixels. Mesa's llvmpipe
/// through OpenGL reads one pixel's level for its neighbours too (as it answers
/// `textureDimensions(t, level)`, see shaders/sample.wgsl): ≈ 2 % of a minified view's
/// pixels come out far off (|Δ| up to 247, `tests/gpu_parity.rs`), so that is an error
/// rather than a wrong picture. Its Vulkan driver (lavapipe) reads them right.
fn refuse_software_gl_mips(device: &wgpu::Device) -> Result<()> {
    let info = device.adapter_info();
    if info.backend == wgpu::Backend::Gl && info.device_type == wgpu::DeviceType::Cpu {
        return Err(Error::Gpu(format!(
            "anti-aliasing is not available on {} through OpenGL (it reads mip levels wrongly): \
             use its Vulkan driver (Debian/Ubuntu: mesa-vulkan-drivers), the CPU backend, or \
             anti-aliasing off",
            info.name
        )));
    }
    Ok(())
}
