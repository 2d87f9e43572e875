//! Reading back: our output textures copied into the caller's frames (RGBA8, or I420 as
//! three planes).

use super::device::scoped;
use super::pipelines::Entry;
use super::resources::Output;
use super::{GpuDewarper, internal};
use crate::frame::{FrameMut, PixelFormat};
use crate::{Error, Result};

impl GpuDewarper {
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
    pub(super) fn read_i420(&mut self, dst: &mut FrameMut<'_>) -> Result<()> {
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
                y.row_mut(j)[..row.len()].copy_from_slice(row);
            })?;
            chroma.read(&self.device, |j, row| {
                let (u_row, v_row) = (
                    &mut u.row_mut(j)[..row.len() / 2],
                    &mut v.row_mut(j)[..row.len() / 2],
                );
                for ((pair, u), v) in row.chunks_exact(2).zip(u_row).zip(v_row) {
                    *u = pair[0];
                    *v = pair[1];
                }
            })
        })
    }

    /// Checks `dst` against the view: its size, and RGBA8 (or I420 when `yuv_source`).
    pub(super) fn check_output(&self, dst: &FrameMut<'_>, yuv_source: bool) -> Result<()> {
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
