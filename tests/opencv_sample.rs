//! The real OpenCV omnidir sample frame (640×480) with its mei calibration fitted at
//! 1280×960: the calibration is scaled to the frame and unwraps to an upright panorama.
//!
//! "Upright" is read off the picture itself: the camera's own reflection, a dark disc at the
//! middle of the donut, must land at the bottom (the nadir) of a full-sphere panorama, and
//! the room (walls, floor, windows) around the horizon. A flipped or mis-scaled calibration
//! puts the dark disc elsewhere or maps off the frame.

use std::path::Path;

use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat};

fn luma_rows(calibration: Calibration, frame: &image::GrayImage, (w, h): (u32, u32)) -> Vec<f64> {
    let view = View::new(
        Projection::Equirect {
            top: 90f64.to_radians(),
            bottom: (-90f64).to_radians(),
        },
        Orientation::default(),
        w,
        h,
    )
    .unwrap();
    let options = DewarpOptions::default().with_fill([0, 0, 0, 255]);
    let mut dewarper = CpuDewarper::new(calibration, view, options).unwrap();
    let mut out = vec![0u8; (w * h) as usize];
    dewarper
        .dewarp(
            &Frame::from_gray_image(frame).unwrap(),
            &mut FrameMut::packed(PixelFormat::Gray8, w, h, &mut out).unwrap(),
        )
        .unwrap();
    out.chunks_exact(w as usize)
        .map(|row| row.iter().map(|&v| f64::from(v)).sum::<f64>() / f64::from(w))
        .collect()
}

/// Mean of the rows whose elevation (degrees) lies in `range`, for a 180-row panorama.
fn mean_over(rows: &[f64], range: std::ops::Range<f64>) -> f64 {
    let picked: Vec<f64> = rows
        .iter()
        .enumerate()
        .filter(|(j, _)| range.contains(&(89.5 - *j as f64)))
        .map(|(_, v)| *v)
        .collect();
    picked.iter().sum::<f64>() / picked.len() as f64
}

#[test]
fn sample_unwraps_upright_at_its_own_size() {
    let calibration =
        Calibration::load(Path::new("assets/opencv_sample/sample_mei_calib.yml")).unwrap();
    assert_eq!(calibration.image_size, (1280, 960));
    let frame = image::open("assets/opencv_sample/sample.jpg")
        .unwrap()
        .to_luma8();
    assert_eq!(frame.dimensions(), (640, 480));
    let rows = luma_rows(calibration, &frame, (720, 180));
    let nadir = mean_over(&rows, -90.0..-78.0);
    let room = mean_over(&rows, -45.0..10.0);
    println!("mean luma: nadir (camera reflection) {nadir:.1}, around the horizon {room:.1}");
    assert!(
        room > 20.0,
        "the room around the horizon is dark ({room:.1}): mapped off the mirror?"
    );
    assert!(
        nadir < 0.5 * room,
        "the camera's reflection is not at the nadir ({nadir:.1} vs {room:.1})"
    );
    // High elevations project outside the frame: only the fill (black) is left there.
    assert!(mean_over(&rows, 50.0..90.0) < 1.0);
}
