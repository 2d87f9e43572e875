//! Textures and buffers kept between frames: source planes with their mip chains, the
//! output texture and its readback buffer.

use super::draw::render_pass;
use super::internal;
use super::pipelines::Pipelines;
use super::readback::Readback;
use crate::Result;
use crate::frame::FrameMut;
use crate::mip::mip_level_count;

/// A 2D texture of `size` with `mip_level_count` levels and one sample, viewed in its own
/// format: the shape of every texture the dewarper makes (sources, targets, readbacks) and of
/// the ones an embedder shares with it.
pub fn create_texture_2d(
    device: &wgpu::Device,
    label: &str,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    mip_level_count: u32,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

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
        // COPY_SRC: tests read the mip levels back.
        let usage = wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::RENDER_ATTACHMENT;
        let texture = create_texture_2d(device, label, (width, height), format, levels, usage);
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
        let mip_groups = level_views
            .split_last()
            .map_or(&[][..], |(_, coarser)| coarser)
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

    /// Records the passes that fill levels 1.. from level 0 (an error where the driver
    /// refuses the mipmap pipeline).
    pub fn encode_mips(
        &self,
        device: &wgpu::Device,
        pipelines: &mut Pipelines,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<()> {
        let pipeline = pipelines.mip(device, self.texture.format())?;
        for (group, target) in self.mip_groups.iter().zip(self.level_views.iter().skip(1)) {
            let mut pass = render_pass(
                encoder,
                "omnidewarp mipmap",
                target,
                wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
            );
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.draw(0..3, 0..1);
        }
        Ok(())
    }
}

/// Our own render target and the buffer it is copied into for reading back.
#[derive(Debug)]
pub(crate) struct Output {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    readback: Readback,
    pub size: (u32, u32),
    pub format: wgpu::TextureFormat,
}

impl Output {
    pub fn new(device: &wgpu::Device, size: (u32, u32), format: wgpu::TextureFormat) -> Self {
        let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC;
        let texture = create_texture_2d(device, "omnidewarp output", size, format, 1, usage);
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self {
            readback: Readback::new(device, format, size),
            texture,
            view,
            size,
            format,
        }
    }

    /// Records the copy of the texture into the readback buffer.
    pub fn encode_copy(&self, encoder: &mut wgpu::CommandEncoder) {
        self.readback.encode_copy(encoder, &self.texture, 0);
    }

    /// Maps the buffer (after the copy was submitted), waits, and hands each row (without
    /// its padding) to `row`.
    pub fn read(&self, device: &wgpu::Device, row: impl FnMut(usize, &[u8])) -> Result<()> {
        self.readback.read(device, row)
    }

    /// [`Output::read`] into an RGBA8 frame of the output's size.
    pub fn read_into(&self, device: &wgpu::Device, dst: &mut FrameMut<'_>) -> Result<()> {
        let Some(plane) = dst.planes_mut().first_mut() else {
            return Err(internal("a frame has a plane"));
        };
        self.read(device, |j, row| {
            if let Some(dst) = plane.row_mut(j).get_mut(..row.len()) {
                dst.copy_from_slice(row);
            }
        })
    }
}
