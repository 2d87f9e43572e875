//! The README's quick start: a virtual PTZ view of the shipped sample frame on the CPU.
//!
//! `cargo run --example still [OUTPUT.png]` (run from the repository root).

use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("omnidewarp_still.png"),
        Into::into,
    );
    let calibration = Calibration::load("assets/opencv_sample/sample_mei_calib.toml".as_ref())?;
    let view = View::new(
        Projection::Perspective {
            fov: 80f64.to_radians(),
        },
        Orientation {
            yaw: 1.0,
            pitch: -0.2,
            roll: 0.0,
        },
        1280,
        720,
    )?;
    let frame = image::open("assets/opencv_sample/sample.jpg")?.to_rgba8();
    let mut out = vec![0u8; 1280 * 720 * 4];
    let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default())?;
    dewarper.dewarp(
        &Frame::from_rgba_image(&frame)?,
        &mut FrameMut::packed(PixelFormat::Rgba8, 1280, 720, &mut out)?,
    )?;
    image::RgbaImage::from_raw(1280, 720, out)
        .ok_or("output buffer size")?
        .save(&output)?;
    println!("wrote {}", output.display());
    Ok(())
}
