// The uniform block of the dewarp pipeline: view, calibration (scaled to the frame), fill
// and YUV colour. The source kind, interpolation and anti-aliasing are pipeline constants
// (see dewarp.wgsl).
//
// Keep in sync with src/gpu/config.rs: same structs, same field order, same constants
// (a test there compares naga's layout of these structs with the Rust one).

const MAX_TILES: u32 = 4u;
const MAX_PROFILE_KNOTS: u32 = 16u;
const MAX_POL: u32 = 16u;
const MAX_INVPOL: u32 = 32u;

const MODEL_RING: u32 = 0u;
const MODEL_MEI: u32 = 1u;
const MODEL_OCAM: u32 = 2u;

const PROJECTION_EQUIRECT: u32 = 0u;
const PROJECTION_CYLINDER: u32 = 1u;
const PROJECTION_PERSPECTIVE: u32 = 2u;
const PROJECTION_STEREOGRAPHIC: u32 = 3u;

const SOURCE_RGBA: u32 = 0u;
const SOURCE_RGB: u32 = 1u;
const SOURCE_GRAY: u32 = 2u;
const SOURCE_I420: u32 = 3u;
const SOURCE_NV12: u32 = 4u;

const INTERPOLATION_NEAREST: u32 = 0u;
const INTERPOLATION_BILINEAR: u32 = 1u;
const INTERPOLATION_BICUBIC: u32 = 2u;

// One tile of the output (model::Tile).
struct TileConfig {
    // x0, y0, width, height in view pixels.
    rect: vec4<u32>,
    // PROJECTION_*.
    projection: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    // Constants Tile::ray derives from the projection, computed in f64 on the CPU:
    // equirect (top, bottom, span), cylinder (tan top, tan bottom, span),
    // perspective (f = (w/2)/tan(fov/2)), stereographic (f = (w/2)/(2 tan(fov/4))).
    params: vec4<f32>,
    // Orientation::matrix(): columns right, forward, up.
    orientation: mat3x3<f32>,
}

// The camera model, scaled to the frame (model::CameraModel).
struct ModelConfig {
    // MODEL_*: documents the block; the shader uses the pipeline constant model_kind.
    kind: u32,
    knot_count: u32,
    pol_count: u32,
    invpol_count: u32,
    // Ring.
    ring_center: vec2<f32>,
    ring_heading_at_top: f32,
    // s: +1 mirrored, -1 direct view.
    ring_sign: f32,
    // Mount (mei, ocam): cos/sin of heading_at_top, axis signs sx, sz.
    mount_cos: f32,
    mount_sin: f32,
    mount_sx: f32,
    mount_sz: f32,
    // Mei.
    fx: f32,
    fy: f32,
    cx: f32,
    cy: f32,
    skew: f32,
    xi: f32,
    // -min(xi, 1/xi), the lowest visible Xs.z.
    z_limit: f32,
    k1: f32,
    k2: f32,
    p1: f32,
    p2: f32,
    _pad_mei: f32,
    // Ocam.
    center_row: f32,
    center_col: f32,
    c: f32,
    d: f32,
    e: f32,
    _pad_ocam0: f32,
    _pad_ocam1: f32,
    _pad_ocam2: f32,
    // Ring profile knots (radius, elevation, 0, 0), inner edge first.
    knots: array<vec4<f32>, MAX_PROFILE_KNOTS>,
    // OCam pol and invpol, four coefficients per vector, lowest degree first.
    pol: array<vec4<f32>, 4>,
    invpol: array<vec4<f32>, 8>,
}

struct DewarpConfig {
    view_size: vec2<u32>,
    frame_size: vec2<u32>,
    // Chroma plane size (YUV sources).
    chroma_size: vec2<u32>,
    tile_count: u32,
    // 1 for limited ("TV") YUV range.
    yuv_limited: u32,
    // Elevation band with content, radians.
    band_min: f32,
    band_max: f32,
    // YUV matrix (Kr, Kb).
    yuv_kr: f32,
    yuv_kb: f32,
    // Fill colour, 0..255.
    fill: vec4<f32>,
    // The fill colour in the source's YUV (YuvColor::from_rgb), for YUV outputs.
    fill_yuv: vec4<f32>,
    model: ModelConfig,
    tiles: array<TileConfig, MAX_TILES>,
}

@group(0) @binding(0) var<uniform> config: DewarpConfig;
