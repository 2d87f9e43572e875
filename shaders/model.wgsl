// Camera models: world direction -> frame pixel, in f32.
//
// The twin of src/model/{mod,ring,mount,mei,ocam}.rs: same function names and steps. Where
// the Rust code returns None, these return a value with ok = false. Parameters come from
// `config.model` (shaders/config.wgsl), already scaled to the frame.

struct Projected {
    p: vec2<f32>,
    ok: bool,
}

fn no_projection() -> Projected {
    return Projected(vec2<f32>(0.0), false);
}

struct Scalar {
    value: f32,
    ok: bool,
}

// model::direction: unit direction of heading h and elevation e.
fn direction(heading: f32, elevation: f32) -> vec3<f32> {
    let se = sin(elevation);
    let ce = cos(elevation);
    let sh = sin(heading);
    let ch = cos(heading);
    return vec3<f32>(ce * sh, ce * ch, se);
}

// ---- arctangents ----
//
// Drivers' atan/atan2 can be coarse (lavapipe's are off by up to ~3e-6 rad, 3e-4 px at a
// radius of 100 px, enough to move a nearest-neighbour pick); these are Cephes' atanf
// (about 2 ulp), so the mapping follows the CPU's f64 one within ~1e-4 px.

const PI: f32 = 3.14159265358979323846;
const FRAC_PI_4: f32 = 0.78539816339744830962;
// tan(pi/8).
const TAN_PI_8: f32 = 0.41421356237309504880;

// atan(t) for t in [0, 1].
fn atan_unit(t: f32) -> f32 {
    var x = t;
    var y = 0.0;
    if x > TAN_PI_8 {
        y = FRAC_PI_4;
        x = (x - 1.0) / (x + 1.0);
    }
    let z = x * x;
    return y + ((((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z
        - 3.33329491539e-1) * z * x + x);
}

// atan(v), any v.
fn atan_precise(v: f32) -> f32 {
    let a = abs(v);
    var r: f32;
    if a > 1.0 {
        r = 2.0 * FRAC_PI_4 - atan_unit(1.0 / a);
    } else {
        r = atan_unit(a);
    }
    return select(r, -r, v < 0.0);
}

// atan2(y, x) in [-pi, pi], as Rust's f64::atan2.
fn atan2_precise(y: f32, x: f32) -> f32 {
    let ax = abs(x);
    let ay = abs(y);
    let big = max(ax, ay);
    if big == 0.0 {
        return select(0.0, PI, x < 0.0);
    }
    var r = atan_unit(min(ax, ay) / big);
    if ay > ax {
        r = 2.0 * FRAC_PI_4 - r;
    }
    if x < 0.0 {
        r = PI - r;
    }
    return select(r, -r, y < 0.0);
}

// model::heading_elevation: heading in (-pi, pi] and elevation of a direction.
fn heading_elevation(d: vec3<f32>) -> vec2<f32> {
    let horizontal = length(d.xy);
    return vec2<f32>(atan2_precise(d.x, d.y), atan2_precise(d.z, horizontal));
}

// Elevation of a direction. The Rust code takes asin(clamp(d.z)) of the unit vector; atan2
// gives the same angle and keeps f32 precision near the poles.
fn elevation_of(d: vec3<f32>) -> f32 {
    return atan2_precise(d.z, length(d.xy));
}

// ---- ring (src/model/ring.rs) ----

fn knot(k: u32) -> vec2<f32> {
    return config.model.knots[k].xy;
}

// RadialProfile::radius: radius at elevation e, not ok outside the ring's elevation range.
// An elevation a rounding error beyond an edge counts as the edge (the Rust code allows
// 1e-12 rad in f64; 1e-6 rad is the f32 counterpart).
fn profile_radius(e_in: f32) -> Scalar {
    let n = config.model.knot_count;
    let e_a = knot(0u).y;
    let e_b = knot(n - 1u).y;
    let rising = e_b > e_a;
    let lo = min(e_a, e_b);
    let hi = max(e_a, e_b);
    if !(e_in >= lo - 1.0e-6 && e_in <= hi + 1.0e-6) {
        return Scalar(0.0, false);
    }
    return Scalar(profile_radius_extended(clamp(e_in, lo, hi)), true);
}

// RadialProfile::radius_extended: the end segments extended beyond the ring.
fn profile_radius_extended(e: f32) -> f32 {
    let n = config.model.knot_count;
    let rising = knot(n - 1u).y > knot(0u).y;
    // partition_point: the first knot past e.
    var k = 0u;
    for (; k < n; k += 1u) {
        let ke = knot(k).y;
        let before = select(ke >= e, ke <= e, rising);
        if !before {
            break;
        }
    }
    k = clamp(k, 1u, n - 1u);
    let a = knot(k - 1u);
    let b = knot(k);
    return a.x + (e - a.y) * (b.x - a.x) / (b.y - a.y);
}

// RingModel::project.
fn ring_project(d: vec3<f32>) -> Projected {
    let he = heading_elevation(d);
    let r = profile_radius(he.y);
    if !r.ok {
        return no_projection();
    }
    return Projected(ring_position(he.x, r.value), true);
}

// RingModel::project_extended: the profile extended beyond the ring's edges.
fn ring_project_extended(d: vec3<f32>) -> Projected {
    let he = heading_elevation(d);
    return Projected(ring_position(he.x, profile_radius_extended(he.y)), true);
}

// The ring's pixel at heading h and radius r.
fn ring_position(h: f32, r: f32) -> vec2<f32> {
    let t = h - config.model.ring_heading_at_top;
    let center = config.model.ring_center;
    return vec2<f32>(center.x - config.model.ring_sign * r * sin(t), center.y - r * cos(t));
}

// ---- mount (src/model/mount.rs) ----

// Mount::world_to_model.
fn world_to_model(d: vec3<f32>) -> vec3<f32> {
    let ca = config.model.mount_cos;
    let sa = config.model.mount_sin;
    let x = d.x * ca - d.y * sa;
    let y = d.y * ca + d.x * sa;
    return vec3<f32>(config.model.mount_sx * x, -y, config.model.mount_sz * d.z);
}

// ---- mei (src/model/mei.rs) ----

// MeiModel::distort: radial-tangential distortion.
fn mei_distort(m: vec2<f32>) -> vec2<f32> {
    let k1 = config.model.k1;
    let k2 = config.model.k2;
    let p1 = config.model.p1;
    let p2 = config.model.p2;
    let r2 = dot(m, m);
    let radial = 1.0 + k1 * r2 + k2 * r2 * r2;
    return vec2<f32>(
        m.x * radial + 2.0 * p1 * m.x * m.y + p2 * (r2 + 2.0 * m.x * m.x),
        m.y * radial + p1 * (r2 + 2.0 * m.y * m.y) + 2.0 * p2 * m.x * m.y,
    );
}

// MeiModel::project.
fn mei_project(x: vec3<f32>) -> Projected {
    let len = length(x);
    if !(len > 0.0) {
        return no_projection();
    }
    let xs = x / len;
    if xs.z <= config.model.z_limit {
        return no_projection();
    }
    let m = xs.xy / (xs.z + config.model.xi);
    let md = mei_distort(m);
    return Projected(
        vec2<f32>(
            config.model.fx * md.x + config.model.skew * md.y + config.model.cx,
            config.model.fy * md.y + config.model.cy,
        ),
        true,
    );
}

// ---- ocam (src/model/ocam.rs) ----

fn pol_coefficient(k: u32) -> f32 {
    return config.model.pol[k / 4u][k % 4u];
}

fn invpol_coefficient(k: u32) -> f32 {
    return config.model.invpol[k / 4u][k % 4u];
}

// polyval(pol, x), Horner from the highest degree.
fn polyval_pol(x: f32) -> f32 {
    var acc = 0.0;
    for (var k = config.model.pol_count; k > 0u; k -= 1u) {
        acc = acc * x + pol_coefficient(k - 1u);
    }
    return acc;
}

// polyder(pol, x).
fn polyder_pol(x: f32) -> f32 {
    var acc = 0.0;
    for (var k = config.model.pol_count - 1u; k > 0u; k -= 1u) {
        acc = acc * x + f32(k) * pol_coefficient(k);
    }
    return acc;
}

// polyval(invpol, x).
fn polyval_invpol(x: f32) -> f32 {
    var acc = 0.0;
    for (var k = config.model.invpol_count; k > 0u; k -= 1u) {
        acc = acc * x + invpol_coefficient(k - 1u);
    }
    return acc;
}

// OcamModel::project: seed rho with invpol(theta), refine with Newton steps on
// pol(rho) * norm - rho * z = 0. The stopping and acceptance tolerances are those of the
// Rust code scaled to f32 precision.
fn ocam_project(m: vec3<f32>) -> Projected {
    let x = m.y;
    let y = m.x;
    let z = -m.z;
    let norm = length(vec2<f32>(x, y));
    var sensor = vec2<f32>(0.0);
    if norm == 0.0 {
        if z >= 0.0 {
            return no_projection();
        }
    } else {
        let theta = atan_precise(z / norm);
        var rho = polyval_invpol(theta);
        for (var i = 0; i < 30; i += 1) {
            let f = polyval_pol(rho) * norm - rho * z;
            let df = polyder_pol(rho) * norm - z;
            if df == 0.0 || !(abs(df) < 3.0e38) {
                return no_projection();
            }
            let step = f / df;
            rho -= step;
            if abs(step) < 1.0e-6 * (1.0 + abs(rho)) {
                break;
            }
        }
        let pol_rho = polyval_pol(rho) * norm;
        let residual = pol_rho - rho * z;
        let tolerance = 1.0e-5 * (1.0 + abs(rho) + abs(pol_rho));
        if rho < 0.0 || !(abs(rho) < 3.0e38) || abs(residual) > tolerance {
            return no_projection();
        }
        sensor = vec2<f32>(x / norm * rho, y / norm * rho);
    }
    let row = sensor.x * config.model.c + sensor.y * config.model.d + config.model.center_row;
    let col = sensor.x * config.model.e + sensor.y + config.model.center_col;
    return Projected(vec2<f32>(col, row), true);
}

// ---- CameraModel::project (src/model/camera.rs) ----

// MODEL_*, set per pipeline (equal to config.model.kind), so that a pipeline holds one model.
override model_kind: u32 = 0u;

// CameraModel::project_extended: a ring's profile extends beyond its edges.
fn camera_project_extended(d: vec3<f32>) -> Projected {
    if model_kind == MODEL_MEI || model_kind == MODEL_OCAM {
        return camera_project(d);
    }
    return ring_project_extended(d);
}

fn camera_project(d: vec3<f32>) -> Projected {
    switch model_kind {
        case MODEL_MEI: {
            return mei_project(world_to_model(d));
        }
        case MODEL_OCAM: {
            return ocam_project(world_to_model(d));
        }
        default: {
            return ring_project(d);
        }
    }
}
