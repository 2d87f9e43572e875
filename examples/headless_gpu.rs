//! File in, file out on the GPU, no window: a mirror frame and its calibration become a band
//! panorama and a virtual PTZ view.
//!
//! ```text
//! cargo run --example headless_gpu -- [FRAME] [CALIBRATION] [OUTPUT_DIR]
//! ```
//!
//! Defaults: the OpenCV sample frame and its calibration from `assets/opencv_sample/`, output
//! in `target/headless_gpu/`. Any calibration format `Calibration::load` reads works (ours,
//! OpenCV omnidir YAML/XML, OCamCalib); it is scaled to the frame's size.

use std::path::PathBuf;
use std::time::Instant;

use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{DewarpOptions, Frame, FrameMut, GpuDewarper, PixelFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let frame_path = args
        .next()
        .unwrap_or_else(|| "assets/opencv_sample/sample.jpg".into());
    let calibration_path = args
        .next()
        .unwrap_or_else(|| "assets/opencv_sample/sample_mei_calib.toml".into());
    let out_dir = args.next().unwrap_or_else(|| "target/headless_gpu".into());

    let calibration = Calibration::load(&calibration_path)?;
    let image = image::open(&frame_path)?.to_rgba8();
    let frame = Frame::from_rgba_image(&image)?;
    let band = calibration.elevation_range();
    let panorama = View::new(
        Projection::Equirect {
            top: band.max,
            bottom: band.min,
        },
        Orientation::default(),
        1440,
        (1440.0 * (band.max - band.min) / std::f64::consts::TAU).round() as u32,
    )?;

    let mut gpu = GpuDewarper::new(calibration, panorama, DewarpOptions::default())?;
    if let Some(info) = gpu.adapter_info() {
        println!(
            "adapter: {} ({:?}, {:?})",
            info.name, info.backend, info.device_type
        );
    }
    std::fs::create_dir_all(&out_dir)?;

    let ptz = View::new(
        Projection::Perspective {
            fov: 90f64.to_radians(),
        },
        Orientation {
            yaw: 30f64.to_radians(),
            pitch: (-20f64).to_radians(),
            roll: 0.0,
        },
        800,
        600,
    )?;
    for (name, view) in [("panorama", panorama), ("ptz", ptz)] {
        gpu.set_view(view)?; // a uniform update
        let start = Instant::now();
        let mut out = image::RgbaImage::new(view.width, view.height);
        gpu.dewarp(
            &frame,
            &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out)?,
        )?;
        let elapsed = start.elapsed();
        let path = out_dir.join(format!("{name}.png"));
        out.save(&path)?;
        println!(
            "{} → {} ({}×{}, {:.1} ms upload + draw + readback)",
            frame_path.display(),
            path.display(),
            view.width,
            view.height,
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
