// Reading a plane at fractional positions: nearest, bilinear, bicubic, trilinear mips.
//
// The twin of src/cpu/sample.rs: same addressing (clamp to edge), weights and rounding. All
// reads are textureLoad of whole texels (no hardware filtering: its 8-bit sub-texel weights
// would not match the CPU), values in 0..255.

// Size of mip `level`: max(1, size >> level), as wgpu and MipChain make them. Computed
// rather than queried: textureDimensions(t, level) with a level that differs between
// neighbouring pixels returns one pixel's answer for all of them on llvmpipe.
fn level_size(t: texture_2d<f32>, level: u32) -> vec2<u32> {
    return max(textureDimensions(t) >> vec2<u32>(level), vec2<u32>(1u));
}

// PlaneRef::texel: the texel at (col, row) of mip `level`, clamped to the edge, 0..255.
fn texel(t: texture_2d<f32>, level: u32, col: i32, row: i32) -> vec4<f32> {
    let size = vec2<i32>(level_size(t, level));
    let at = clamp(vec2<i32>(col, row), vec2<i32>(0), size - 1);
    // An i32 level: naga's GLSL bounds check passes it on to textureSize, which takes an int.
    return round(textureLoad(t, at, i32(level)) * 255.0);
}

// PlaneRef::nearest: the pixel nearest to (x, y), floor(x + 0.5).
fn sample_nearest(t: texture_2d<f32>, level: u32, x: f32, y: f32) -> vec4<f32> {
    return texel(t, level, i32(floor(x + 0.5)), i32(floor(y + 0.5)));
}

// PlaneRef::bilinear: 2x2 blend around (x, y).
fn sample_bilinear(t: texture_2d<f32>, level: u32, x: f32, y: f32) -> vec4<f32> {
    let fx = floor(x);
    let fy = floor(y);
    let tx = x - fx;
    let ty = y - fy;
    let x0 = i32(fx);
    let y0 = i32(fy);
    let a = texel(t, level, x0, y0);
    let b = texel(t, level, x0 + 1, y0);
    let c = texel(t, level, x0, y0 + 1);
    let d = texel(t, level, x0 + 1, y0 + 1);
    let top = a + (b - a) * tx;
    let bottom = c + (d - c) * tx;
    return top + (bottom - top) * ty;
}

// cubic_weights: Catmull-Rom (a = -0.5) weights of the taps at -1, 0, 1, 2 around t.
fn cubic_weights(t: f32) -> vec4<f32> {
    let t2 = t * t;
    let t3 = t2 * t;
    return vec4<f32>(
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    );
}

// PlaneRef::bicubic: 4x4 Catmull-Rom around (x, y), row by row.
fn sample_bicubic(t: texture_2d<f32>, level: u32, x: f32, y: f32) -> vec4<f32> {
    let fx = floor(x);
    let fy = floor(y);
    let wx = cubic_weights(x - fx);
    let wy = cubic_weights(y - fy);
    let x0 = i32(fx) - 1;
    let y0 = i32(fy) - 1;
    var acc = vec4<f32>(0.0);
    for (var j = 0; j < 4; j += 1) {
        var line = vec4<f32>(0.0);
        for (var i = 0; i < 4; i += 1) {
            line += wx[i] * texel(t, level, x0 + i, y0 + j);
        }
        acc += wy[j] * line;
    }
    return acc;
}

// PlaneRef::sample: level 0 with `interpolation`.
fn sample_plane(t: texture_2d<f32>, x: f32, y: f32, interpolation: u32) -> vec4<f32> {
    switch interpolation {
        case INTERPOLATION_NEAREST: {
            return sample_nearest(t, 0u, x, y);
        }
        case INTERPOLATION_BICUBIC: {
            return sample_bicubic(t, 0u, x, y);
        }
        default: {
            return sample_bilinear(t, 0u, x, y);
        }
    }
}

// The `at` closure of sample_lod: level 0 with `interpolation`, others bilinear, at
// level-0 position (x, y).
fn sample_level(t: texture_2d<f32>, k: u32, x: f32, y: f32, interpolation: u32) -> vec4<f32> {
    if k == 0u {
        return sample_plane(t, x, y, interpolation);
    }
    let base = vec2<f32>(textureDimensions(t));
    let size = vec2<f32>(level_size(t, k));
    let s = size / base;
    return sample_bilinear(t, k, (x + 0.5) * s.x - 0.5, (y + 0.5) * s.y - 0.5);
}

// sample_lod: `interpolation` at level 0 when lod <= 0 or without anti-aliasing, else the
// two nearest mip levels blended (level 0 with `interpolation`, the others bilinear), so the
// result is continuous in lod.
fn sample_lod(
    t: texture_2d<f32>,
    x: f32,
    y: f32,
    lod_in: f32,
    interpolation: u32,
    antialias: bool,
) -> vec4<f32> {
    if !antialias || !(lod_in > 0.0) {
        return sample_plane(t, x, y, interpolation);
    }
    let top = textureNumLevels(t) - 1u;
    let lod = min(lod_in, f32(top));
    let k0 = u32(floor(lod));
    let frac = lod - f32(k0);
    let a = sample_level(t, k0, x, y, interpolation);
    if frac == 0.0 || k0 + 1u > top {
        return a;
    }
    let b = sample_level(t, k0 + 1u, x, y, interpolation);
    return a + (b - a) * frac;
}

// to_u8: round half up, clamped to 0..255 (still as f32).
fn to_u8(v: vec4<f32>) -> vec4<f32> {
    return floor(clamp(v + 0.5, vec4<f32>(0.0), vec4<f32>(255.0)));
}
