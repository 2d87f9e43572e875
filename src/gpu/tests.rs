//! What only the crate can see, held against the CPU on a real adapter (lavapipe in CI): the
//! shader's mapping against the CPU's exact one, pixel by pixel (positions, lod, validity),
//! for every model and projection, and the GPU's mip chain against the CPU's, byte for byte.
//! (The public API's GPU tests are in `tests/gpu_*.rs`.)

use std::path::Path;

use super::readback::read_level;
use super::{GpuDewarper, headless_device};
use crate::cpu::map::ExactMap;
use crate::cpu::sample::{MipChain, PlaneRef};
use crate::model::{Calibration, CameraModel, ProjectionKind, RadialProfile, View, ViewRequest};
use crate::options::DewarpOptions;
use crate::{Frame, PixelFormat};

/// A device, or `None` (the test returns early) when there is no adapter and
/// `OMNIDEWARP_SKIP_GPU_TESTS=1`, as in `tests/gpu_common`: CI installs lavapipe.
fn device() -> Option<(wgpu::Device, wgpu::Queue)> {
    match headless_device() {
        Ok((device, queue, _)) => Some((device, queue)),
        Err(e) if std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() == Ok("1") => {
            eprintln!("skipping a GPU test: {e} (OMNIDEWARP_SKIP_GPU_TESTS=1)");
            None
        }
        Err(e) => panic!("no GPU adapter: {e} (OMNIDEWARP_SKIP_GPU_TESTS=1 skips GPU tests)"),
    }
}

fn load(path: &str) -> Calibration {
    Calibration::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The shipped calibrations of each model (the ring also with a bent radial profile, seen
/// directly), each with the odd frame size it serves in the test (not the size it was made
/// at: the dewarpers scale it).
fn cases() -> Vec<(&'static str, Calibration, (u32, u32))> {
    let ring = load("assets/synthetic_ring/ring_1440.toml");
    let mut bent = ring.clone();
    if let CameraModel::Ring(model) = &mut bent.model {
        let (r0, r1) = model.profile.radius_range();
        let deg = f64::to_radians;
        model.profile = RadialProfile::new(vec![
            (r0, deg(-55.0)),
            (r0 + 0.2 * (r1 - r0), deg(-35.0)),
            (r0 + 0.55 * (r1 - r0), deg(0.0)),
            (r0 + 0.85 * (r1 - r0), deg(30.0)),
            (r1, deg(60.0)),
        ])
        .unwrap();
        model.mirrored = false;
    }
    vec![
        ("ring", ring, (361, 361)),
        ("ring+profile", bent, (301, 301)),
        (
            "mei",
            load("assets/opencv_sample/sample_mei_calib.toml"),
            (321, 241),
        ),
        (
            "ocam",
            load("tests/fixtures/ocam_calib_results.txt"),
            (333, 250),
        ),
    ]
}

/// A view of every projection (odd sizes, every orientation angle used somewhere).
fn views(calibration: &Calibration) -> Vec<View> {
    let deg = f64::to_radians;
    ProjectionKind::ALL
        .into_iter()
        .zip([
            ((181, 61), 10.0, 0.0, 0.0),
            ((161, 67), -40.0, 0.0, 0.0),
            ((121, 91), 30.0, -10.0, 5.0),
            ((129, 97), 0.0, -90.0, 0.0),
            ((161, 83), 75.0, 0.0, 0.0),
            ((123, 93), -15.0, -5.0, 0.0),
        ])
        .map(|(kind, ((w, h), yaw, pitch, roll))| {
            let request = ViewRequest::new(kind)
                .with_band(true)
                .with_size(w, h)
                .with_yaw(deg(yaw))
                .with_pitch(deg(pitch))
                .with_roll(deg(roll));
            match kind {
                ProjectionKind::Stereographic => request.with_fov(deg(200.0)),
                ProjectionKind::Perspective => request.with_fov(deg(100.0)),
                _ => request,
            }
            .build(calibration)
            .unwrap()
        })
        .collect()
}

/// A dewarper with default options on `device` with `frame` uploaded.
fn uploaded(
    (device, queue): (&wgpu::Device, &wgpu::Queue),
    calibration: &Calibration,
    view: View,
    frame: &Frame<'_>,
) -> GpuDewarper {
    let mut gpu = GpuDewarper::with_device(
        device,
        queue,
        calibration.clone(),
        view,
        DewarpOptions::default(),
    )
    .unwrap();
    gpu.upload(frame).unwrap();
    gpu
}

#[test]
fn shader_mapping_matches_exact_map() {
    let Some((device, queue)) = device() else {
        return;
    };
    let mut worst_position = 0f64;
    let mut worst_lod = 0f64;
    for (case, calibration, (fw, fh)) in cases() {
        let scaled = calibration.scaled_to(fw, fh).unwrap();
        let map = ExactMap::new(&scaled);
        let frame = vec![0u8; (fw * fh * 4) as usize];
        let frame = Frame::packed(PixelFormat::Rgba8, fw, fh, &frame).unwrap();
        for view in views(&calibration) {
            let name = view.projection.kind().name();
            let mut gpu = uploaded((&device, &queue), &calibration, view, &frame);
            let probe = gpu.probe().unwrap();
            let tiles = view.tiles();
            let (mut position, mut lod, mut disagree, mut valid) = (0f64, 0f64, 0usize, 0usize);
            for j in 0..view.height {
                for i in 0..view.width {
                    let g = probe[(j * view.width + i) as usize];
                    let tile = tiles
                        .iter()
                        .find(|t| {
                            i >= t.x0 && j >= t.y0 && i < t.x0 + t.width && j < t.y0 + t.height
                        })
                        .unwrap();
                    let c = map.point(tile, f64::from(i - tile.x0), f64::from(j - tile.y0));
                    match (c, g[3] == 1.0) {
                        (Some(c), true) => {
                            valid += 1;
                            let d = f64::from(c.x - g[0]).hypot(f64::from(c.y - g[1]));
                            position = position.max(d);
                            if c.lod > -10.0 {
                                lod = lod.max(f64::from((c.lod - g[2]).abs()));
                            }
                        }
                        (None, false) => {}
                        (c, _) => {
                            disagree += 1;
                            eprintln!("  {name} ({i}, {j}): cpu {c:?}, gpu {g:?}");
                        }
                    }
                }
            }
            eprintln!(
                "{case:>13} {name:>15}: {valid} valid, {disagree} disagree, max |Δp| \
                 {position:.2e} px, max |Δlod| {lod:.2e}"
            );
            assert!(valid > 0, "{case} {name}: nothing valid");
            assert!(
                disagree <= 1,
                "{case} {name}: {disagree} pixels disagree on validity"
            );
            worst_position = worst_position.max(position);
            worst_lod = worst_lod.max(lod);
        }
    }
    assert!(
        worst_position < 5e-4,
        "max position error {worst_position} px"
    );
    assert!(worst_lod < 1e-3, "max lod error {worst_lod}");
}

#[test]
fn gpu_mips_equal_cpu_mips() {
    let Some((device, queue)) = device() else {
        return;
    };
    let (_, calibration, _) = cases().swap_remove(3);
    let view = views(&calibration)[0];
    // Noise, so that every rounding shows; odd sizes, so that dropped rows/columns show.
    for (format, channels, (w, h)) in [
        (PixelFormat::Rgba8, 4usize, (257u32, 251u32)),
        (PixelFormat::Gray8, 1, (83, 130)),
    ] {
        let data: Vec<u8> = (0..(w * h) as usize * channels)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let frame = Frame::packed(format, w, h, &data).unwrap();
        // Anti-aliasing (the default) builds the chain on upload.
        let gpu = uploaded((&device, &queue), &calibration, view, &frame);
        let mut cpu = MipChain::default();
        let base = PlaneRef {
            data: &data,
            stride: w as usize * channels,
            width: w,
            height: h,
        };
        cpu.rebuild(base, channels);
        let texture = &gpu.source.as_ref().unwrap().planes[0].texture;
        assert_eq!(texture.mip_level_count() as usize, cpu.levels.len() + 1);
        for (k, level) in cpu.levels.iter().enumerate() {
            let mut got = Vec::new();
            read_level(&device, &queue, texture, k as u32 + 1, |_, row| {
                got.extend_from_slice(row);
            })
            .unwrap();
            assert_eq!(
                (texture.width() >> (k + 1)).max(1),
                level.width,
                "{format:?} level {} width",
                k + 1
            );
            assert!(got == level.data, "{format:?} level {} differs", k + 1);
        }
    }
}
