//! The window's graphics: the device, surface, egui and the view renderer made for it, and
//! their replacement in the same window when the device is lost.

use super::*;

impl App {
    /// A window of the arguments' size with its graphics.
    pub(super) fn create_gfx(&mut self, event_loop: &ActiveEventLoop) -> Result<Gfx, String> {
        let label = self
            .media
            .get(self.state.current)
            .map_or("", |m| m.label.as_str());
        let attributes = Window::default_attributes()
            .with_title(format!("omniview — {label}"))
            .with_inner_size(PhysicalSize::new(self.args.size.0, self.args.size.1));
        let window = Arc::new(event_loop.create_window(attributes).map_err(|e| {
            format!("cannot open a window: {e} (is DISPLAY or WAYLAND_DISPLAY set?)")
        })?);
        self.gfx_in(event_loop, window)
    }

    /// A lost device's replacement: everything made on it (surface, egui's renderer and
    /// state, the views' textures and dewarpers) made again on a new one, in the same
    /// window. An error where no device can be had any more.
    pub(super) fn replace_lost_device(
        &mut self,
        event_loop: &ActiveEventLoop,
    ) -> Result<(), String> {
        let Some(old) = self.gfx.take() else {
            return Ok(());
        };
        let reason = old.lost.get().cloned().unwrap_or_default();
        let window = old.window.clone();
        drop(old);
        let gfx = self
            .gfx_in(event_loop, window)
            .map_err(|e| format!("the graphics device was lost ({reason}), and {e}"))?;
        let text = format!(
            "graphics device lost ({reason}); drawing on a new one: {}",
            gfx.adapter
        );
        gfx.window.request_redraw();
        self.gfx = Some(gfx);
        self.say(text);
        self.shown = None;
        self.signature.clear();
        self.last_serial = None;
        Ok(())
    }

    /// The device, surface and renderers for `window`.
    fn gfx_in(&self, event_loop: &ActiveEventLoop, window: Arc<Window>) -> Result<Gfx, String> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let no_adapter = "no graphics adapter: install your GPU's Vulkan driver, or Mesa's software \
                          one (Debian/Ubuntu: apt install mesa-vulkan-drivers libvulkan1 libegl1 \
                          libgl1-mesa-dri)";
        let surface = instance.create_surface(window.clone()).map_err(|e| {
            // Without any driver the surface is the first thing to fail: say what is missing.
            if pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all())).is_empty() {
                no_adapter.to_string()
            } else {
                format!("cannot draw into the window: {e}")
            }
        })?;
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            compatible_surface: Some(&surface),
            ..Default::default()
        }))
        .map_err(|_| no_adapter.to_string())?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("omniview"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| format!("{}: cannot open the device: {e}", info.name))?;
        let lost = Arc::new(OnceLock::new());
        let on_lost = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let why = if message.is_empty() {
                format!("{reason:?}")
            } else {
                format!("{reason:?}: {message}")
            };
            let _ = on_lost.set(why);
        });
        // Errors wgpu reports outside an error scope are printed, not panicked on; those
        // of a device already lost are its loss, said once when it is replaced.
        let quiet = lost.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            if quiet.get().is_none() {
                eprintln!("omniview: graphics error: {e}");
            }
        }));
        let caps = surface.get_capabilities(&adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| {
                matches!(
                    f,
                    wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Rgba8Unorm
                )
            })
            .or(caps.formats.first().copied())
            .ok_or_else(|| format!("{}: the window offers no surface format", info.name))?;
        let size = window.inner_size();
        let config = wgpu::SurfaceConfiguration {
            // Copies in: the CPU backend writes its views straight into the surface.
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | (caps.usages & wgpu::TextureUsages::COPY_DST),
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&device, &config);
        let software = info.device_type == wgpu::DeviceType::Cpu;
        let backend = match self.args.renderer {
            RendererArg::Cpu => Backend::Cpu,
            RendererArg::Gpu => Backend::Gpu,
            RendererArg::Auto if software => Backend::Cpu,
            RendererArg::Auto => Backend::Gpu,
        };
        let egui_ctx = egui::Context::default();
        let egui_state = egui_winit::State::new(
            egui_ctx.clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(device.limits().max_texture_dimension_2d as usize),
        );
        let egui_renderer = egui_wgpu::Renderer::new(
            &device,
            format,
            egui_wgpu::RendererOptions {
                dithering: false,
                ..Default::default()
            },
        );
        Ok(Gfx {
            window,
            surface,
            device,
            queue,
            config,
            egui_ctx,
            egui_state,
            egui_renderer,
            renderer: ViewRenderer::new(
                backend,
                format,
                caps.usages.contains(wgpu::TextureUsages::COPY_DST),
            ),
            adapter: format!("{} ({:?})", info.name, info.backend),
            lost,
        })
    }
}
