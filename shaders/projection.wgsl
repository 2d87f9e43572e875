// Output projections: tile pixel -> world direction, in f32.
//
// The twin of src/model/projection.rs (Tile::ray). Tile parameters come from
// `config.tiles[k]` (shaders/config.wgsl), with the per-tile constants precomputed in f64.

const FRAC_PI_2: f32 = 1.5707963267948966;

struct Ray {
    d: vec3<f32>,
    ok: bool,
}

// camera_to_local: camera axes (right, down, forward) -> local (east, north, up).
fn camera_to_local(v: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(v.x, v.z, -v.y);
}

// Tile::ray: world direction (unit) seen at tile-local pixel (x, y) of tile k.
fn tile_ray(k: u32, x: f32, y: f32) -> Ray {
    let tile = config.tiles[k];
    let w = f32(tile.rect.z);
    let h = f32(tile.rect.w);
    var local: vec3<f32>;
    switch tile.projection {
        case PROJECTION_EQUIRECT: {
            let top = tile.params.x;
            let bottom = tile.params.y;
            let span = tile.params.z;
            let heading = -span / 2.0 + span * (x + 0.5) / w;
            let elevation = top - (top - bottom) * (y + 0.5) / h;
            if abs(elevation) > FRAC_PI_2 {
                return Ray(vec3<f32>(0.0), false);
            }
            local = direction(heading, elevation);
        }
        case PROJECTION_CYLINDER: {
            let t0 = tile.params.x;
            let t1 = tile.params.y;
            let span = tile.params.z;
            let heading = -span / 2.0 + span * (x + 0.5) / w;
            let elevation = atan_precise(t0 - (t0 - t1) * (y + 0.5) / h);
            local = direction(heading, elevation);
        }
        case PROJECTION_PERSPECTIVE: {
            let f = tile.params.x;
            local = normalize(
                camera_to_local(vec3<f32>(x - (w - 1.0) / 2.0, y - (h - 1.0) / 2.0, f)),
            );
        }
        default: {
            // Stereographic.
            let f = tile.params.x;
            let a = x - (w - 1.0) / 2.0;
            let b = y - (h - 1.0) / 2.0;
            let radius = length(vec2<f32>(a, b));
            let theta = 2.0 * atan_precise(radius / (2.0 * f));
            let s = sin(theta);
            let c = cos(theta);
            var ray = vec3<f32>(0.0, 0.0, 1.0);
            if radius > 0.0 {
                ray = vec3<f32>(s * a / radius, s * b / radius, c);
            }
            local = camera_to_local(ray);
        }
    }
    return Ray(tile.orientation * local, true);
}
