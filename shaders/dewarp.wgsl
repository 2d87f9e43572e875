// The dewarp pipeline: one full-viewport triangle; each fragment maps its view pixel to the
// frame and samples it. Prepended (src/gpu/shaders.rs): config.wgsl, model.wgsl,
// projection.wgsl, map.wgsl, sample.wgsl.
//
// The twin of `run` and `Context::{packed, yuv_to_rgba}` in src/cpu/mod.rs.

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

// PlaneGeometry::source for a plane of `plane_size` pixels: its position and lod.
fn plane_source(point: SourcePoint, plane_size: vec2<u32>) -> vec3<f32> {
    let scale = vec2<f32>(plane_size) / vec2<f32>(config.frame_size);
    let lod_bias = log2(max(scale.x, scale.y));
    let p = (point.p + 0.5) * scale - 0.5;
    return vec3<f32>(p, point.lod + lod_bias);
}

// The output of view pixel `pixel`, 8-bit codes as f32.
fn dewarp_pixel(pixel: vec2<u32>) -> vec4<f32> {
    let k = tile_at(pixel);
    if k == MAX_TILES {
        return config.fill;
    }
    let local = vec2<f32>(pixel - config.tiles[k].rect.xy);
    let point = map_point(k, local.x, local.y, antialias);
    if !point.ok {
        return config.fill;
    }
    let interpolation = interpolation_kind;
    let luma = plane_source(point, config.frame_size);
    let v = sample_lod(plane0, luma.x, luma.y, luma.z, interpolation, antialias);
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
            let chroma = plane_source(point, config.chroma_size);
            let c1 = sample_lod(plane1, chroma.x, chroma.y, chroma.z, interpolation, antialias);
            var uv = c1.rg;
            if source_kind == SOURCE_I420 {
                let c2 = sample_lod(plane2, chroma.x, chroma.y, chroma.z, interpolation, antialias);
                uv = vec2<f32>(c1.r, c2.r);
            }
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
    let pixel = vec2<u32>(floor(in.view_pixel));
    let k = tile_at(pixel);
    if k == MAX_TILES {
        return vec4<f32>(0.0);
    }
    let local = vec2<f32>(pixel - config.tiles[k].rect.xy);
    let point = map_point(k, local.x, local.y, true);
    if !point.ok {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(point.p, point.lod, 1.0);
}
