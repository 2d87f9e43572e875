// The dewarp pipeline: one full-viewport triangle; each fragment maps its view pixel to the
// frame and samples it. Prepended (src/gpu/shaders.rs): config.wgsl, model.wgsl,
// projection.wgsl, map.wgsl, sample.wgsl.
//
// The twin of `run` and `Context::{packed, yuv_to_rgba, yuv_to_i420}` in src/cpu/dewarp.rs.

// Plane 0: RGBA / grey / Y. Plane 1: U (I420) or UV (NV12). Plane 2: V (I420).
@group(0) @binding(1) var plane0: texture_2d<f32>;
@group(0) @binding(2) var plane1: texture_2d<f32>;
@group(0) @binding(3) var plane2: texture_2d<f32>;

// Set per pipeline: the target stores sRGB, so write linear values that encode back to our
// 8-bit codes.
override output_srgb: bool = false;

// Set per pipeline, so that each pipeline holds only the path it runs (drivers need not
// prove the branches uniform; llvmpipe, for one, runs every arm of a switch on a uniform
// value, which made the sampler five times slower). SOURCE_*, INTERPOLATION_*.
override source_kind: u32 = 0u;
override interpolation_kind: u32 = 1u;
override antialias: bool = true;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    // View pixel coordinates: (i + 0.5, j + 0.5) at the centre of view pixel (i, j).
    @location(0) view_pixel: vec2<f32>,
}

// A triangle covering the viewport (which the host sets to the view's rectangle).
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.view_pixel = uv * vec2<f32>(config.view_size);
    return out;
}

// YuvColor::to_rgb: RGB (0..255, unclamped) of a YUV triple.
fn yuv_to_rgb(y_in: f32, u: f32, v: f32) -> vec3<f32> {
    let kr = config.yuv_kr;
    let kb = config.yuv_kb;
    let kg = 1.0 - kr - kb;
    var y = y_in;
    var cb = u - 128.0;
    var cr = v - 128.0;
    if config.yuv_limited != 0u {
        y = (y_in - 16.0) * (255.0 / 219.0);
        cb = (u - 128.0) * (255.0 / 224.0);
        cr = (v - 128.0) * (255.0 / 224.0);
    }
    return vec3<f32>(
        y + (2.0 - 2.0 * kr) * cr,
        y - ((2.0 - 2.0 * kb) * kb / kg) * cb - ((2.0 - 2.0 * kr) * kr / kg) * cr,
        y + (2.0 - 2.0 * kb) * cb,
    );
}

// PlaneGeometry::source for a plane of `plane_size` pixels, written at `out_scale` view pixels
// per output pixel: its position and lod.
fn plane_source(point: SourcePoint, plane_size: vec2<u32>, out_scale: vec2<f32>) -> vec3<f32> {
    let scale = vec2<f32>(plane_size) / vec2<f32>(config.frame_size);
    let lod_bias = log2(max(out_scale.x * scale.x, out_scale.y * scale.y));
    let p = (point.p + 0.5) * scale - 0.5;
    return vec3<f32>(p, point.lod + lod_bias);
}

// Mapper::row + RowMapper::fill: the source point of view position `q` (view pixels,
// continuous; (i, j) is the centre of pixel (i, j)) in the tile holding the pixel nearest to
// it; not ok outside every tile or the content.
fn view_point(q: vec2<f32>, with_footprint: bool) -> SourcePoint {
    let k = tile_at(vec2<u32>(floor(q + 0.5)));
    if k == MAX_TILES {
        return SourcePoint(vec2<f32>(0.0), 0.0, false);
    }
    let local = q - vec2<f32>(config.tiles[k].rect.xy);
    return point(k, local.x, local.y, with_footprint);
}

// Luma (or the packed source's channels) at a source point, 8-bit codes.
fn sample_luma(point: SourcePoint) -> vec4<f32> {
    let luma = plane_source(point, config.frame_size, vec2<f32>(1.0));
    return sample_lod(plane0, luma.x, luma.y, luma.z, interpolation_kind, antialias);
}

// sample_chroma: U and V of a YUV source at a source point, for output pixels of
// `out_scale` view pixels (unrounded codes).
fn sample_chroma(point: SourcePoint, out_scale: vec2<f32>) -> vec2<f32> {
    let c = plane_source(point, config.chroma_size, out_scale);
    let c1 = sample_lod(plane1, c.x, c.y, c.z, interpolation_kind, antialias);
    if source_kind == SOURCE_I420 {
        let c2 = sample_lod(plane2, c.x, c.y, c.z, interpolation_kind, antialias);
        return vec2<f32>(c1.r, c2.r);
    }
    return c1.rg;
}

// The output of view pixel `pixel`, 8-bit codes as f32.
fn dewarp_pixel(pixel: vec2<u32>) -> vec4<f32> {
    let point = view_point(vec2<f32>(pixel), antialias);
    if !point.ok {
        return config.fill;
    }
    let v = sample_luma(point);
    switch source_kind {
        case SOURCE_RGBA: {
            return to_u8(v);
        }
        case SOURCE_RGB: {
            return vec4<f32>(to_u8(v).rgb, 255.0);
        }
        case SOURCE_GRAY: {
            return vec4<f32>(to_u8(v).rrr, 255.0);
        }
        default: {
            // I420 / NV12: chroma sampled at its own resolution.
            let uv = sample_chroma(point, vec2<f32>(1.0));
            let rgb = yuv_to_rgb(v.r, uv.x, uv.y);
            return vec4<f32>(to_u8(vec4<f32>(rgb, 0.0)).rgb, 255.0);
        }
    }
}

// sRGB electro-optical transfer function (the inverse of what an sRGB target applies).
fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let pixel = vec2<u32>(floor(in.view_pixel));
    let code = dewarp_pixel(pixel);
    var out = code / 255.0;
    if output_srgb {
        out = vec4<f32>(srgb_to_linear(out.rgb), out.a);
    }
    return out;
}

// The mapping alone, for tests against ExactMap::point: (x, y, lod, 1) of a view pixel with
// content, (0, 0, 0, 0) elsewhere. Needs a 32-bit float target.
@fragment
fn fs_probe(in: VertexOut) -> @location(0) vec4<f32> {
    let point = view_point(floor(in.view_pixel), true);
    if !point.ok {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(point.p, point.lod, 1.0);
}

// The Y plane of a YUV source dewarped into I420 (an R8 target of the view's size): the twin
// of the Y loop of Context::yuv_to_i420.
@fragment
fn fs_luma(in: VertexOut) -> @location(0) vec4<f32> {
    let point = view_point(floor(in.view_pixel), antialias);
    var y = config.fill_yuv.x;
    if point.ok {
        y = to_u8(sample_luma(point)).r;
    }
    return vec4<f32>(y / 255.0, 0.0, 0.0, 1.0);
}

// The U and V planes of a YUV source dewarped into I420 (an RG8 target of ceil(view / 2),
// drawn with that viewport): chroma pixel (i, j) is sampled at the view position of its
// centre, in the source's chroma planes. The twin of the chroma loop of
// Context::yuv_to_i420.
@fragment
fn fs_chroma(in: VertexOut) -> @location(0) vec4<f32> {
    let plane_size = (config.view_size + 1u) / 2u;
    let out_scale = vec2<f32>(config.view_size) / vec2<f32>(plane_size);
    let q = (floor(in.position.xy) + 0.5) * out_scale - 0.5;
    let point = view_point(q, antialias);
    var uv = config.fill_yuv.yz;
    if point.ok {
        uv = to_u8(vec4<f32>(sample_chroma(point, out_scale), 0.0, 0.0)).xy;
    }
    return vec4<f32>(uv / 255.0, 0.0, 1.0);
}
