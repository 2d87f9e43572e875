//! The README's quick start: a virtual PTZ view of the shipped sample frame.
//!
//! `cargo run --example still [OUTPUT.png]` (run from the repository root).

use omnidewarp::model::{Calibration, ProjectionKind, ViewRequest};
use omnidewarp::{DewarpOptions, Dewarper, Frame, FrameBuf, PixelFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("omnidewarp_still.png"),
        Into::into,
    );
    let calibration = Calibration::load("assets/opencv_sample/sample_mei_calib.toml".as_ref())?;
    // A 1280×720 virtual PTZ view; whatever is not given takes the projection's default.
    let view = ViewRequest::new(ProjectionKind::Perspective)
        .with_size(1280, 720)
        .with_fov(80f64.to_radians())
        .with_yaw(1.0)
        .with_pitch(-0.2)
        .build(&calibration)?;
    // Backend::Auto: the CPU or a hardware GPU, chosen once, here; one frame is short work.
    let options = DewarpOptions::default().with_expected_frames(1);
    let mut dewarper = Dewarper::new(calibration, view, options)?;
    let image = image::open("assets/opencv_sample/sample.jpg")?.to_rgba8();
    let mut out = FrameBuf::new(PixelFormat::Rgba8, view.width, view.height)?;
    dewarper.dewarp(&Frame::from_rgba_image(&image)?, &mut out.frame_mut())?;
    omnidewarp::output::save_image(&out.frame(), &output)?;
    println!(
        "wrote {} on the {}",
        output.display(),
        dewarper.description()
    );
    Ok(())
}
