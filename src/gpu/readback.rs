//! Reading back, the one way textures come back from the GPU: [`Readback`] (a buffer the
//! texture is copied into, mapped and read row by row) serves our output textures (copied
//! into the caller's frames: RGBA8, or I420 as three planes) and [`read_texture`] (any
//! texture of the caller's, into a [`FrameBuf`]).

use super::device::{scoped, wait};
use super::pipelines::Entry;
use super::resources::Output;
use super::{GpuDewarper, internal};
use crate::frame::{FrameBuf, FrameMut, PixelFormat};
use crate::{Error, Result};

/// A buffer that one mip level of a texture is copied into for reading back, with rows
/// padded to wgpu's 256-byte copy alignment.
#[derive(Debug)]
pub(crate) struct Readback {
    buffer: wgpu::Buffer,
    /// The size of the level copied, in texels.
    size: (u32, u32),
    /// Bytes of one row without and with its padding.
    row_bytes: u32,
    padded_row: u32,
}

impl Readback {
    /// A readback buffer for a `size` level of a `format` texture.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat, size: (u32, u32)) -> Self {
        let row_bytes = size.0 * format.block_copy_size(None).unwrap_or(4);
        let padded_row = row_bytes.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("omnidewarp readback"),
            size: u64::from(padded_row) * u64::from(size.1),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            buffer,
            size,
            row_bytes,
            padded_row,
        }
    }

    /// Records the copy of mip level `level` of `texture` (of this buffer's size) into the
    /// buffer.
    pub fn encode_copy(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        level: u32,
    ) {
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: level,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
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
        wait(device)?;
        rx.recv()
            .map_err(|_| Error::Gpu("readback: the map callback never ran".into()))?
            .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
        {
            let data = slice
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("readback: {e}")))?;
            let (w, padded) = (self.row_bytes as usize, self.padded_row as usize);
            for (j, chunk) in data.chunks(padded).take(self.size.1 as usize).enumerate() {
                row(j, chunk.get(..w).unwrap_or(chunk));
            }
        }
        self.buffer.unmap();
        Ok(())
    }
}

/// Copies mip level `level` of `texture` back, waiting for the GPU, and hands each row
/// (tightly packed) to `row`. Errors of wgpu come back as [`Error::Gpu`].
pub(crate) fn read_level(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    level: u32,
    row: impl FnMut(usize, &[u8]),
) -> Result<()> {
    if !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
        return Err(Error::Gpu(
            "reading a texture back needs its COPY_SRC usage".into(),
        ));
    }
    if level >= texture.mip_level_count() {
        return Err(Error::Gpu(format!(
            "the texture has {} mip levels, not {}",
            texture.mip_level_count(),
            level + 1
        )));
    }
    let size = (
        (texture.width() >> level).max(1),
        (texture.height() >> level).max(1),
    );
    scoped(device, "reading a texture back", || {
        let readback = Readback::new(device, texture.format(), size);
        let mut encoder = device.create_command_encoder(&Default::default());
        readback.encode_copy(&mut encoder, texture, level);
        queue.submit([encoder.finish()]);
        readback.read(device, row)
    })
}

/// Reads a texture back into a new frame, waiting for the GPU: level 0 (layer 0) of an
/// `Rgba8Unorm` or `Bgra8Unorm` texture (either sRGB or not: the stored bytes) as
/// [`PixelFormat::Rgba8`] (BGRA swizzled to RGBA), of an `R8Unorm` one as
/// [`PixelFormat::Gray8`]. The texture needs `COPY_SRC` usage.
///
/// This is how the library reads its own targets back, and how a caller checks or saves what
/// [`GpuDewarper::render_to`] or [`GpuDewarper::draw`] drew into its texture (e.g. with
/// [`output::save_image`](crate::output::save_image)). [`Error::Gpu`] for other formats
/// and for what wgpu refuses.
pub fn read_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<FrameBuf> {
    use wgpu::TextureFormat as F;
    let (format, bgra) = match texture.format() {
        F::Rgba8Unorm | F::Rgba8UnormSrgb => (PixelFormat::Rgba8, false),
        F::Bgra8Unorm | F::Bgra8UnormSrgb => (PixelFormat::Rgba8, true),
        F::R8Unorm => (PixelFormat::Gray8, false),
        other => {
            return Err(Error::Gpu(format!(
                "read_texture reads RGBA8, BGRA8 or R8 textures, not {other:?}"
            )));
        }
    };
    let mut frame = FrameBuf::new(format, texture.width(), texture.height())?;
    {
        let mut out = frame.frame_mut();
        let Some(plane) = out.planes_mut().first_mut() else {
            return Err(internal("a frame has a plane"));
        };
        read_level(device, queue, texture, 0, |j, row| {
            if let Some(dst) = plane.row_mut(j).get_mut(..row.len()) {
                dst.copy_from_slice(row);
                if bgra {
                    dst.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
                }
            }
        })?;
    }
    Ok(frame)
}

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
                if let Some(dst) = y.row_mut(j).get_mut(..row.len()) {
                    dst.copy_from_slice(row);
                }
            })?;
            chroma.read(&self.device, |j, row| {
                let (u_row, v_row) = (u.row_mut(j), v.row_mut(j));
                for ((pair, u), v) in row.chunks_exact(2).zip(u_row).zip(v_row) {
                    if let &[pu, pv] = pair {
                        (*u, *v) = (pu, pv);
                    }
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
