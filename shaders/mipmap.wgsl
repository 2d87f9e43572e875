// The mip pipeline: one render pass per level, each texel the 2x2 box average of the level
// before, with the CPU's integer rounding `(a + b + c + d + 2) >> 2`.
//
// The twin of MipChain::rebuild in src/cpu/sample.rs. Level sizes are wgpu's,
// max(1, previous >> 1), the same as the CPU's; an odd last row or column is dropped.

@group(0) @binding(0) var previous: texture_2d<f32>;

// A triangle covering the target level.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
}

// A texel of the previous level as 8-bit codes.
fn code(x: i32, y: i32) -> vec4<u32> {
    return vec4<u32>(round(textureLoad(previous, vec2<i32>(x, y), 0) * 255.0));
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(floor(position.xy));
    let last = vec2<i32>(textureDimensions(previous)) - 1;
    let x0 = min(2 * p.x, last.x);
    let x1 = min(2 * p.x + 1, last.x);
    let y0 = min(2 * p.y, last.y);
    let y1 = min(2 * p.y + 1, last.y);
    let sum = code(x0, y0) + code(x1, y0) + code(x0, y1) + code(x1, y1);
    return vec4<f32>((sum + 2u) >> vec4<u32>(2u)) / 255.0;
}
