//! Textures and buffers kept between frames: source planes with their mip chains, the
//! output texture and its readback buffer.

use super::draw::render_pass;
use super::pipelines::Pipelines;
use crate::frame::FrameMut;
use crate::mip::mip_level_count;
use crate::{Error, Result};

/// One source plane: a texture with a full mip chain (levels above 0 are filled by the mip
/// pipeline when anti-aliasing is on), a view of all levels for the dewarp pass, and one view
/// plus one bind group per level for the mip passes.
#[derive(Debug)]
pub(crate) struct PlaneTexture {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    level_views: Vec<wgpu::TextureView>,
    /// `mip_groups[k]` reads level `k` (to write level `k + 1`).
    mip_groups: Vec<wgpu::BindGroup>,
}

impl PlaneTexture {
    pub fn new(
        device: &wgpu::Device,
        pipelines: &Pipelines,
        format: wgpu::TextureFormat,
        (width, height): (u32, u32),
        label: &str,
    ) -> Self {
        let levels = mip_level_count(width, height);
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: levels,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            // COPY_SRC: tests read the mip levels back.
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let level_views: Vec<wgpu::TextureView> = (0..levels)
            .map(|k| {
                texture.create_view(&wgpu::TextureViewDescriptor {
                    base_mip_level: k,
                    mip_level_count: Some(1),
                    ..Default::default()
                })
            })
            .collect();
        let mip_groups = level_views[..level_views.len() - 1]
            .iter()
            .map(|v| {
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(label),
                    layout: &pipelines.mip_group_layout,
                    entries: &[wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(v),
                    }],
                })
            })
            .collect();
        Self {
            texture,
            view,
            level_views,
            mip_groups,
        }
    }

    /// Records the passes that fill levels 1.. from level 0.
    pub fn encode_mips(
        &self,
        device: &wgpu::Device,
        pipelines: &mut Pipelines,
        encoder: &mut wgpu::CommandEncoder,
    ) {
        let pipeline = pipelines.mip(device, self.texture.format());
        for (k, group) in self.mip_groups.iter().enumerate() {
            let mut pass = render_pass(
                encoder,
                "omnidewarp mipmap",
                &self.level_views[k + 1],
                wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
            );
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.draw(0..3, 0..1);
        }
    }
}

/// Bytes per row of a readback buffer: `row` rounded up to wgpu's 256-byte copy alignment.
pub(crate) fn padded_row(row: u32) -> u32 {
    row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// Our own render target and the buffer it is copied into for reading back.
#[derive(Debug)]
pub(crate) struct Output {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    buffer: wgpu::Buffer,
    pub size: (u32, u32),
    pub format: wgpu::TextureFormat,
    padded_row: u32,
}

impl Output {
    pub fn new(device: &wgpu::Device, size: (u32, u32), format: wgpu::TextureFormat) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("omnidewarp output"),
            size: wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let texel = format.block_copy_size(None).unwrap_or(4);
        let padded_row = padded_row(size.0 * texel);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("omnidewarp readback"),
            size: u64::from(padded_row) * u64::from(size.1),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            texture,
            view,
            buffer,
            size,
            format,
            padded_row,
        }
    }

    /// Records the copy of the texture into the readback buffer.
    pub fn encode_copy(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &self.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: Some(self.size.1),
                },
            },
            wgpu::Extent3d {
                width: self.size.0,
                height: self.size.1,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Maps the buffer (after the copy was submitted), waits, and hands each row (without
    /// its padding) to `row`.
    pub fn read(&self, device: &wgpu::Device, mut row: impl FnMut(usize, &[u8])) -> Result<()> {
        let slice = self.buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // The receiver lives until the result is read below.
            let _ = tx.send(r);
        });
        super::device::wait(device)?;
        rx.recv()
            .map_err(|_| Error::Gpu("readback: the map callback never ran".into()))?
            .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
        {
            let data = slice
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
            let texel = self.format.block_copy_size(None).unwrap_or(4) as usize;
            let (w, padded) = (self.size.0 as usize * texel, self.padded_row as usize);
            for (j, chunk) in data.chunks(padded).take(self.size.1 as usize).enumerate() {
                row(j, &chunk[..w]);
            }
        }
        self.buffer.unmap();
        Ok(())
    }

    /// [`Output::read`] into an RGBA8 frame of the output's size.
    pub fn read_into(&self, device: &wgpu::Device, dst: &mut FrameMut<'_>) -> Result<()> {
        let plane = &mut dst.planes_mut()[0];
        self.read(device, |j, row| {
            plane.row_mut(j)[..row.len()].copy_from_slice(row);
        })
    }
}
