//! The uniform block of the dewarp pipeline (view, calibration scaled to the frame, fill,
//! YUV colour) and its pipeline constants (source kind, interpolation, anti-aliasing), as
//! the shaders see them.
//!
//! Keep in sync with `shaders/config.wgsl`: same structs, same field order, same constants.
//! The tests below compare every struct's size and member offsets with what naga computes
//! for the WGSL, and every constant's value.

use bytemuck::{Pod, Zeroable};

use crate::frame::YuvRange;
use crate::model::{Calibration, CameraModel, Orientation, Tile, TileProjection, View};
use crate::options::{DewarpOptions, Interpolation};

/// Most tiles a view has (a quad layout).
pub(crate) const MAX_TILES: usize = 4;
/// Most knots of a ring's radial profile (`model::ring::MAX_PROFILE_KNOTS`).
pub(crate) const MAX_PROFILE_KNOTS: usize = 16;
/// Most coefficients of OCamCalib's `pol`.
pub(crate) const MAX_POL: usize = 16;
/// Most coefficients of OCamCalib's `invpol`.
pub(crate) const MAX_INVPOL: usize = 32;

pub(crate) const MODEL_RING: u32 = 0;
pub(crate) const MODEL_MEI: u32 = 1;
pub(crate) const MODEL_OCAM: u32 = 2;

pub(crate) const PROJECTION_EQUIRECT: u32 = 0;
pub(crate) const PROJECTION_CYLINDER: u32 = 1;
pub(crate) const PROJECTION_PERSPECTIVE: u32 = 2;
pub(crate) const PROJECTION_STEREOGRAPHIC: u32 = 3;

pub(crate) const SOURCE_RGBA: u32 = 0;
pub(crate) const SOURCE_RGB: u32 = 1;
pub(crate) const SOURCE_GRAY: u32 = 2;
pub(crate) const SOURCE_I420: u32 = 3;
pub(crate) const SOURCE_NV12: u32 = 4;

pub(crate) const INTERPOLATION_NEAREST: u32 = 0;
pub(crate) const INTERPOLATION_BILINEAR: u32 = 1;
pub(crate) const INTERPOLATION_BICUBIC: u32 = 2;

/// One tile of the output (`model::Tile`). Keep in sync with `TileConfig` in
/// `shaders/config.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct TileConfig {
    /// `x0, y0, width, height` in view pixels.
    pub rect: [u32; 4],
    /// `PROJECTION_*`.
    pub projection: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
    /// The constants `Tile::ray` derives from the projection's parameters, computed in f64:
    /// equirect `(top, bottom, span)`, cylinder `(tan top, tan bottom, span)`, perspective
    /// and stereographic `(f)`, `f` = [`Tile::focal_length`].
    pub params: [f32; 4],
    /// `Orientation::matrix()`: columns right, forward, up (a WGSL `mat3x3<f32>`, each column
    /// padded to 16 bytes).
    pub orientation: [[f32; 4]; 3],
}

/// The camera model, already scaled to the frame. Keep in sync with `ModelConfig` in
/// `shaders/config.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct ModelConfig {
    /// `MODEL_*` (the shader switches on the pipeline constant `model_kind` instead).
    pub kind: u32,
    pub knot_count: u32,
    pub pol_count: u32,
    pub invpol_count: u32,
    // Ring.
    pub ring_center: [f32; 2],
    pub ring_heading_at_top: f32,
    /// `RingModel::sign`: +1 mirrored, −1 direct view.
    pub ring_sign: f32,
    // Mount (mei, ocam): cos/sin of heading_at_top and the axis signs `Mount::signs`.
    pub mount_cos: f32,
    pub mount_sin: f32,
    pub mount_sx: f32,
    pub mount_sz: f32,
    // Mei.
    pub fx: f32,
    pub fy: f32,
    pub cx: f32,
    pub cy: f32,
    pub skew: f32,
    pub xi: f32,
    /// `MeiModel::z_limit`, the lowest visible `Xs.z`.
    pub z_limit: f32,
    pub k1: f32,
    pub k2: f32,
    pub p1: f32,
    pub p2: f32,
    pub _pad_mei: f32,
    // Ocam.
    pub center_row: f32,
    pub center_col: f32,
    pub c: f32,
    pub d: f32,
    pub e: f32,
    pub _pad_ocam0: f32,
    pub _pad_ocam1: f32,
    pub _pad_ocam2: f32,
    /// Ring profile knots `(radius, elevation, 0, 0)`, inner edge first.
    pub knots: [[f32; 4]; MAX_PROFILE_KNOTS],
    /// OCam `pol`, four coefficients per vector, lowest degree first.
    pub pol: [[f32; 4]; MAX_POL / 4],
    /// OCam `invpol`, four coefficients per vector, lowest degree first.
    pub invpol: [[f32; 4]; MAX_INVPOL / 4],
}

/// Everything one dewarp draw needs besides the textures and the pipeline constants
/// ([`Variant`]). Keep in sync with `DewarpConfig` in `shaders/config.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(crate) struct DewarpConfig {
    /// View width and height.
    pub view_size: [u32; 2],
    /// Frame (luma) width and height.
    pub frame_size: [u32; 2],
    /// Chroma plane width and height (YUV sources; the frame size otherwise).
    pub chroma_size: [u32; 2],
    pub tile_count: u32,
    /// 1 for limited ("TV") YUV range.
    pub yuv_limited: u32,
    /// Elevation band with content, radians.
    pub band_min: f32,
    pub band_max: f32,
    /// YUV matrix `(Kr, Kb)`.
    pub yuv_kr: f32,
    pub yuv_kb: f32,
    /// Fill colour, 0..255.
    pub fill: [f32; 4],
    /// The fill colour in the source's YUV (`YuvColor::from_rgb`), alpha 255: what YUV
    /// outputs write outside the content.
    pub fill_yuv: [f32; 4],
    pub model: ModelConfig,
    pub tiles: [TileConfig; MAX_TILES],
}

/// The pipeline-overridable constants of `shaders/dewarp.wgsl`: one pipeline per source
/// kind, interpolation and anti-aliasing, so each holds only the path it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Variant {
    /// `MODEL_*`.
    pub model: u32,
    /// `SOURCE_*`.
    pub source: u32,
    /// `INTERPOLATION_*`.
    pub interpolation: u32,
    pub antialias: bool,
}

impl Variant {
    pub fn new(model: &ModelConfig, source: u32, options: &DewarpOptions) -> Self {
        Self {
            model: model.kind,
            source,
            interpolation: match options.interpolation {
                Interpolation::Nearest => INTERPOLATION_NEAREST,
                Interpolation::Bilinear => INTERPOLATION_BILINEAR,
                Interpolation::Bicubic => INTERPOLATION_BICUBIC,
            },
            antialias: options.antialias,
        }
    }

    /// The override values, by WGSL name.
    pub fn constants(&self) -> [(&'static str, f64); 4] {
        [
            ("model_kind", f64::from(self.model)),
            ("source_kind", f64::from(self.source)),
            ("interpolation_kind", f64::from(self.interpolation)),
            ("antialias", if self.antialias { 1.0 } else { 0.0 }),
        ]
    }
}

/// What kind of source the textures hold, and its colour description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceInfo {
    /// `SOURCE_*`.
    pub kind: u32,
    /// Frame width, height.
    pub size: (u32, u32),
    /// Chroma plane size.
    pub chroma: (u32, u32),
    /// YUV colour.
    pub color: crate::frame::YuvColor,
}

fn f(v: f64) -> f32 {
    v as f32
}

impl TileConfig {
    fn new(tile: &Tile) -> Self {
        let focal = f(tile.focal_length().unwrap_or(0.0));
        let (projection, params) = match tile.projection {
            TileProjection::Equirect { top, bottom, span } => {
                (PROJECTION_EQUIRECT, [f(top), f(bottom), f(span), 0.0])
            }
            TileProjection::Cylinder { top, bottom, span } => (
                PROJECTION_CYLINDER,
                [f(top.tan()), f(bottom.tan()), f(span), 0.0],
            ),
            TileProjection::Perspective { .. } => (PROJECTION_PERSPECTIVE, [focal, 0.0, 0.0, 0.0]),
            TileProjection::Stereographic { .. } => {
                (PROJECTION_STEREOGRAPHIC, [focal, 0.0, 0.0, 0.0])
            }
        };
        Self {
            rect: [tile.x0, tile.y0, tile.width, tile.height],
            projection,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
            params,
            orientation: orientation_columns(&tile.orientation),
        }
    }
}

fn orientation_columns(o: &Orientation) -> [[f32; 4]; 3] {
    let m = o.matrix();
    [m.x_axis, m.y_axis, m.z_axis].map(|c| [f(c.x), f(c.y), f(c.z), 0.0])
}

impl ModelConfig {
    fn new(model: &CameraModel) -> Self {
        let mut out = Self::zeroed();
        let mount = match model {
            CameraModel::Ring(ring) => {
                out.kind = MODEL_RING;
                out.ring_center = [f(ring.center.x), f(ring.center.y)];
                out.ring_heading_at_top = f(ring.heading_at_top);
                out.ring_sign = f(ring.sign());
                let knots = ring.profile.knots();
                out.knot_count = knots.len() as u32;
                for (slot, &(r, e)) in out.knots.iter_mut().zip(knots) {
                    *slot = [f(r), f(e), 0.0, 0.0];
                }
                None
            }
            CameraModel::Mei { lens, mount } => {
                out.kind = MODEL_MEI;
                out.fx = f(lens.fx);
                out.fy = f(lens.fy);
                out.cx = f(lens.cx);
                out.cy = f(lens.cy);
                out.skew = f(lens.skew);
                out.xi = f(lens.xi);
                out.z_limit = f(lens.z_limit());
                out.k1 = f(lens.k1);
                out.k2 = f(lens.k2);
                out.p1 = f(lens.p1);
                out.p2 = f(lens.p2);
                Some(mount)
            }
            CameraModel::Ocam { lens, mount } => {
                out.kind = MODEL_OCAM;
                out.center_row = f(lens.center_row);
                out.center_col = f(lens.center_col);
                out.c = f(lens.c);
                out.d = f(lens.d);
                out.e = f(lens.e);
                out.pol_count = lens.pol.len().min(MAX_POL) as u32;
                out.invpol_count = lens.invpol.len().min(MAX_INVPOL) as u32;
                for (slot, &a) in out.pol.iter_mut().flatten().zip(&lens.pol) {
                    *slot = f(a);
                }
                for (slot, &a) in out.invpol.iter_mut().flatten().zip(&lens.invpol) {
                    *slot = f(a);
                }
                Some(mount)
            }
        };
        if let Some(mount) = mount {
            let (sa, ca) = mount.heading_at_top.sin_cos();
            let (sx, sz) = mount.signs();
            out.mount_cos = f(ca);
            out.mount_sin = f(sa);
            out.mount_sx = f(sx);
            out.mount_sz = f(sz);
        }
        out
    }
}

impl DewarpConfig {
    /// The uniform block for `calibration` (already scaled to the source's size), `view`,
    /// `options` and the source.
    pub fn new(
        calibration: &Calibration,
        view: &View,
        options: &DewarpOptions,
        source: &SourceInfo,
    ) -> Self {
        let tiles = view.tiles();
        let mut tile_configs = [TileConfig::zeroed(); MAX_TILES];
        for (slot, tile) in tile_configs.iter_mut().zip(&tiles) {
            *slot = TileConfig::new(tile);
        }
        let band = calibration.elevation_range();
        let (kr, kb) = source.color.coefficients();
        let [r, g, b, _] = options.fill;
        let [y, u, v] = source.color.from_rgb([r, g, b]);
        Self {
            view_size: [view.width, view.height],
            frame_size: [source.size.0, source.size.1],
            chroma_size: [source.chroma.0, source.chroma.1],
            tile_count: tiles.len().min(MAX_TILES) as u32,
            yuv_limited: u32::from(source.color.range == YuvRange::Limited),
            band_min: f(band.min),
            band_max: f(band.max),
            yuv_kr: kr,
            yuv_kb: kb,
            fill: options.fill.map(f32::from),
            fill_yuv: [y, u, v, 255].map(f32::from),
            model: ModelConfig::new(&calibration.model),
            tiles: tile_configs,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::mem::{offset_of, size_of};

    use wgpu::naga;

    use super::*;

    /// Size and `(name, offset)` of each member of WGSL struct `name`, as naga lays it out.
    fn wgsl_layout(module: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
        let ty = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name} in config.wgsl"))
            .1;
        match &ty.inner {
            naga::TypeInner::Struct { members, span } => (
                *span,
                members
                    .iter()
                    .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                    .collect(),
            ),
            other => panic!("{name} is not a struct: {other:?}"),
        }
    }

    fn config_module() -> naga::Module {
        naga::front::wgsl::parse_str(crate::gpu::shaders::CONFIG_WGSL)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(crate::gpu::shaders::CONFIG_WGSL)))
    }

    macro_rules! rust_layout {
        ($ty:ty: $($field:ident),* $(,)?) => {
            (
                size_of::<$ty>() as u32,
                vec![$((stringify!($field).to_owned(), offset_of!($ty, $field) as u32)),*],
            )
        };
    }

    #[test]
    fn tile_config_matches_wgsl() {
        let module = config_module();
        assert_eq!(
            wgsl_layout(&module, "TileConfig"),
            rust_layout!(TileConfig: rect, projection, _pad0, _pad1, _pad2, params,
                orientation)
        );
    }

    #[test]
    fn model_config_matches_wgsl() {
        let module = config_module();
        assert_eq!(
            wgsl_layout(&module, "ModelConfig"),
            rust_layout!(ModelConfig: kind, knot_count, pol_count, invpol_count, ring_center,
                ring_heading_at_top, ring_sign, mount_cos, mount_sin, mount_sx, mount_sz, fx, fy,
                cx, cy, skew, xi, z_limit, k1, k2, p1, p2, _pad_mei, center_row, center_col, c, d,
                e, _pad_ocam0, _pad_ocam1, _pad_ocam2, knots, pol, invpol)
        );
    }

    #[test]
    fn dewarp_config_matches_wgsl() {
        let module = config_module();
        assert_eq!(
            wgsl_layout(&module, "DewarpConfig"),
            rust_layout!(DewarpConfig: view_size, frame_size, chroma_size, tile_count,
                yuv_limited, band_min, band_max, yuv_kr, yuv_kb, fill, fill_yuv, model, tiles)
        );
    }

    #[test]
    fn constants_match_wgsl() {
        let module = config_module();
        let wgsl: HashMap<String, u32> = module
            .constants
            .iter()
            .filter_map(|(_, c)| {
                let name = c.name.clone()?;
                match module.global_expressions[c.init] {
                    naga::Expression::Literal(naga::Literal::U32(v)) => Some((name, v)),
                    _ => None,
                }
            })
            .collect();
        let rust = [
            ("MAX_TILES", MAX_TILES as u32),
            ("MAX_PROFILE_KNOTS", MAX_PROFILE_KNOTS as u32),
            ("MAX_POL", MAX_POL as u32),
            ("MAX_INVPOL", MAX_INVPOL as u32),
            ("MODEL_RING", MODEL_RING),
            ("MODEL_MEI", MODEL_MEI),
            ("MODEL_OCAM", MODEL_OCAM),
            ("PROJECTION_EQUIRECT", PROJECTION_EQUIRECT),
            ("PROJECTION_CYLINDER", PROJECTION_CYLINDER),
            ("PROJECTION_PERSPECTIVE", PROJECTION_PERSPECTIVE),
            ("PROJECTION_STEREOGRAPHIC", PROJECTION_STEREOGRAPHIC),
            ("SOURCE_RGBA", SOURCE_RGBA),
            ("SOURCE_RGB", SOURCE_RGB),
            ("SOURCE_GRAY", SOURCE_GRAY),
            ("SOURCE_I420", SOURCE_I420),
            ("SOURCE_NV12", SOURCE_NV12),
            ("INTERPOLATION_NEAREST", INTERPOLATION_NEAREST),
            ("INTERPOLATION_BILINEAR", INTERPOLATION_BILINEAR),
            ("INTERPOLATION_BICUBIC", INTERPOLATION_BICUBIC),
        ];
        for (name, value) in rust {
            assert_eq!(wgsl.get(name), Some(&value), "constant {name}");
        }
        assert_eq!(
            wgsl.len(),
            rust.len(),
            "WGSL has constants Rust lacks: {wgsl:?}"
        );
        // The model refuses profiles the uniform cannot hold.
        let knots = |n: usize| (0..n).map(|k| (k as f64 + 1.0, k as f64 * 0.01)).collect();
        assert!(crate::model::RadialProfile::new(knots(MAX_PROFILE_KNOTS)).is_ok());
        assert!(crate::model::RadialProfile::new(knots(MAX_PROFILE_KNOTS + 1)).is_err());
    }
}
