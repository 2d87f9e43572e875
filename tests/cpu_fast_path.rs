//! The CPU fast path (grid-interpolated mapping, rows in parallel) against the exact
//! per-pixel oracle: every model × projection × interpolation, anti-aliasing off and on.
//! Bound (DESIGN.md): max |Δ| ≤ 2 and ≥ 99.9 % of pixels within 1, over every pixel: the fast
//! path maps exactly wherever the grid's small error could change the outcome (validity at
//! the content's edge, the pixel nearest sampling picks).

mod common;

use common::{agreement, test_calibrations, test_views, textured_panorama};
use omnidewarp::{
    CpuDewarper, DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat, dewarp_reference,
};

#[test]
fn fast_path_matches_the_oracle() {
    let pano = textured_panorama(1024, 512);
    let mut worst = (0u8, 1.0f64);
    for (model, calibration) in test_calibrations() {
        let (w, h) = calibration.image_size;
        let mut frame = vec![0u8; (w * h * 4) as usize];
        omnidewarp::render_mirror(
            &Frame::from_rgba_image(&pano).unwrap(),
            &calibration,
            &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut frame).unwrap(),
            &DewarpOptions::default(),
        )
        .unwrap();
        let src = Frame::packed(PixelFormat::Rgba8, w, h, &frame).unwrap();
        for (projection, view) in test_views() {
            for interpolation in [
                Interpolation::Nearest,
                Interpolation::Bilinear,
                Interpolation::Bicubic,
            ] {
                for antialias in [false, true] {
                    let options = DewarpOptions::default()
                        .with_interpolation(interpolation)
                        .with_antialias(antialias)
                        .with_fill([10, 20, 30, 0]);
                    let n = (view.width * view.height * 4) as usize;
                    let (mut fast, mut exact) = (vec![0u8; n], vec![0u8; n]);
                    let mut dewarper =
                        CpuDewarper::new(calibration.clone(), view, options).unwrap();
                    dewarper
                        .dewarp(
                            &src,
                            &mut FrameMut::packed(
                                PixelFormat::Rgba8,
                                view.width,
                                view.height,
                                &mut fast,
                            )
                            .unwrap(),
                        )
                        .unwrap();
                    dewarp_reference(
                        &calibration,
                        &view,
                        &options,
                        &src,
                        &mut FrameMut::packed(
                            PixelFormat::Rgba8,
                            view.width,
                            view.height,
                            &mut exact,
                        )
                        .unwrap(),
                    )
                    .unwrap();
                    let (max, within) = agreement(&fast, &exact, 4);
                    let label = format!("{model} {projection} {interpolation:?} aa={antialias}");
                    assert!(
                        max <= 2 && within >= 0.999,
                        "{label}: max |Δ| {max}, {:.3} % within 1 (grid error {:?} px)",
                        within * 100.0,
                        dewarper.grid_error()
                    );
                    if (max, -within) > (worst.0, -worst.1) {
                        worst = (max, within);
                    }
                }
            }
        }
    }
    println!(
        "worst case: max |Δ| {}, {:.4} % within 1",
        worst.0,
        worst.1 * 100.0
    );
}

/// Outputs one pixel wide or tall (1×1, 1×N, N×1; 2×N and N×2 for the quad, whose tiles
/// split the output) of every projection: the fast path runs (no panic) and matches the
/// oracle as closely as full-size views do.
#[test]
fn one_pixel_strips_match_the_oracle() {
    let pano = textured_panorama(512, 256);
    for (model, calibration) in test_calibrations() {
        let (w, h) = calibration.image_size;
        let mut frame = vec![0u8; (w * h * 4) as usize];
        omnidewarp::render_mirror(
            &Frame::from_rgba_image(&pano).unwrap(),
            &calibration,
            &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut frame).unwrap(),
            &DewarpOptions::default(),
        )
        .unwrap();
        let src = Frame::packed(PixelFormat::Rgba8, w, h, &frame).unwrap();
        for (projection, base) in test_views() {
            let min = match projection {
                "quad" => 2,
                _ => 1,
            };
            let min_h = if projection == "double-panorama" {
                2
            } else {
                min
            };
            for (vw, vh) in [(min, min_h), (min, 37), (41, min_h)] {
                let view = omnidewarp::model::View {
                    width: vw,
                    height: vh,
                    ..base
                };
                for interpolation in [
                    Interpolation::Nearest,
                    Interpolation::Bilinear,
                    Interpolation::Bicubic,
                ] {
                    for antialias in [false, true] {
                        let options = DewarpOptions::default()
                            .with_interpolation(interpolation)
                            .with_antialias(antialias);
                        let n = (vw * vh * 4) as usize;
                        let (mut fast, mut exact) = (vec![0u8; n], vec![0u8; n]);
                        CpuDewarper::new(calibration.clone(), view, options)
                            .unwrap()
                            .dewarp(
                                &src,
                                &mut FrameMut::packed(PixelFormat::Rgba8, vw, vh, &mut fast)
                                    .unwrap(),
                            )
                            .unwrap();
                        dewarp_reference(
                            &calibration,
                            &view,
                            &options,
                            &src,
                            &mut FrameMut::packed(PixelFormat::Rgba8, vw, vh, &mut exact).unwrap(),
                        )
                        .unwrap();
                        let (max, within) = agreement(&fast, &exact, 4);
                        assert!(
                            max <= 2 && within >= 0.97,
                            "{model} {projection} {vw}×{vh} {interpolation:?} aa={antialias}: \
                             max |Δ| {max}, {:.1} % within 1",
                            within * 100.0
                        );
                    }
                }
            }
        }
    }
}
