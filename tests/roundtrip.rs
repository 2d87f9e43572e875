//! Round trips through the CPU path: synthetic mirror frames rendered from a known scene,
//! dewarped back, compared with float64 references built from the same formulas.

mod common;

use common::{
    analytic_frame, bilinear_f64, compare, erode, exact_positions, mei_1280, ring_2880, scene,
    scene_panorama,
};
use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat};

fn render(calibration: &Calibration) -> image::RgbaImage {
    let pano = scene_panorama(2048, 1024);
    let (w, h) = calibration.image_size;
    let mut frame = image::RgbaImage::new(w, h);
    omnidewarp::render_mirror(
        &Frame::from_rgba_image(&pano).unwrap(),
        calibration,
        &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut frame).unwrap(),
        &DewarpOptions::default(),
    )
    .unwrap();
    frame
}

fn dewarp(calibration: &Calibration, view: View, frame: &image::RgbaImage) -> Vec<u8> {
    let options = DewarpOptions::default()
        .with_interpolation(Interpolation::Bilinear)
        .with_antialias(false);
    let mut dewarper = CpuDewarper::new(calibration.clone(), view, options).unwrap();
    let mut out = vec![0u8; (view.width * view.height * 4) as usize];
    dewarper
        .dewarp(
            &Frame::from_rgba_image(frame).unwrap(),
            &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out).unwrap(),
        )
        .unwrap();
    out
}

/// Dewarps `frame` and checks it against the f64 bilinear reference of the same frame,
/// and against the analytic scene; returns (PSNR vs reference, max error, PSNR vs scene).
fn check(
    calibration: &Calibration,
    view: View,
    frame: &image::RgbaImage,
    label: &str,
) -> (f64, f64) {
    let out = dewarp(calibration, view, frame);
    let positions = exact_positions(calibration, &view);
    let mask = erode(
        &positions.iter().map(Option::is_some).collect::<Vec<_>>(),
        view.width,
        view.height,
        2,
    );
    let reference: Vec<[f64; 3]> = positions
        .iter()
        .map(|p| p.map_or([0.0; 3], |(p, _)| bilinear_f64(frame, p).map(f64::round)))
        .collect();
    let (psnr, max, n) = compare(&out, &reference, &mask);
    let truth: Vec<[f64; 3]> = positions
        .iter()
        .map(|p| p.map_or([0.0; 3], |(_, d)| scene(d)))
        .collect();
    let (scene_psnr, _, _) = compare(&out, &truth, &mask);
    println!(
        "{label}: {n} px, vs f64 reference PSNR {psnr:.1} dB max {max}, vs scene {scene_psnr:.1} dB"
    );
    assert!(
        n > (view.width * view.height / 4) as usize,
        "{label}: too few valid pixels ({n})"
    );
    assert!(
        psnr >= 58.0 && max <= 1.0,
        "{label}: PSNR {psnr:.2} dB, max error {max}"
    );
    (psnr, scene_psnr)
}

fn band_view(calibration: &Calibration, width: u32, height: u32) -> View {
    let band = calibration.elevation_range();
    View::new(
        Projection::Equirect {
            top: band.max,
            bottom: band.min,
        },
        Orientation::default(),
        width,
        height,
    )
    .unwrap()
}

#[test]
fn ring_equirect_round_trip_2880_and_1440() {
    let full = ring_2880();
    for (calibration, size) in [
        (full.clone(), (2048, 680)),
        (full.scaled_to(1440, 1440).unwrap(), (1024, 340)),
    ] {
        let frame = render(&calibration);
        let label = format!("ring {}² equirect", calibration.image_size.0);
        check(
            &calibration,
            band_view(&calibration, size.0, size.1),
            &frame,
            &label,
        );
        // Geometry against the scene itself: a frame made analytically, no panorama resampling.
        let analytic = analytic_frame(&calibration);
        let (_, scene_psnr) = check(
            &calibration,
            band_view(&calibration, size.0, size.1),
            &analytic,
            &format!("{label} (analytic frame)"),
        );
        assert!(
            scene_psnr >= 40.0,
            "{label}: {scene_psnr:.1} dB against the scene"
        );
    }
}

#[test]
fn mei_equirect_round_trip() {
    let calibration = mei_1280();
    let frame = render(&calibration);
    check(
        &calibration,
        band_view(&calibration, 1024, 320),
        &frame,
        "mei equirect",
    );
    let analytic = analytic_frame(&calibration);
    let (_, scene_psnr) = check(
        &calibration,
        band_view(&calibration, 1024, 320),
        &analytic,
        "mei equirect (analytic frame)",
    );
    assert!(
        scene_psnr >= 40.0,
        "mei: {scene_psnr:.1} dB against the scene"
    );
}

#[test]
fn perspective_round_trips_at_several_orientations() {
    let ring = ring_2880().scaled_to(1440, 1440).unwrap();
    let mei = mei_1280();
    for (calibration, name) in [(ring, "ring"), (mei, "mei")] {
        let frame = analytic_frame(&calibration);
        for (yaw, pitch, roll) in [
            (0.0, 0.0, 0.0),
            (75.0, 20.0, 0.0),
            (-130.0, -25.0, 10.0),
            (180.0, 5.0, -30.0),
        ] {
            let view = View::new(
                Projection::Perspective {
                    fov: 80f64.to_radians(),
                },
                Orientation {
                    yaw: f64::to_radians(yaw),
                    pitch: f64::to_radians(pitch),
                    roll: f64::to_radians(roll),
                },
                481,
                271,
            )
            .unwrap();
            let (_, scene_psnr) = check(
                &calibration,
                view,
                &frame,
                &format!("{name} perspective yaw {yaw} pitch {pitch} roll {roll}"),
            );
            assert!(
                scene_psnr >= 40.0,
                "{name}: {scene_psnr:.1} dB against the scene"
            );
        }
    }
}
