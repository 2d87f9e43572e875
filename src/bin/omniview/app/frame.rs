//! One frame of the app: tick the camera, take the newest picture, render the view, draw
//! the egui overlays (calibration panel, status line, HUD, help), present; and the
//! `--stats` line.

use super::*;

impl App {
    /// One frame: tick the camera, take the newest picture, draw view and overlays, present.
    pub(super) fn redraw(&mut self) {
        let t0 = Instant::now();
        let now = self.now();
        // Nothing is drawn on a lost device: the next wake-up replaces it.
        let live = self.gfx.as_ref().filter(|g| g.lost.get().is_none());
        let Some((w, h)) = live.map(|g| (g.config.width, g.config.height)) else {
            return;
        };
        let current = self.state.current;
        let (picture, _) = self.media[current].take();
        let serial = self.media[current].shared().serial;
        if picture.is_some() && self.last_serial != Some((current, serial)) {
            self.last_serial = Some((current, serial));
            self.frames_shown += 1;
        }
        let calibration = self.calibration();
        let mut problem: Option<(String, bool)> = None;
        let mut shown = None;
        match (&picture, &calibration) {
            (Some(picture), Some(Ok((calibration, _)))) => {
                let motion = self.state.motion;
                let vp = self.viewport();
                let band = calibration.band;
                self.state
                    .source_mut()
                    .camera
                    .tick(now, &motion, band, (vp.width, vp.height));
                let view = if self.state.source().mode == Mode::Raw {
                    None
                } else {
                    match self.fit_view(calibration, w, h) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            problem = Some((e.to_string(), true));
                            None
                        }
                    }
                };
                shown = Some(Shown {
                    view,
                    raw: None,
                    calibration: calibration.clone(),
                    picture: picture.clone(),
                    pixels_per_point: 1.0,
                });
            }
            (_, Some(Err(e))) => problem = Some((format!("calibration: {e}"), true)),
            _ => {}
        }
        let status = self.media[current].status_text();
        if let Some(e) = status.strip_prefix("error: ") {
            problem = Some((e.to_string(), true));
        } else if shown.is_none() && problem.is_none() {
            problem = Some((status.clone(), false));
        }
        if let Some(recorder) = &mut self.recorder {
            if let Some(Shown {
                view: Some((view, _)),
                calibration,
                picture,
                ..
            }) = &shown
            {
                recorder.sample(now, view, calibration, picture);
            }
        }
        let hud = self.hud_lines(&status);
        let status_line = self.status_line(&status, calibration.as_ref());
        let help = self.state.help;
        let show_hud = self.state.hud;
        let editing = self.state.source().edit.clone();
        let message = self
            .message
            .as_ref()
            .filter(|(_, t)| t.elapsed() < Duration::from_secs(6))
            .map(|(m, _)| m.clone());
        let Some(gfx) = self.gfx.as_mut() else { return };
        let ppp = gfx.window.scale_factor();
        let raw_input = gfx.egui_state.take_egui_input(&gfx.window);
        let mut gpu = Gpu {
            device: &gfx.device,
            queue: &gfx.queue,
            format: gfx.config.format,
            egui: &mut gfx.egui_renderer,
        };
        // Editing a calibration by eye: the panorama it gives, live, below the raw frame
        // (drawn first: the frame is laid out above it).
        let mut preview = None;
        if let (Some(s), Some(_)) = (&shown, &editing) {
            if s.view.is_none() {
                let width = ui::preview_width(w);
                match gfx
                    .renderer
                    .preview(&mut gpu, &s.calibration, &s.picture, serial, width)
                {
                    Ok((id, size)) => {
                        let (x, y) = ui::preview_origin((w, h), size);
                        let points = |px: u32| (f64::from(px) / ppp) as f32;
                        let rect = egui::Rect::from_min_size(
                            egui::pos2(points(x), points(y)),
                            egui::vec2(points(size.0), points(size.1)),
                        );
                        preview = Some((id, rect));
                    }
                    Err(e) => problem = Some((format!("preview: {e}"), true)),
                }
            }
        }
        // The view (or raw frame) first: egui then draws it as the background.
        let mut background: Option<(Drawn, egui::Rect)> = None;
        let mut raw_map = None;
        if let Some(s) = &mut shown {
            s.pixels_per_point = ppp;
            let points = |px: f64| (px / ppp) as f32;
            match s.view {
                Some((view, [ox, oy])) => {
                    let placement = Placement {
                        origin: [ox as u32, oy as u32],
                        window: (w, h),
                    };
                    match gfx.renderer.view(
                        &mut gpu,
                        &s.calibration,
                        &s.picture,
                        serial,
                        (view, placement),
                    ) {
                        Ok((drawn, timings)) => {
                            if timings != Timings::default() {
                                self.timings = timings;
                            }
                            let rect = egui::Rect::from_min_size(
                                egui::pos2(points(ox), points(oy)),
                                egui::vec2(
                                    points(f64::from(view.width)),
                                    points(f64::from(view.height)),
                                ),
                            );
                            background = Some((drawn, rect));
                        }
                        Err(e) => problem = Some((e.to_string(), true)),
                    }
                }
                None => match gfx.renderer.raw(&mut gpu, &s.picture, serial) {
                    Ok(id) => {
                        let (fw, fh) = s.picture.size();
                        let preview_top =
                            preview.map(|(_, r): (_, egui::Rect)| f64::from(r.min.y) * ppp);
                        let [ax, ay, aw, ah] =
                            ui::raw_area((w, h), ppp, editing.is_some(), preview_top);
                        let scale = (aw / f64::from(fw)).min(ah / f64::from(fh));
                        let (dw, dh) = (f64::from(fw) * scale, f64::from(fh) * scale);
                        let rect = egui::Rect::from_min_size(
                            egui::pos2(points(ax + (aw - dw) / 2.0), points(ay + (ah - dh) / 2.0)),
                            egui::vec2(points(dw), points(dh)),
                        );
                        let map = FrameToScreen {
                            rect,
                            frame_size: (fw, fh),
                        };
                        s.raw = Some(map);
                        raw_map = Some(map);
                        background = Some((Drawn::Texture(id), rect));
                    }
                    Err(e) => problem = Some((e.to_string(), true)),
                },
            }
        }
        let overlay_calibration = shown.as_ref().map(|s| s.calibration.clone());
        let mut detect_clicked = false;
        let mut save_clicked = false;
        let mut edit_out = editing.clone();
        let output = gfx.egui_ctx.run_pass(raw_input, |ctx| {
            let painter = ctx.layer_painter(egui::LayerId::background());
            match &background {
                Some((Drawn::Surface, _)) | None => {}
                Some((Drawn::Texture(id), rect)) => {
                    painter.image(
                        *id,
                        *rect,
                        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                        egui::Color32::WHITE,
                    );
                }
                Some((Drawn::Callback, rect)) => {
                    painter.add(ViewRenderer::callback(*rect));
                }
            }
            if let (Some(map), Some(calibration)) = (raw_map, &overlay_calibration) {
                ui::calibration_overlay(&painter, map, calibration, editing.as_ref());
            }
            if let Some((id, rect)) = preview {
                ui::preview(ctx, id, rect);
            }
            if let Some(edit) = &mut edit_out {
                (detect_clicked, save_clicked) = ui::calibration_panel(ctx, edit);
            }
            ui::text_box(
                ctx,
                "status",
                egui::Align2::LEFT_BOTTOM,
                egui::vec2(6.0, -6.0),
                &status_line,
            );
            if let Some(m) = &message {
                ui::text_box(
                    ctx,
                    "message",
                    egui::Align2::CENTER_TOP,
                    egui::vec2(0.0, 8.0),
                    std::slice::from_ref(m),
                );
            }
            if show_hud {
                ui::text_box(
                    ctx,
                    "hud",
                    egui::Align2::LEFT_TOP,
                    egui::vec2(6.0, 6.0),
                    &hud,
                );
            }
            if help {
                ui::help(ctx);
            }
            if let Some((text, error)) = &problem {
                ui::banner(ctx, text, *error);
            }
        });
        gfx.egui_state
            .handle_platform_output(&gfx.window, output.platform_output);
        let primitives = gfx
            .egui_ctx
            .tessellate(output.shapes, output.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [w, h],
            pixels_per_point: output.pixels_per_point,
        };
        // Textures first, whatever happens to this frame: egui sends each delta once.
        let mut textures = output.textures_delta;
        for (id, deltas) in textures.set.drain() {
            for delta in deltas {
                gfx.egui_renderer
                    .update_texture(&gfx.device, &gfx.queue, id, &delta);
            }
        }
        let freed: Vec<egui::TextureId> = textures.free.drain().collect();
        let frame = match gfx.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            other => {
                if matches!(
                    other,
                    wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost
                ) {
                    gfx.surface.configure(&gfx.device, &gfx.config);
                }
                for id in &freed {
                    gfx.egui_renderer.free_texture(id);
                }
                gfx.window.request_redraw();
                return;
            }
        };
        let t_write = Instant::now();
        let written = matches!(background, Some((Drawn::Surface, _)))
            && gfx.renderer.write_surface(&gfx.queue, &frame.texture);
        if written {
            self.timings.upload_ms = t_write.elapsed().as_secs_f64() * 1e3;
        }
        let mut encoder = gfx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("omniview"),
            });
        let mut commands = gfx.egui_renderer.update_buffers(
            &gfx.device,
            &gfx.queue,
            &mut encoder,
            &primitives,
            &screen,
        );
        let target = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        {
            let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("omniview"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: if written {
                            wgpu::LoadOp::Load
                        } else {
                            wgpu::LoadOp::Clear(wgpu::Color::BLACK)
                        },
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let mut pass = pass.forget_lifetime();
            gfx.egui_renderer.render(&mut pass, &primitives, &screen);
        }
        commands.push(encoder.finish());
        let t_present = Instant::now();
        gfx.queue.submit(commands);
        gfx.queue.present(frame);
        for id in &freed {
            gfx.egui_renderer.free_texture(id);
        }
        self.present_ms = t_present.elapsed().as_secs_f64() * 1e3;
        if output
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay.is_zero())
        {
            gfx.window.request_redraw();
        }
        if let Some(edit) = edit_out {
            if Some(&edit) != editing.as_ref() {
                self.state.source_mut().edit = Some(edit);
                gfx.window.request_redraw();
            }
        }
        if let Some(s) = &mut shown {
            s.raw = s.raw.or(raw_map);
        }
        self.shown = shown.or(self.shown.take().filter(|_| problem.is_none()));
        // A swap chain may show a frame only once the next one is presented: after anything
        // changed, draw once more, so that the window settles on what the state says.
        let signature = format!(
            "{:?}{serial}{help}{show_hud}{status_line:?}{message:?}{problem:?}{:?}",
            self.shown.as_ref().and_then(|s| s.view.map(|v| v.0)),
            self.state.source().edit
        );
        if signature != self.signature {
            self.signature = signature;
            if let Some(gfx) = &self.gfx {
                gfx.window.request_redraw();
            }
        }
        self.stats.frame(now, t0.elapsed().as_secs_f64() * 1e3);
        if self.lose_device_for_test && self.frames_shown >= 1 {
            self.lose_device_for_test = false;
            if let Some(gfx) = &self.gfx {
                gfx.device.destroy();
            }
        }
        if detect_clicked {
            self.detect();
        }
        if save_clicked {
            self.save_calibration();
        }
    }

    fn status_line(
        &self,
        status: &str,
        calibration: Option<&Result<(Calibration, String), String>>,
    ) -> Vec<String> {
        let media = &self.media[self.state.current];
        let source = self.state.source();
        let origin = match calibration {
            Some(Ok((_, origin))) => origin.clone(),
            Some(Err(_)) => "failed".into(),
            None => "…".into(),
        };
        let backend = self
            .gfx
            .as_ref()
            .map_or("-", |g| g.renderer.backend().name());
        let mut flags = String::new();
        if !source.camera.clamp {
            flags.push_str(" · clamp off");
        }
        if source.camera.auto_rotate {
            flags.push_str(" · auto-rotate");
        }
        if self.recorder.is_some() {
            flags.push_str(" · ● rec");
        }
        // Files by name; URLs and devices as given (credentials redacted).
        let name = media
            .path
            .as_deref()
            .and_then(|p| p.file_name())
            .map_or_else(|| media.label.clone(), |n| n.to_string_lossy().into_owned());
        vec![format!(
            "{}/{} {} · {} · calibration: {} · {} · {}{} · h: help",
            self.state.current + 1,
            self.media.len(),
            name,
            source.mode.name(),
            origin,
            status,
            backend,
            flags
        )]
    }

    fn hud_lines(&self, status: &str) -> Vec<String> {
        let media = &self.media[self.state.current];
        let s = media.shared();
        let window = self.stats.last();
        let camera = &self.state.source().camera;
        let aim = camera.aim();
        let mut lines = vec![
            match window {
                Some(w) => format!(
                    "fps {:.1}   frame p50 {:.1} ms  p99 {:.1} ms",
                    w.fps, w.p50, w.p99
                ),
                None => "fps …".into(),
            },
            format!(
                "decode wait {:.1} ms · dewarp {:.1} · upload {:.1} · present {:.1} ms",
                s.decode_ms, self.timings.dewarp_ms, self.timings.upload_ms, self.present_ms
            ),
        ];
        if let Some(p) = &s.picture {
            let (w, h) = p.size();
            let info = s.info.as_ref();
            lines.push(format!(
                "source {w}×{h} · {} · {}",
                info.map_or("?", |i| i.codec.as_str()),
                info.and_then(|i| i.fps)
                    .map_or("still".into(), |f| format!("{f:.2} fps")),
            ));
            if let Picture::Video(_, arrived) = p {
                lines.push(format!(
                    "latency (queue age) {:.0} ms · at {:.2} s",
                    arrived.elapsed().as_secs_f64() * 1e3,
                    s.pts
                ));
            }
        }
        lines.push(format!("dropped {} · {status}", s.dropped));
        lines.push(format!(
            "backend {} on {}",
            self.gfx
                .as_ref()
                .map_or("-", |g| g.renderer.backend().name()),
            self.gfx.as_ref().map_or("-", |g| g.adapter.as_str()),
        ));
        lines.push(format!(
            "yaw {:.1}° pitch {:.1}° fov {:.1}°{}",
            camera.yaw.to_degrees(),
            aim.pitch.to_degrees(),
            aim.fov.to_degrees(),
            if camera.kind == ProjectionKind::Stereographic {
                " (planet)"
            } else {
                ""
            }
        ));
        lines
    }

    pub(super) fn print_stats(&mut self) {
        let now = self.now();
        let Some(window) = self.stats.poll(now) else {
            return;
        };
        if !self.args.stats {
            return;
        }
        let media = &self.media[self.state.current];
        let dropped = media.shared().dropped;
        let status = media.status_text();
        let source = self.state.source();
        let aim = source.camera.aim();
        println!(
            "fps={:.1} p50={:.1}ms p99={:.1}ms dropped={} backend={} source={}/{} mode={} yaw={:.2} pitch={:.2} fov={:.2} frames={} status={} dewarp={:.1}ms upload={:.1}ms present={:.1}ms",
            window.fps,
            window.p50,
            window.p99,
            dropped,
            self.gfx
                .as_ref()
                .map_or("-", |g| g.renderer.backend().name()),
            self.state.current + 1,
            self.media.len(),
            source.mode.name(),
            source.camera.yaw.to_degrees(),
            aim.pitch.to_degrees(),
            aim.fov.to_degrees(),
            self.frames_shown,
            status.replace(' ', "_"),
            self.timings.dewarp_ms,
            self.timings.upload_ms,
            self.present_ms,
        );
    }
}
