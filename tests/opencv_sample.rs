//! The real OpenCV omnidir sample frame (640×480) with its mei calibration fitted at
//! 1280×960: the calibration is scaled to the frame and unwraps to an upright panorama.
//!
//! "Upright" is checked against OpenCV's own cylindrical rectification of the same frame
//! (`tests/fixtures/opencv_sample_rec_cyl.jpg`, from the omnidir tutorial): our panorama must
//! correlate with it, and better than with its vertical or horizontal mirror image.

use std::path::Path;

use image::imageops::FilterType;
use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat};

const W: u32 = 256;
const H: u32 = 64;

fn grey(img: &image::DynamicImage) -> Vec<f64> {
    let small = img.resize_exact(W, H, FilterType::Triangle).to_luma8();
    let v: Vec<f64> = small.pixels().map(|p| f64::from(p[0])).collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let norm = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>().sqrt();
    v.iter().map(|x| (x - mean) / norm).collect()
}

/// Best normalised correlation over all horizontal (circular) shifts.
fn best_correlation(a: &[f64], b: &[f64]) -> f64 {
    (0..W as usize)
        .map(|shift| {
            (0..H as usize)
                .flat_map(|y| (0..W as usize).map(move |x| (x, y)))
                .map(|(x, y)| a[y * W as usize + x] * b[y * W as usize + (x + shift) % W as usize])
                .sum::<f64>()
        })
        .fold(f64::MIN, f64::max)
}

#[test]
fn sample_unwraps_upright() {
    let calibration = Calibration::load(Path::new("assets/opencv_sample/sample_mei_calib.yml")).unwrap();
    assert_eq!(calibration.image_size, (1280, 960));
    let frame_img = image::open("assets/opencv_sample/sample.jpg").unwrap().to_rgb8();
    assert_eq!(frame_img.dimensions(), (640, 480));
    let band = Calibration::load(Path::new("assets/opencv_sample/sample_mei_calib.toml"))
        .unwrap()
        .elevation_range();
    let view = View::new(
        Projection::Cylinder { top: band.max, bottom: band.min },
        Orientation::default(),
        1280,
        400,
    )
    .unwrap();
    let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default());
    let mut out = vec![0u8; 1280 * 400 * 3];
    dewarper
        .dewarp(
            &Frame::from_rgb_image(&frame_img).unwrap(),
            &mut FrameMut::packed(PixelFormat::Rgb8, 1280, 400, &mut out).unwrap(),
        )
        .unwrap();
    let ours = image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(1280, 400, out).unwrap());
    let theirs = image::open("tests/fixtures/opencv_sample_rec_cyl.jpg").unwrap();
    let (a, b) = (grey(&ours), grey(&theirs));
    let upright = best_correlation(&a, &b);
    let flipped = best_correlation(&grey(&ours.flipv()), &b);
    let mirrored = best_correlation(&grey(&ours.fliph()), &b);
    println!("correlation with OpenCV's rectification: upright {upright:.3}, flipped {flipped:.3}, mirrored {mirrored:.3}");
    assert!(upright > 0.5, "upright correlation {upright:.3}");
    assert!(upright > flipped + 0.2 && upright > mirrored + 0.2);
}
