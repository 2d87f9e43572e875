//! The overlays egui draws over the view: status bar, HUD, help, calibration editor, and
//! the calibration drawn over the raw frame.

use egui::{Align2, Color32, FontId, Pos2, Rect, Stroke, Vec2};
use glam::DVec2;
use omnidewarp::model::{Calibration, direction};

use crate::state::calib_edit::{CalibEdit, Circles, Handle};
use crate::state::keys::HELP;

/// Text colour of the overlays.
const TEXT: Color32 = Color32::from_rgb(235, 235, 235);
/// Their backdrop.
const BACKDROP: Color32 = Color32::from_rgba_premultiplied(0, 0, 0, 170);

/// Width of the live calibration preview: 60 % of the window's, at most 960 px.
pub fn preview_width(window_width: u32) -> u32 {
    (window_width * 3 / 5).clamp(16, 960)
}

/// Where the live calibration preview of `size` is drawn in a window of `window` size, in
/// physical pixels: centred, its bottom 40 px above the window's (clear of the status bar).
pub fn preview_origin(window: (u32, u32), size: (u32, u32)) -> (u32, u32) {
    (
        window.0.saturating_sub(size.0) / 2,
        window.1.saturating_sub(size.1 + 40),
    )
}

/// Draws the live calibration preview `texture` over `rect` (points), framed, above
/// everything else.
pub fn preview(ctx: &egui::Context, texture: egui::TextureId, rect: Rect) {
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("calibration preview"),
    ));
    painter.rect_filled(rect.expand(3.0), 2.0, BACKDROP);
    painter.image(
        texture,
        rect,
        Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
        Color32::WHITE,
    );
}

/// A box of `margin` on the dark backdrop, anchored at `anchor` of the screen, that takes
/// no input, with `contents` in it.
fn overlay_box(
    ctx: &egui::Context,
    id: &str,
    (anchor, offset): (Align2, Vec2),
    (margin, corner_radius): (f32, f32),
    contents: impl FnOnce(&mut egui::Ui),
) {
    egui::Area::new(egui::Id::unique(id))
        .anchor(anchor, offset)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::NONE
                .fill(BACKDROP)
                .inner_margin(margin)
                .corner_radius(corner_radius)
                .show(ui, contents);
        });
}

/// Draws `lines` in a box anchored at `anchor` of the screen.
pub fn text_box(ctx: &egui::Context, id: &str, anchor: Align2, offset: Vec2, lines: &[String]) {
    overlay_box(ctx, id, (anchor, offset), (6.0, 4.0), |ui| {
        for line in lines {
            ui.add(
                egui::Label::new(egui::RichText::new(line).color(TEXT).monospace().size(12.0))
                    .wrap_mode(egui::TextWrapMode::Truncate),
            );
        }
    });
}

/// The help overlay: every key.
pub fn help(ctx: &egui::Context) {
    let centre = (Align2::CENTER_CENTER, Vec2::ZERO);
    overlay_box(ctx, "help", centre, (12.0, 6.0), |ui| {
        ui.label(
            egui::RichText::new("omniview keys")
                .color(TEXT)
                .strong()
                .size(16.0),
        );
        egui::Grid::new("keys").spacing([16.0, 2.0]).show(ui, |ui| {
            for (keys, what) in HELP {
                ui.label(egui::RichText::new(keys).color(TEXT).monospace());
                ui.label(egui::RichText::new(what).color(TEXT));
                ui.end_row();
            }
        });
    });
}

/// A big centred message (errors, "connecting…").
pub fn banner(ctx: &egui::Context, text: &str, error: bool) {
    let color = if error {
        Color32::from_rgb(255, 120, 110)
    } else {
        TEXT
    };
    let above_centre = (Align2::CENTER_CENTER, Vec2::new(0.0, -40.0));
    overlay_box(ctx, "banner", above_centre, (10.0, 6.0), |ui| {
        ui.label(egui::RichText::new(text).color(color).size(18.0));
    });
}

/// Maps frame pixels to screen points for a frame of `frame_size` drawn in `rect`.
#[derive(Debug, Clone, Copy)]
pub struct FrameToScreen {
    /// Where the frame is drawn.
    pub rect: Rect,
    /// Frame size.
    pub frame_size: (u32, u32),
}

impl FrameToScreen {
    /// Screen points per frame pixel.
    pub fn scale(self) -> f64 {
        f64::from(self.rect.width()) / f64::from(self.frame_size.0)
    }

    /// Frame pixel `p` (centre convention) on the screen.
    pub fn to_screen(self, p: DVec2) -> Pos2 {
        let s = self.scale();
        Pos2::new(
            self.rect.min.x + ((p.x + 0.5) * s) as f32,
            self.rect.min.y + ((p.y + 0.5) * s) as f32,
        )
    }

    /// Screen point `p` in frame pixels.
    pub fn to_frame(self, p: Pos2) -> DVec2 {
        let s = self.scale();
        DVec2::new(
            f64::from(p.x - self.rect.min.x) / s - 0.5,
            f64::from(p.y - self.rect.min.y) / s - 0.5,
        )
    }
}

/// Draws the calibration over the raw frame: the band's edges (any model), and for an
/// edit its handles.
pub fn calibration_overlay(
    painter: &egui::Painter,
    map: FrameToScreen,
    calibration: &Calibration,
    edit: Option<&CalibEdit>,
) {
    let Ok(scaled) = calibration.scaled_to(map.frame_size.0, map.frame_size.1) else {
        return;
    };
    let band = scaled.elevation_range();
    let inside = 0.002;
    for (elevation, color) in [
        (band.min + inside, Color32::from_rgb(90, 200, 255)),
        (band.max - inside, Color32::from_rgb(255, 200, 60)),
    ] {
        let points: Vec<Pos2> = (0..=180)
            .filter_map(|i| {
                let heading = f64::from(i) * 2f64.to_radians();
                scaled
                    .model
                    .project(direction(heading, elevation))
                    .map(|p| map.to_screen(p))
            })
            .collect();
        painter.add(egui::Shape::line(points, Stroke::new(2.0, color)));
    }
    // North (heading 0) and east on the horizon, or the nearest elevation inside the band.
    let horizon = 0f64.clamp(band.min, band.max);
    for (heading, label) in [(0.0, "N"), (90f64.to_radians(), "E")] {
        let ray = direction(heading, horizon);
        if let Some(p) = scaled.model.project(ray) {
            let at = map.to_screen(p);
            painter.circle_filled(at, 4.0, Color32::WHITE);
            painter.text(
                at + Vec2::new(6.0, -6.0),
                Align2::LEFT_BOTTOM,
                label,
                FontId::proportional(16.0),
                Color32::WHITE,
            );
        }
    }
    if let Some(edit) = edit {
        let handle = Color32::from_rgb(120, 255, 120);
        for which in [Handle::Inner, Handle::Outer] {
            let points = edit.circle(which).into_iter().map(|p| map.to_screen(p));
            painter.add(egui::Shape::line(
                points.collect(),
                Stroke::new(2.0, handle),
            ));
        }
        painter.circle_filled(map.to_screen(edit.center), 6.0, handle);
        let Some(mark) = edit.heading_mark().map(|p| map.to_screen(p)) else {
            return;
        };
        painter.circle_filled(mark, 7.0, Color32::from_rgb(255, 90, 90));
        painter.text(
            mark + Vec2::new(9.0, 0.0),
            Align2::LEFT_CENTER,
            "heading at top",
            FontId::proportional(14.0),
            Color32::WHITE,
        );
    }
}

/// Width of the calibration panel's contents, in points.
pub const PANEL_WIDTH: f32 = 330.0;

/// What the panel takes of the window's width beyond [`PANEL_WIDTH`] (its offset from the
/// window's edge, its frame, a gap), and the gap above the preview, in points.
const PANEL_MARGIN: f64 = 30.0;
const PREVIEW_GAP: f64 = 8.0;

/// Where the raw frame is laid out, in physical pixels `[x, y, width, height]`: the window,
/// or while a calibration is edited the part of it left of the panel and above the preview
/// (whose top is `preview_top`), so that neither covers the frame; the whole window where
/// that part would be under a quarter of its width or height.
pub fn raw_area(
    window: (u32, u32),
    pixels_per_point: f64,
    editing: bool,
    preview_top: Option<f64>,
) -> [f64; 4] {
    let (w, h) = (f64::from(window.0), f64::from(window.1));
    let whole = [0.0, 0.0, w, h];
    if !editing {
        return whole;
    }
    let width = w - (f64::from(PANEL_WIDTH) + PANEL_MARGIN) * pixels_per_point;
    let height = preview_top.map_or(h, |top| top - PREVIEW_GAP * pixels_per_point);
    if width < w / 4.0 || height < h / 4.0 {
        whole
    } else {
        [0.0, 0.0, width, height]
    }
}

/// The calibration panel at the window's top right: the edit's numbers, its elevations,
/// heading and mirror flag, and the detect and save buttons (whether each was clicked).
pub fn calibration_panel(ctx: &egui::Context, edit: &mut CalibEdit) -> (bool, bool) {
    let (mut detect, mut save) = (false, false);
    egui::Window::new("calibration")
        .anchor(Align2::RIGHT_TOP, Vec2::new(-8.0, 8.0))
        .resizable(false)
        .min_width(PANEL_WIDTH)
        .max_width(PANEL_WIDTH)
        .show(ctx, |ui| {
            let (x, y) = (edit.center.x, edit.center.y);
            ui.label(match &edit.circles {
                Circles::Ring {
                    radius_inner,
                    radius_outer,
                } => format!(
                    "ring: centre {x:.1}, {y:.1}   radii {radius_inner:.1} – {radius_outer:.1}"
                ),
                Circles::Mei { .. } => {
                    format!("Mei lens as calibrated; principal point {x:.1}, {y:.1}")
                }
                Circles::Ocam { .. } => {
                    format!("OCamCalib lens as calibrated; centre {x:.1}, {y:.1}")
                }
            });
            let mut degrees = [
                edit.elevation_inner,
                edit.elevation_outer,
                edit.heading_at_top,
            ]
            .map(f64::to_degrees);
            let [e_in, e_out, heading] = &mut degrees;
            ui.add(egui::Slider::new(e_in, -89.5..=89.5).text("inner elevation °"));
            ui.add(egui::Slider::new(e_out, -89.5..=89.5).text("outer elevation °"));
            ui.add(egui::Slider::new(heading, -180.0..=180.0).text("heading at top °"));
            let mut mirrored = edit.mirrored;
            ui.checkbox(&mut mirrored, "mirrored (a mirror, not a direct view)");
            let before = [
                edit.elevation_inner,
                edit.elevation_outer,
                edit.heading_at_top,
            ]
            .map(f64::to_degrees);
            if degrees
                .iter()
                .zip(before)
                .any(|(a, b)| (a - b).abs() > 1e-9)
                || mirrored != edit.mirrored
            {
                [
                    edit.elevation_inner,
                    edit.elevation_outer,
                    edit.heading_at_top,
                ] = degrees.map(f64::to_radians);
                edit.mirrored = mirrored;
                edit.dirty = true;
            }
            ui.horizontal(|ui| {
                detect = ui.button("auto-detect (d)").clicked();
                save = ui.button("save (Ctrl+S)").clicked();
            });
            ui.label("drag the centre, the circles and the red heading mark");
        });
    (detect, save)
}
