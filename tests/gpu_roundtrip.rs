//! Round trip on the GPU: a smooth analytic scene is imaged through each camera model (every
//! frame pixel evaluated in f64 at its unprojected direction, then rounded to 8 bits), the
//! frame is dewarped on the GPU, and the output is compared with the scene evaluated in f64
//! at each output pixel's ray: PSNR ≥ 50 dB over the content (away from its edges).
//!
//! With anti-aliasing on, minified parts of the view are box-filtered over their footprint
//! while the f64 truth is point-sampled, so the bound there is 45 dB; the CPU oracle scores
//! the same and the GPU is checked against it too.
#![cfg(feature = "gpu")]

mod gpu_common;

use glam::{DVec2, DVec3};
use gpu_common::Case;
use omnidewarp::model::{Orientation, Projection, View};
use omnidewarp::{DewarpOptions, Frame, FrameMut, GpuDewarper, Interpolation, PixelFormat};

/// Smooth everywhere on the sphere (polynomials and sines of the direction's components).
fn scene(d: DVec3) -> [f64; 4] {
    [
        128.0 + 100.0 * (2.0 * d.x * d.y + 0.3 * d.z),
        128.0 + 90.0 * (2.5 * d.z + 0.3).sin(),
        128.0 + 80.0 * (d.x * d.x * d.x - 3.0 * d.x * d.y * d.y),
        255.0,
    ]
}

/// The frame the camera would record of the scene (no content: black, transparent).
fn image(case: &Case) -> Vec<u8> {
    let scaled = case
        .calibration
        .scaled_to(case.frame.0, case.frame.1)
        .unwrap();
    let band = scaled.elevation_range();
    let mut out = Vec::new();
    for j in 0..case.frame.1 {
        for i in 0..case.frame.0 {
            let px = scaled
                .model
                .unproject(DVec2::new(f64::from(i), f64::from(j)))
                .filter(|d| band.contains(d.z.clamp(-1.0, 1.0).asin()))
                .map_or([0; 4], |d| {
                    scene(d).map(|v| v.round().clamp(0.0, 255.0) as u8)
                });
            out.extend(px);
        }
    }
    out
}

/// The scene at each output pixel's ray, and whether the pixel is well inside the content
/// (elevation 3° inside the band, source 3 px inside the frame).
fn truth(case: &Case, view: &View) -> (Vec<f64>, Vec<bool>) {
    let scaled = case
        .calibration
        .scaled_to(case.frame.0, case.frame.1)
        .unwrap();
    let band = scaled.elevation_range();
    let margin = 3f64.to_radians();
    let (fw, fh) = (f64::from(case.frame.0), f64::from(case.frame.1));
    let mut values = Vec::new();
    let mut mask = Vec::new();
    for j in 0..view.height {
        for i in 0..view.width {
            let d = view.ray(f64::from(i), f64::from(j)).unwrap();
            let e = d.z.clamp(-1.0, 1.0).asin();
            let inside = e > band.min + margin
                && e < band.max - margin
                && scaled
                    .model
                    .project(d)
                    .is_some_and(|p| p.x > 3.0 && p.y > 3.0 && p.x < fw - 4.0 && p.y < fh - 4.0);
            values.extend(scene(d));
            mask.push(inside);
        }
    }
    (values, mask)
}

#[test]
fn round_trip_psnr() {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let mut worst = f64::INFINITY;
    for case in gpu_common::all_models() {
        let data = image(&case);
        let frame = Frame::packed(PixelFormat::Rgba8, case.frame.0, case.frame.1, &data).unwrap();
        let band = case.calibration.elevation_range();
        let views = [
            (
                "equirect",
                View::new(
                    Projection::Equirect {
                        top: band.max.min(1.2),
                        bottom: band.min.max(-1.45),
                    },
                    Orientation::default(),
                    361,
                    121,
                )
                .unwrap(),
            ),
            (
                "perspective",
                View::new(
                    Projection::Perspective { fov: 1.6 },
                    Orientation {
                        yaw: 0.7,
                        pitch: -0.3,
                        roll: 0.0,
                    },
                    201,
                    151,
                )
                .unwrap(),
            ),
        ];
        let mut gpu = GpuDewarper::with_device(
            &device,
            &queue,
            case.calibration.clone(),
            views[0].1,
            DewarpOptions::default(),
        )
        .unwrap();
        for (name, view) in &views {
            let (values, mask) = truth(&case, view);
            for (interpolation, antialias) in [
                (Interpolation::Bilinear, false),
                (Interpolation::Bicubic, false),
                (Interpolation::Bilinear, true),
            ] {
                let options = DewarpOptions::default()
                    .with_interpolation(interpolation)
                    .with_antialias(antialias);
                gpu.set_view(*view).unwrap();
                gpu.set_options(options);
                let mut out = vec![0u8; (view.width * view.height * 4) as usize];
                gpu.dewarp(
                    &frame,
                    &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out)
                        .unwrap(),
                )
                .unwrap();
                let psnr = gpu_common::psnr_f64(&out, &values, &mask, 4);
                let cpu = gpu_common::reference(&case, view, &options, &frame);
                let vs_cpu = gpu_common::diff(&out, &cpu, 4).psnr;
                let cpu_psnr = gpu_common::psnr_f64(&cpu, &values, &mask, 4);
                let n = mask.iter().filter(|m| **m).count();
                eprintln!(
                    "{:>12} {name:>11} {interpolation:?} aa={antialias}: GPU {psnr:.1} dB \
                     (CPU {cpu_psnr:.1} dB; GPU vs CPU {vs_cpu:.1} dB) over {n} px",
                    case.name
                );
                assert!(n > view.width as usize * view.height as usize / 3);
                let bound = if antialias { 45.0 } else { 50.0 };
                assert!(psnr >= bound, "{} {name}: {psnr:.1} dB", case.name);
                assert!(
                    vs_cpu >= 60.0,
                    "{} {name}: GPU vs CPU {vs_cpu:.1} dB",
                    case.name
                );
                if !antialias {
                    worst = worst.min(psnr);
                }
            }
        }
    }
    eprintln!("round trip without anti-aliasing: worst {worst:.1} dB");
}

// ---- the CPU round trip of tests/roundtrip.rs, on the GPU ----

mod common;

use common::mei_1280;

use omnidewarp::model::Calibration;

/// tests/roundtrip.rs's ring at 1440² (calibrated at 2880²).
fn ring_1440() -> Calibration {
    common::ring_2880().scaled_to(1440, 1440).unwrap()
}

/// As tests/roundtrip.rs checks the CPU: a frame rendered by `render_mirror` from the scene's
/// panorama, and one imaged analytically, dewarped (bilinear, no anti-aliasing) on the GPU
/// and compared, over the content eroded by 2 px, with f64 bilinear interpolation of the same
/// frame at the exact f64 source positions (≥ 50 dB), and the analytic frame's output with
/// the scene itself (≥ 40 dB).
#[test]
fn round_trip_against_f64_bilinear_reference() {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let pano = common::scene_panorama(2048, 1024);
    for (name, calibration) in [("ring 1440²", ring_1440()), ("mei 1280×960", mei_1280())] {
        let (w, h) = calibration.image_size;
        let mut rendered = image::RgbaImage::new(w, h);
        omnidewarp::render_mirror(
            &Frame::from_rgba_image(&pano).unwrap(),
            &calibration,
            &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut rendered).unwrap(),
            &DewarpOptions::default(),
        )
        .unwrap();
        let analytic = common::analytic_frame(&calibration);
        let band = calibration.elevation_range();
        let views = [
            View::new(
                Projection::Equirect {
                    top: band.max,
                    bottom: band.min,
                },
                Orientation::default(),
                1024,
                320,
            )
            .unwrap(),
            View::new(
                Projection::Perspective {
                    fov: 80f64.to_radians(),
                },
                Orientation {
                    yaw: (-130f64).to_radians(),
                    pitch: (-25f64).to_radians(),
                    roll: 10f64.to_radians(),
                },
                481,
                271,
            )
            .unwrap(),
        ];
        let options = DewarpOptions::default()
            .with_interpolation(Interpolation::Bilinear)
            .with_antialias(false);
        let mut gpu =
            GpuDewarper::with_device(&device, &queue, calibration.clone(), views[0], options)
                .unwrap();
        for view in views {
            gpu.set_view(view).unwrap();
            let positions = common::exact_positions(&calibration, &view);
            let mask = common::erode(
                &positions.iter().map(Option::is_some).collect::<Vec<_>>(),
                view.width,
                view.height,
                2,
            );
            for (frame_name, frame) in [("rendered", &rendered), ("analytic", &analytic)] {
                let mut out = vec![0u8; (view.width * view.height * 4) as usize];
                gpu.dewarp(
                    &Frame::from_rgba_image(frame).unwrap(),
                    &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out)
                        .unwrap(),
                )
                .unwrap();
                let reference: Vec<[f64; 3]> = positions
                    .iter()
                    .map(|p| {
                        p.map_or([0.0; 3], |(p, _)| {
                            common::bilinear_f64(frame, p).map(f64::round)
                        })
                    })
                    .collect();
                let (psnr, max, n) = common::compare(&out, &reference, &mask);
                let truth: Vec<[f64; 3]> = positions
                    .iter()
                    .map(|p| p.map_or([0.0; 3], |(_, d)| common::scene(d)))
                    .collect();
                let (scene_psnr, _, _) = common::compare(&out, &truth, &mask);
                eprintln!(
                    "{name} {} {}×{} ({frame_name}): {n} px, vs f64 reference {psnr:.1} dB \
                     (max {max}), vs scene {scene_psnr:.1} dB",
                    if matches!(view.projection, Projection::Equirect { .. }) {
                        "equirect"
                    } else {
                        "perspective"
                    },
                    view.width,
                    view.height
                );
                assert!(n > (view.width * view.height / 4) as usize);
                assert!(
                    psnr >= 50.0 && max <= 1.0,
                    "{name}: {psnr:.1} dB, max {max}"
                );
                if frame_name == "analytic" {
                    assert!(
                        scene_psnr >= 40.0,
                        "{name}: {scene_psnr:.1} dB vs the scene"
                    );
                }
            }
        }
    }
}
