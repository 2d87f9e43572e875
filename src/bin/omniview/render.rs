//! Drawing a view into the window, two ways behind one type:
//! - **GPU**: the library's `GpuDewarper` on the window's own device, drawing straight into
//!   egui's render pass through `egui_wgpu::CallbackTrait` (`prepare` before the pass,
//!   `draw` inside it);
//! - **CPU**: the library's `CpuDewarper` renders the view — faster on a software adapter
//!   (llvmpipe/lavapipe), where the shader itself would run on the CPU. Where the surface
//!   takes copies, the view is rendered into a window-sized picture in the surface's byte
//!   order and written straight into the surface texture, egui drawing over it: on lavapipe
//!   egui's draw of a window-sized image costs ≈ 31 ms a frame (1280×720, 2 cores), the
//!   copy ≈ 2 ms. Elsewhere the view is uploaded into a texture that egui draws.
//!
//! The raw frame (mode 0) is always an uploaded texture.

use std::time::Instant;

use egui_wgpu::wgpu;
use omnidewarp::model::{Calibration, ProjectionKind, View, ViewRequest};
use omnidewarp::{CpuDewarper, DewarpOptions, FrameBuf, GpuDewarper, PixelFormat};

use crate::media::Picture;

/// Which dewarper draws the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The CPU dewarper plus a texture upload.
    Cpu,
    /// The GPU dewarper in the window's pass.
    Gpu,
}

impl Backend {
    /// The name shown in the HUD and `--stats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        }
    }
}

/// Milliseconds spent in the last redraw's stages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Dewarping (CPU), or preparing the draw (GPU: upload of the frame included).
    pub dewarp_ms: f64,
    /// Uploading the view (CPU) or the frame (GPU).
    pub upload_ms: f64,
}

/// What egui should draw for the view.
pub enum Drawn {
    /// Nothing: the view is in the surface picture ([`ViewRenderer::write_surface`]).
    Surface,
    /// This texture, at the view's size.
    Texture(egui::TextureId),
    /// The GPU dewarper's paint callback.
    Callback,
}

/// The window's device, queue, target format and egui renderer.
pub struct Gpu<'a> {
    /// Device.
    pub device: &'a wgpu::Device,
    /// Queue.
    pub queue: &'a wgpu::Queue,
    /// The surface's format.
    pub format: wgpu::TextureFormat,
    /// egui's renderer (owns the textures and the callback resources).
    pub egui: &'a mut egui_wgpu::Renderer,
}

/// A texture egui draws, re-created when its size changes.
struct Uploaded {
    texture: wgpu::Texture,
    id: egui::TextureId,
    size: (u32, u32),
}

impl Uploaded {
    /// Writes tightly packed RGBA `data` of `size`, making the texture when needed.
    fn write(
        slot: &mut Option<Self>,
        gpu: &mut Gpu<'_>,
        size: (u32, u32),
        data: &[u8],
    ) -> egui::TextureId {
        if slot.as_ref().is_none_or(|u| u.size != size) {
            if let Some(old) = slot.take() {
                gpu.egui.free_texture(&old.id);
            }
            // egui's shader takes texture values as gamma-encoded: our sRGB bytes reach a
            // non-sRGB surface unchanged.
            let texture = omnidewarp::gpu::create_texture_2d(
                gpu.device,
                "omniview view",
                size,
                wgpu::TextureFormat::Rgba8Unorm,
                1,
                wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            );
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            let id = gpu
                .egui
                .register_native_texture(gpu.device, &view, wgpu::FilterMode::Linear);
            *slot = Some(Self { texture, id, size });
        }
        let Some(u) = slot.as_ref() else {
            unreachable!("made above")
        };
        gpu.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &u.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(size.0 * 4),
                rows_per_image: Some(size.1),
            },
            wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
        );
        u.id
    }
}

/// Where a view goes: its top-left pixel in a window of `window` pixels.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The view's top-left pixel.
    pub origin: [u32; 2],
    /// The window's size, pixels.
    pub window: (u32, u32),
}

/// A window-sized picture in the surface's byte order: the CPU-rendered view at its place,
/// opaque black around it.
struct SurfacePicture {
    data: Vec<u8>,
    size: (u32, u32),
    /// Where the view is (origin, size).
    view: ([u32; 2], (u32, u32)),
}

impl SurfacePicture {
    /// Makes room for a view of `view_size` at `origin` in a window of `size`, black
    /// around it. Returns whether anything moved (the view must be rendered again).
    fn place(&mut self, size: (u32, u32), origin: [u32; 2], view_size: (u32, u32)) -> bool {
        if (self.size, self.view) == (size, (origin, view_size)) {
            return false;
        }
        let black = [0, 0, 0, 255];
        self.data.clear();
        self.data.resize(size.0 as usize * size.1 as usize * 4, 0);
        self.data
            .chunks_exact_mut(4)
            .for_each(|px| px.copy_from_slice(&black));
        self.size = size;
        self.view = (origin, view_size);
        true
    }

    /// The view's rectangle, as an RGBA output frame.
    fn view_frame(&mut self) -> omnidewarp::Result<omnidewarp::FrameMut<'_>> {
        let stride = self.size.0 as usize * 4;
        let ([x, y], (w, h)) = self.view;
        let start = y as usize * stride + x as usize * 4;
        omnidewarp::FrameMut::new(
            PixelFormat::Rgba8,
            w,
            h,
            [omnidewarp::PlaneMut::new(&mut self.data[start..], stride)],
        )
    }

    /// Swaps red and blue inside the view's rectangle (for a BGRA surface).
    fn swap_red_blue(&mut self) {
        let stride = self.size.0 as usize * 4;
        let ([x, y], (w, h)) = self.view;
        let (x, w) = (x as usize * 4, w as usize * 4);
        self.data
            .chunks_exact_mut(stride)
            .skip(y as usize)
            .take(h as usize)
            .for_each(|row| {
                row[x..x + w]
                    .chunks_exact_mut(4)
                    .for_each(|px| px.swap(0, 2))
            });
    }
}

/// The key of what was last drawn: redraw work is skipped when nothing changed.
type Key = (View, u64);

/// Draws views (and raw frames) of one source at a time.
pub struct ViewRenderer {
    backend: Backend,
    options: DewarpOptions,
    cpu: Option<CpuDewarper>,
    buffer: Option<FrameBuf>,
    view_texture: Option<Uploaded>,
    /// Where the surface takes copies: the window-sized picture, and whether the surface
    /// is BGRA.
    surface: Option<(SurfacePicture, bool)>,
    raw_texture: Option<Uploaded>,
    /// The calibration the dewarper was made with.
    calibration: Option<Calibration>,
    drawn: Option<Key>,
    /// Whether the last view went into the surface picture (else into `view_texture`).
    drawn_direct: bool,
    raw_drawn: Option<u64>,
    /// Whether the GPU dewarper holds the current frame.
    gpu_frame: Option<u64>,
    preview_texture: Option<Uploaded>,
    /// What the preview shows: calibration, frame serial and width.
    preview_drawn: Option<(Calibration, u64, u32)>,
}

/// The view of the live preview beside a calibration edit: the band panorama, `width` px
/// wide, at its natural height.
pub fn preview_view(calibration: &Calibration, width: u32) -> omnidewarp::Result<View> {
    ViewRequest::new(ProjectionKind::Equirect)
        .with_band(true)
        .with_width(width)
        .build(calibration)
}

/// The callback that draws the GPU dewarper's view inside egui's pass.
struct DewarpCallback;

impl egui_wgpu::CallbackTrait for DewarpCallback {
    fn paint(
        &self,
        info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(dewarper) = resources.get::<GpuDewarper>() {
            let rect = info.viewport_in_pixels();
            let origin = [rect.left_px.max(0) as u32, rect.top_px.max(0) as u32];
            if let Err(e) = dewarper.draw(pass, origin) {
                eprintln!("omniview: drawing the view: {e}");
            }
        }
    }
}

impl ViewRenderer {
    /// A renderer using `backend`, drawing into a surface of `format` that takes copies
    /// where `copies` (the CPU backend then writes its views straight into it).
    pub fn new(backend: Backend, format: wgpu::TextureFormat, copies: bool) -> Self {
        let surface = match format {
            wgpu::TextureFormat::Rgba8Unorm | wgpu::TextureFormat::Rgba8UnormSrgb => Some(false),
            wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb => Some(true),
            _ => None,
        }
        .filter(|_| copies && backend == Backend::Cpu)
        .map(|bgra| {
            let picture = SurfacePicture {
                data: Vec::new(),
                size: (0, 0),
                view: ([0, 0], (0, 0)),
            };
            (picture, bgra)
        });
        Self {
            backend,
            options: DewarpOptions::default(),
            cpu: None,
            buffer: None,
            view_texture: None,
            surface,
            raw_texture: None,
            calibration: None,
            drawn: None,
            drawn_direct: false,
            raw_drawn: None,
            gpu_frame: None,
            preview_texture: None,
            preview_drawn: None,
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Forgets what was drawn (another source is shown).
    pub fn reset(&mut self) {
        self.drawn = None;
        self.raw_drawn = None;
        self.gpu_frame = None;
    }

    /// Draws `view` of `picture` (number `serial`) calibrated by `calibration` where
    /// `placement` says, doing only the work that changed since the last call.
    pub fn view(
        &mut self,
        gpu: &mut Gpu<'_>,
        calibration: &Calibration,
        picture: &Picture,
        serial: u64,
        (view, placement): (View, Placement),
    ) -> omnidewarp::Result<(Drawn, Timings)> {
        let Placement { origin, window } = placement;
        let mut timings = Timings::default();
        if self.calibration.as_ref() != Some(calibration) {
            self.calibration = Some(calibration.clone());
            self.cpu = None;
            gpu.egui.callback_resources.remove::<GpuDewarper>();
            self.drawn = None;
            self.gpu_frame = None;
        }
        let key = (view, serial);
        match self.backend {
            Backend::Cpu => {
                let size = (view.width, view.height);
                let fits = origin[0] + size.0 <= window.0 && origin[1] + size.1 <= window.1;
                let direct = fits && self.surface.is_some();
                let moved = match &mut self.surface {
                    Some((target, _)) if direct => target.place(window, origin, size),
                    _ => false,
                };
                let missing = !direct && self.view_texture.is_none();
                if self.drawn != Some(key) || moved || missing || direct != self.drawn_direct {
                    let t0 = Instant::now();
                    let dewarper = match &mut self.cpu {
                        Some(d) => {
                            d.set_view(view)?;
                            d
                        }
                        slot => {
                            slot.insert(CpuDewarper::new(calibration.clone(), view, self.options)?)
                        }
                    };
                    match self.surface.as_mut().filter(|_| direct) {
                        Some((target, bgra)) => {
                            dewarper.dewarp(&picture.frame()?, &mut target.view_frame()?)?;
                            if *bgra {
                                target.swap_red_blue();
                            }
                            timings.dewarp_ms = t0.elapsed().as_secs_f64() * 1e3;
                        }
                        None => {
                            let buffer = match &mut self.buffer {
                                Some(b) if (b.frame().width(), b.frame().height()) == size => b,
                                slot => {
                                    slot.insert(FrameBuf::new(PixelFormat::Rgba8, size.0, size.1)?)
                                }
                            };
                            dewarper.dewarp(&picture.frame()?, &mut buffer.frame_mut())?;
                            let t1 = Instant::now();
                            Uploaded::write(&mut self.view_texture, gpu, size, buffer.plane(0));
                            timings = Timings {
                                dewarp_ms: (t1 - t0).as_secs_f64() * 1e3,
                                upload_ms: t1.elapsed().as_secs_f64() * 1e3,
                            };
                        }
                    }
                    self.drawn = Some(key);
                    self.drawn_direct = direct;
                }
                if direct {
                    return Ok((Drawn::Surface, timings));
                }
                let Some(u) = &self.view_texture else {
                    unreachable!("written above")
                };
                Ok((Drawn::Texture(u.id), timings))
            }
            Backend::Gpu => {
                let t0 = Instant::now();
                let resources = &mut gpu.egui.callback_resources;
                if resources.get::<GpuDewarper>().is_none() {
                    let d = GpuDewarper::with_device(
                        gpu.device,
                        gpu.queue,
                        calibration.clone(),
                        view,
                        self.options,
                    )?;
                    resources.insert(d);
                }
                let Some(dewarper) = resources.get_mut::<GpuDewarper>() else {
                    unreachable!("inserted above")
                };
                if self.gpu_frame != Some(serial) {
                    dewarper.upload(&picture.frame()?)?;
                    self.gpu_frame = Some(serial);
                }
                let t1 = Instant::now();
                dewarper.set_view(view)?;
                dewarper.prepare(gpu.format, 1)?;
                timings = Timings {
                    upload_ms: (t1 - t0).as_secs_f64() * 1e3,
                    dewarp_ms: t1.elapsed().as_secs_f64() * 1e3,
                };
                self.drawn = Some(key);
                Ok((Drawn::Callback, timings))
            }
        }
    }

    /// Writes the surface picture into `texture` (the surface's, this frame) after a
    /// [`Drawn::Surface`], before egui's pass. Returns whether it did (the sizes match): the
    /// pass then loads the texture instead of clearing it.
    pub fn write_surface(&self, queue: &wgpu::Queue, texture: &wgpu::Texture) -> bool {
        let Some((target, _)) = &self.surface else {
            return false;
        };
        let size = wgpu::Extent3d {
            width: target.size.0,
            height: target.size.1,
            depth_or_array_layers: 1,
        };
        if size != texture.size() {
            return false;
        }
        queue.write_texture(
            texture.as_image_copy(),
            &target.data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(target.size.0 * 4),
                rows_per_image: Some(target.size.1),
            },
            size,
        );
        true
    }

    /// The paint callback of the GPU backend, over `rect` (the view's size, in points).
    pub fn callback(rect: egui::Rect) -> egui::PaintCallback {
        egui_wgpu::Callback::new_paint_callback(rect, DewarpCallback)
    }

    /// The raw frame as a texture (mode 0).
    pub fn raw(
        &mut self,
        gpu: &mut Gpu<'_>,
        picture: &Picture,
        serial: u64,
    ) -> omnidewarp::Result<egui::TextureId> {
        if self.raw_drawn != Some(serial) || self.raw_texture.is_none() {
            let size = picture.size();
            match picture {
                Picture::Still(image) => {
                    Uploaded::write(&mut self.raw_texture, gpu, size, image.as_raw());
                }
                Picture::Video(..) => {
                    let rgba = omnidewarp::output::frame_to_image(&picture.frame()?)?.to_rgba8();
                    Uploaded::write(&mut self.raw_texture, gpu, size, rgba.as_raw());
                }
            }
            self.raw_drawn = Some(serial);
        }
        let Some(u) = &self.raw_texture else {
            unreachable!("written above")
        };
        Ok(u.id)
    }

    /// The live preview of a calibration edit: [`preview_view`] of `picture` (number
    /// `serial`) under `calibration`, rendered by the CPU dewarper again only when the
    /// calibration, the frame or the width changed. Returns its texture and size.
    pub fn preview(
        &mut self,
        gpu: &mut Gpu<'_>,
        calibration: &Calibration,
        picture: &Picture,
        serial: u64,
        width: u32,
    ) -> omnidewarp::Result<(egui::TextureId, (u32, u32))> {
        let key = (calibration.clone(), serial, width);
        if self.preview_drawn.as_ref() != Some(&key) || self.preview_texture.is_none() {
            let view = preview_view(calibration, width)?;
            let image = self.offscreen(calibration, picture, view)?;
            Uploaded::write(
                &mut self.preview_texture,
                gpu,
                (view.width, view.height),
                image.plane(0),
            );
            self.preview_drawn = Some(key);
        }
        let Some(u) = &self.preview_texture else {
            unreachable!("written above")
        };
        Ok((u.id, u.size))
    }

    /// Renders `view` of `picture` again, offscreen at the view's full size, with the
    /// CPU dewarper (the oracle both backends agree with): the screenshot.
    pub fn offscreen(
        &self,
        calibration: &Calibration,
        picture: &Picture,
        view: View,
    ) -> omnidewarp::Result<FrameBuf> {
        let mut dewarper = CpuDewarper::new(calibration.clone(), view, self.options)?;
        let mut out = FrameBuf::new(PixelFormat::Rgba8, view.width, view.height)?;
        dewarper.dewarp(&picture.frame()?, &mut out.frame_mut())?;
        Ok(out)
    }
}
