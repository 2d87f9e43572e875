// Output pixel -> source position and level of detail, in f32.
//
// The twin of src/cpu/map.rs (ExactMap: in_frame, raw, point, lod, lod_of, with the same
// names) and of the tile search of Mapper::row in src/cpu/dewarp.rs: the exact per-pixel
// mapping, with the footprint from forward differences (backward where the forward neighbour
// has no projection).

// Level of detail meaning "no minification" (map.rs NO_LOD).
const NO_LOD: f32 = -16.0;

struct SourcePoint {
    p: vec2<f32>,
    lod: f32,
    ok: bool,
}

// ExactMap::in_frame: p within the frame's outer pixel edges.
fn in_frame(p: vec2<f32>) -> bool {
    let size = vec2<f32>(config.frame_size);
    return p.x >= -0.5 && p.y >= -0.5 && p.x <= size.x - 0.5 && p.y <= size.y - 0.5;
}

// ElevationBand::contains.
fn in_band(elevation: f32) -> bool {
    return elevation >= config.band_min && elevation <= config.band_max;
}

// ExactMap::raw: source position of tile pixel (x, y), without band or frame checks and with
// a ring's profile extended.
fn raw(k: u32, x: f32, y: f32) -> Projected {
    let ray = tile_ray(k, x, y);
    if !ray.ok {
        return no_projection();
    }
    return camera_project_extended(ray.d);
}

// lod_of: log2(footprint), at least NO_LOD.
fn lod_of(footprint: f32) -> f32 {
    if footprint > 0.0 {
        return max(log2(footprint), NO_LOD);
    }
    return NO_LOD;
}

// The `step` closure of ExactMap::lod (`step` is a WGSL built-in): distance to the
// neighbour (dx, dy) away, or to the opposite one where that has no projection, 0 where
// neither has.
fn lod_step(k: u32, x: f32, y: f32, p: vec2<f32>, dx: f32, dy: f32) -> f32 {
    var q = raw(k, x + dx, y + dy);
    if !q.ok {
        q = raw(k, x - dx, y - dy);
    }
    if !q.ok {
        return 0.0;
    }
    return length(q.p - p);
}

// ExactMap::lod: level of detail at tile pixel (x, y) that maps to p, log2 of the longer of
// the differences to (x + 1, y) and (x, y + 1).
fn lod(k: u32, x: f32, y: f32, p: vec2<f32>) -> f32 {
    return lod_of(max(lod_step(k, x, y, p, 1.0, 0.0), lod_step(k, x, y, p, 0.0, 1.0)));
}

// ExactMap::point: source point of tile pixel (x, y), not ok outside the content. The
// footprint is only needed (and only measured) for anti-aliasing.
fn point(k: u32, x: f32, y: f32, with_footprint: bool) -> SourcePoint {
    let ray = tile_ray(k, x, y);
    if !ray.ok || !in_band(elevation_of(ray.d)) {
        return SourcePoint(vec2<f32>(0.0), 0.0, false);
    }
    let projected = camera_project(ray.d);
    if !projected.ok || !in_frame(projected.p) {
        return SourcePoint(vec2<f32>(0.0), 0.0, false);
    }
    var level = NO_LOD;
    if with_footprint {
        level = lod(k, x, y, projected.p);
    }
    return SourcePoint(projected.p, level, true);
}

// Mapper::row's tile search: the tile holding view pixel `pixel`, MAX_TILES if none.
fn tile_at(pixel: vec2<u32>) -> u32 {
    for (var k = 0u; k < config.tile_count; k += 1u) {
        let r = config.tiles[k].rect;
        if all(pixel >= r.xy) && all(pixel < r.xy + r.zw) {
            return k;
        }
    }
    return MAX_TILES;
}
