//! Shared by the GPU tests: test calibrations of every model, views of every projection,
//! synthetic frames, a shared device, and comparison statistics.
#![allow(dead_code)]

use std::f64::consts::{FRAC_PI_2, PI, TAU};
use std::sync::OnceLock;

use glam::DVec2;
use omnidewarp::model::{
    Calibration, CameraModel, ElevationBand, MeiModel, Mount, MountAxis, OcamModel, Orientation,
    Projection, RadialProfile, RingModel, View,
};
use omnidewarp::{DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat};

pub fn deg(d: f64) -> f64 {
    d.to_radians()
}

// ---- the device ----

/// One device for every test of a binary, or `None` (the caller returns early) when there is
/// no adapter and `OMNIDEWARP_SKIP_GPU_TESTS=1`. Without that variable a missing adapter
/// fails the test: CI installs lavapipe.
pub fn device() -> Option<(omnidewarp::wgpu::Device, omnidewarp::wgpu::Queue)> {
    static DEVICE: OnceLock<Result<(omnidewarp::wgpu::Device, omnidewarp::wgpu::Queue), String>> =
        OnceLock::new();
    let got = DEVICE.get_or_init(|| {
        omnidewarp::gpu::headless_device()
            .map(|(d, q, info)| {
                eprintln!("GPU tests on {} ({:?})", info.name, info.backend);
                (d, q)
            })
            .map_err(|e| e.to_string())
    });
    match got {
        Ok(dq) => Some(dq.clone()),
        Err(e) if std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() == Ok("1") => {
            eprintln!("skipping a GPU test: {e} (OMNIDEWARP_SKIP_GPU_TESTS=1)");
            None
        }
        Err(e) => panic!(
            "no GPU adapter: {e}. Install Mesa's lavapipe (mesa-vulkan-drivers), or set \
             OMNIDEWARP_SKIP_GPU_TESTS=1 to skip GPU tests"
        ),
    }
}

// ---- calibrations: every model, odd frame sizes ----

/// A test model: its name, calibration and the (odd) frame size the tests use.
pub struct Case {
    pub name: &'static str,
    pub calibration: Calibration,
    pub frame: (u32, u32),
}

/// Ring, calibrated at 4× the test frame size (the dewarpers scale it).
pub fn ring() -> Case {
    let ring = RingModel::builder()
        .center(DVec2::new(513.5, 501.5))
        .radii(120.0, 480.0)
        .elevations(deg(-60.0), deg(45.0))
        .heading_at_top(deg(20.0))
        .build()
        .unwrap();
    Case {
        name: "ring",
        calibration: Calibration::new((1028, 1004), CameraModel::Ring(ring), None).unwrap(),
        frame: (257, 251),
    }
}

/// Ring with a bent radial profile, direct view (s = −1).
pub fn ring_profile() -> Case {
    let mut ring = RingModel::builder()
        .center(DVec2::new(150.3, 149.6))
        .radii(35.0, 140.0)
        .elevations(deg(-65.0), deg(50.0))
        .heading_at_top(deg(-30.0))
        .mirrored(false)
        .build()
        .unwrap();
    ring.profile = RadialProfile::new(vec![
        (35.0, deg(-65.0)),
        (60.0, deg(-35.0)),
        (95.0, deg(0.0)),
        (125.0, deg(30.0)),
        (140.0, deg(50.0)),
    ])
    .unwrap();
    Case {
        name: "ring+profile",
        calibration: Calibration::new((301, 301), CameraModel::Ring(ring), None).unwrap(),
        frame: (301, 301),
    }
}

/// Mei with skew and radial-tangential distortion, a rotated mount and a band.
pub fn mei() -> Case {
    let lens = MeiModel {
        fx: 55.0,
        fy: 56.0,
        cx: 160.2,
        cy: 139.7,
        skew: 0.3,
        xi: 0.9,
        k1: -0.04,
        k2: 0.005,
        p1: 0.001,
        p2: -0.0008,
    };
    let mount = Mount {
        axis: MountAxis::Nadir,
        reflected: true,
        heading_at_top: 0.5,
    };
    Case {
        name: "mei",
        calibration: Calibration::new(
            (321, 279),
            CameraModel::Mei { lens, mount },
            Some(ElevationBand::new(deg(-60.0), deg(30.0)).unwrap()),
        )
        .unwrap(),
        frame: (321, 279),
    }
}

/// OCamCalib polynomial with an affine part and no band (content = wherever the model lands
/// inside the frame); `invpol` fitted to `pol` as OCamCalib does.
pub fn ocam() -> Case {
    let pol = vec![-60.0, 0.0, 0.009375, 2.0e-6];
    let invpol = fit_invpol(&pol, 200.0, 8);
    let lens = OcamModel {
        pol,
        invpol,
        center_row: 128.3,
        center_col: 166.1,
        c: 1.0,
        d: 0.002,
        e: -0.003,
    };
    let mount = Mount {
        axis: MountAxis::Nadir,
        reflected: true,
        heading_at_top: 1.0,
    };
    Case {
        name: "ocam",
        calibration: Calibration::new((333, 257), CameraModel::Ocam { lens, mount }, None).unwrap(),
        frame: (333, 257),
    }
}

pub fn all_models() -> Vec<Case> {
    vec![ring(), ring_profile(), mei(), ocam()]
}

fn polyval(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &a| acc * x + a)
}

/// Least-squares `invpol` of `degree`: ρ as a polynomial of θ = atan(pol(ρ)/ρ), ρ in 0..rho_max.
fn fit_invpol(pol: &[f64], rho_max: f64, degree: usize) -> Vec<f64> {
    let n = degree + 1;
    let samples: Vec<(f64, f64)> = (1..400)
        .map(|i| {
            let rho = rho_max * f64::from(i) / 400.0;
            ((polyval(pol, rho) / rho).atan(), rho)
        })
        .collect();
    let mut a = vec![vec![0.0; n + 1]; n];
    for &(t, r) in &samples {
        let powers: Vec<f64> = (0..n).map(|k| t.powi(k as i32)).collect();
        for i in 0..n {
            for j in 0..n {
                a[i][j] += powers[i] * powers[j];
            }
            a[i][n] += powers[i] * r;
        }
    }
    // Gauss-Jordan with partial pivoting.
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (row, line) in a.iter_mut().enumerate() {
            if row != col {
                let f = line[col] / pivot_row[col];
                for (v, p) in line.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    (0..n).map(|i| a[i][n] / a[i][i]).collect()
}

// ---- views: every projection and layout ----

/// The elevation range of a case's content, for panoramas.
fn band(case: &Case) -> (f64, f64) {
    match case.calibration.band {
        Some(b) => (b.max, b.min),
        None => (deg(60.0), deg(-85.0)),
    }
}

/// Equirect, cylinder, perspective, stereographic, double panorama and quad views of a case
/// (odd sizes, every orientation angle used somewhere).
pub fn views(case: &Case) -> Vec<(&'static str, View)> {
    let (top, bottom) = band(case);
    let o = |yaw: f64, pitch: f64, roll: f64| Orientation {
        yaw: deg(yaw),
        pitch: deg(pitch),
        roll: deg(roll),
    };
    let v = |projection, orientation, w, h| View::new(projection, orientation, w, h).unwrap();
    vec![
        (
            "equirect",
            v(
                Projection::Equirect { top, bottom },
                o(10.0, 0.0, 0.0),
                181,
                61,
            ),
        ),
        (
            "cylinder",
            v(
                Projection::Cylinder {
                    top: top.min(deg(80.0)),
                    bottom: bottom.max(deg(-80.0)),
                },
                o(-40.0, 0.0, 0.0),
                161,
                67,
            ),
        ),
        (
            "perspective",
            v(
                Projection::Perspective { fov: deg(100.0) },
                o(30.0, -10.0, 5.0),
                121,
                91,
            ),
        ),
        (
            "stereographic",
            v(
                Projection::Stereographic { fov: deg(200.0) },
                o(0.0, -90.0, 0.0),
                129,
                97,
            ),
        ),
        (
            "double",
            v(
                Projection::DoublePanorama { top, bottom },
                o(75.0, 0.0, 0.0),
                161,
                83,
            ),
        ),
        (
            "quad",
            v(
                Projection::Quad { fov: deg(90.0) },
                o(-15.0, -5.0, 0.0),
                123,
                93,
            ),
        ),
    ]
}

pub const INTERPOLATIONS: [Interpolation; 3] = [
    Interpolation::Nearest,
    Interpolation::Bilinear,
    Interpolation::Bicubic,
];

// ---- frames ----

/// A smooth full-sphere scene: RGBA (0..255, unrounded) at heading h, elevation e.
pub fn scene(h: f64, e: f64) -> [f64; 4] {
    [
        128.0 + 100.0 * (4.0 * h).sin() * (3.0 * e).cos(),
        128.0 + 100.0 * (7.0 * h + 1.0).cos() * (5.0 * e + 0.3).sin(),
        128.0 + 60.0 * (2.0 * h - 3.0 * e).sin() + 40.0 * (11.0 * h).cos() * e.cos(),
        200.0 + 55.0 * (h + e).sin(),
    ]
}

fn quantize(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// The scene as an equirectangular panorama, `w × h`, RGBA8.
pub fn panorama(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for j in 0..h {
        for i in 0..w {
            let heading = -PI + TAU * (f64::from(i) + 0.5) / f64::from(w);
            let elevation = FRAC_PI_2 - PI * (f64::from(j) + 0.5) / f64::from(h);
            out.extend(scene(heading, elevation).map(quantize));
        }
    }
    out
}

/// The mirror frame of a case (its test size), rendered with `omnidewarp::render_mirror` from
/// the scene's 1024×512 panorama.
pub fn mirror_frame(case: &Case) -> Vec<u8> {
    static PANORAMA: OnceLock<Vec<u8>> = OnceLock::new();
    let pano = PANORAMA.get_or_init(|| panorama(1024, 512));
    let (w, h) = case.frame;
    let mut out = vec![0u8; (w * h * 4) as usize];
    omnidewarp::render_mirror(
        &Frame::packed(PixelFormat::Rgba8, 1024, 512, pano).unwrap(),
        &case.calibration,
        &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut out).unwrap(),
        &DewarpOptions::default(),
    )
    .unwrap();
    out
}

/// The CPU oracle's output.
pub fn reference(case: &Case, view: &View, options: &DewarpOptions, frame: &Frame<'_>) -> Vec<u8> {
    let mut out = vec![0u8; (view.width * view.height * 4) as usize];
    omnidewarp::dewarp_reference(
        &case.calibration,
        view,
        options,
        frame,
        &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out).unwrap(),
    )
    .unwrap();
    out
}

// ---- statistics ----

/// How two 8-bit images differ.
#[derive(Debug, Clone, Copy)]
pub struct Diff {
    pub max: u8,
    /// Fraction of pixels whose every channel is within 1.
    pub within_1: f64,
    pub psnr: f64,
}

pub fn diff(a: &[u8], b: &[u8], channels: usize) -> Diff {
    assert_eq!(a.len(), b.len());
    let mut max = 0u8;
    let mut close = 0usize;
    let mut sq = 0f64;
    for (pa, pb) in a.chunks_exact(channels).zip(b.chunks_exact(channels)) {
        let m = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max = max.max(m);
        close += usize::from(m <= 1);
        sq += pa
            .iter()
            .zip(pb)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>();
    }
    let pixels = a.len() / channels;
    let mse = sq / a.len() as f64;
    Diff {
        max,
        within_1: close as f64 / pixels as f64,
        psnr: if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        },
    }
}

/// PSNR of `a` against a float reference, over the pixels `mask` keeps.
pub fn psnr_f64(a: &[u8], reference: &[f64], mask: &[bool], channels: usize) -> f64 {
    let mut sq = 0.0;
    let mut n = 0usize;
    for ((pa, pr), &keep) in a
        .chunks_exact(channels)
        .zip(reference.chunks_exact(channels))
        .zip(mask)
    {
        if keep {
            for (x, r) in pa.iter().zip(pr) {
                sq += (f64::from(*x) - r).powi(2);
                n += 1;
            }
        }
    }
    10.0 * (255.0 * 255.0 / (sq / n as f64)).log10()
}

/// Pixels of `view` whose exact (f64) source position lies within `eps` frame pixels of a
/// nearest-neighbour boundary (a half-integer) on either axis. There the GPU's f32 mapping
/// (within ~1e-4 px of the exact one, see the crate's mapping test) may pick the other
/// neighbour: a difference of the local contrast, not a mapping or sampling error.
pub fn nearest_ambiguous(case: &Case, view: &View, eps: f64) -> Vec<bool> {
    let scaled = case
        .calibration
        .scaled_to(case.frame.0, case.frame.1)
        .unwrap();
    let near_boundary = |v: f64| {
        let f = (v + 0.5).rem_euclid(1.0);
        f < eps || f > 1.0 - eps
    };
    (0..view.height)
        .flat_map(|j| (0..view.width).map(move |i| (i, j)))
        .map(|(i, j)| {
            view.ray(f64::from(i), f64::from(j))
                .and_then(|d| scaled.model.project(d))
                .is_some_and(|p| near_boundary(p.x) || near_boundary(p.y))
        })
        .collect()
}

/// Largest channel difference over the pixels `mask` does not exclude.
pub fn max_diff_excluding(a: &[u8], b: &[u8], channels: usize, exclude: &[bool]) -> u8 {
    a.chunks_exact(channels)
        .zip(b.chunks_exact(channels))
        .zip(exclude)
        .filter(|(_, skip)| !**skip)
        .map(|((pa, pb), _)| {
            pa.iter()
                .zip(pb)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// A texture holding `data` (tight rows of `format`) with `usage` plus COPY_DST.
pub fn texture_with(
    device: &omnidewarp::wgpu::Device,
    queue: &omnidewarp::wgpu::Queue,
    format: omnidewarp::wgpu::TextureFormat,
    (w, h): (u32, u32),
    usage: omnidewarp::wgpu::TextureUsages,
    data: &[u8],
) -> omnidewarp::wgpu::Texture {
    use omnidewarp::wgpu;
    let usage = usage | wgpu::TextureUsages::COPY_DST;
    let texture =
        omnidewarp::gpu::create_texture_2d(device, "test texture", (w, h), format, 1, usage);
    let texel = format.block_copy_size(None).unwrap();
    queue.write_texture(
        texture.as_image_copy(),
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(w * texel),
            rows_per_image: Some(h),
        },
        texture.size(),
    );
    texture
}
