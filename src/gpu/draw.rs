//! Drawing: the uniform block written, the pipeline prepared, and the view drawn into the
//! caller's render pass, the caller's target or our own output textures.

use super::config::{DewarpConfig, Variant};
use super::device::scoped;
use super::pipelines::Entry;
use super::resources::Output;
use super::{GpuDewarper, TARGET_FORMATS, internal};
use crate::{Error, Result};

impl GpuDewarper {
    /// Writes the uniform block if the view, options or source changed.
    fn update_uniform(&mut self) -> Result<()> {
        let (Some(source), Some(scaled)) = (&self.source, &self.scaled) else {
            return Err(Error::Gpu(
                "nothing to draw: upload a frame or set a source texture first".into(),
            ));
        };
        let config = DewarpConfig::new(scaled, &self.view, &self.options, &source.info);
        let bytes = bytemuck::bytes_of(&config);
        if self.config.as_ref().map(bytemuck::bytes_of) != Some(bytes) {
            self.queue.write_buffer(&self.uniform, 0, bytes);
            self.config = Some(config);
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
            self.pipelines.dewarp(&device, key)?;
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
        let mut pass = render_pass(encoder, "omnidewarp view", target, wgpu::LoadOp::Load);
        self.draw(&mut pass, origin)
    }

    /// Draws each `(format, entry)` into our own output texture for it (sized per
    /// [`Entry::size`]), in one submission.
    pub(super) fn render_outputs(
        &mut self,
        targets: &[(wgpu::TextureFormat, Entry)],
    ) -> Result<()> {
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
                let mut pass = render_pass(
                    &mut encoder,
                    "omnidewarp view",
                    &output.view,
                    wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                );
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
}

/// Begins a render pass with `target` as its one colour attachment (loaded with `load`,
/// stored), no depth, no queries: the pass every draw of ours records.
pub(super) fn render_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    target: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}
