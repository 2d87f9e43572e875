//! A directed "virtual PTZ" video from a mirror camera's video, frame by frame: the loop an
//! embedder (or a live viewer) runs. `VideoSource` decodes in a background thread (frames stay
//! YUV), a `Dewarper` on the best backend (a hardware GPU when there is one) pans the view
//! every frame, and `VideoWriter` encodes the result.
//!
//! `cargo run --features video --example video_ptz [INPUT [CALIB]]` from the repository root;
//! INPUT may be a file, a URL or a device. Without one it first makes a 2 s clip of the
//! shipped synthetic ring frame. `omnidewarp::video::convert` runs the same job in one call.

use std::f64::consts::FRAC_PI_2;
use std::path::{Path, PathBuf};

use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::video::{
    EncoderSettings, OutputTarget, SourceOptions, VideoInput, VideoSource, VideoWriter,
    WriterConfig,
};
use omnidewarp::{Backend, DewarpOptions, Dewarper, FrameBuf, PixelFormat, YuvColor};

const RING: &str = "assets/synthetic_ring/ring_1440.jpg";
const RING_CALIB: &str = "assets/synthetic_ring/ring_1440.toml";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir();
    let mut args = std::env::args().skip(1);
    let (input, calib) = match (args.next(), args.next()) {
        (Some(input), calib) => (input, calib.unwrap_or_else(|| RING_CALIB.to_owned())),
        (None, _) => {
            let clip = dir.join("omnidewarp_ring_clip.mp4");
            make_clip(&clip)?;
            (clip.to_string_lossy().into_owned(), RING_CALIB.to_owned())
        }
    };
    let calibration = Calibration::load(calib.as_ref())?;
    let view = View::new(
        Projection::Perspective {
            fov: 70f64.to_radians(),
        },
        Orientation {
            yaw: 0.0,
            pitch: -0.15,
            roll: 0.0,
        },
        WIDTH,
        HEIGHT,
    )?;
    let mut dewarper = Dewarper::new(
        calibration,
        view,
        DewarpOptions::default().with_backend(Backend::Auto),
    )?;

    let mut source = VideoSource::open(&VideoInput::new(&input), &SourceOptions::default())?;
    let info = source.info().clone();
    let output: PathBuf = dir.join("omnidewarp_ptz.mp4");
    let mut out = FrameBuf::new(PixelFormat::I420, WIDTH, HEIGHT)?;
    let mut writer: Option<VideoWriter> = None;
    let mut first_pts = None;
    while let Some(decoded) = source.next_frame()? {
        let t = decoded.pts() - *first_pts.get_or_insert(decoded.pts());
        // Pan 90° a second: a uniform update on the GPU, a grid rebuild on the CPU.
        let mut turned = view;
        turned.orientation.yaw = t * FRAC_PI_2;
        dewarper.set_view(turned)?;
        dewarper.dewarp(&decoded.frame(), &mut out.frame_mut())?;
        out.set_color(decoded.color());
        let writer = match &mut writer {
            Some(w) => w,
            None => writer.insert(VideoWriter::create(
                &OutputTarget::File(output.clone()),
                &EncoderSettings::default().with_preset(Some("veryfast".into())),
                &WriterConfig {
                    width: WIDTH,
                    height: HEIGHT,
                    frame_rate: info.frame_rate.unwrap_or((25, 1)),
                    time_base: info.time_base,
                    color: decoded.color(),
                    spherical: None,
                },
            )?),
        };
        writer.write(&out.frame(), t)?;
    }
    let written = writer.ok_or("the input has no video frame")?.finish()?;

    // Check the result as a user would: it decodes, frame for frame.
    let mut check = VideoSource::open(
        &VideoInput::new(output.to_string_lossy()),
        &SourceOptions::default(),
    )?;
    let mut decoded = 0u64;
    while check.next_frame()?.is_some() {
        decoded += 1;
    }
    if decoded != written {
        return Err(format!("wrote {written} frames but {decoded} decode").into());
    }
    println!(
        "{} ({}×{} {}) → {} ({WIDTH}×{HEIGHT}, {written} frames), dewarped on the {}",
        source.info().codec,
        info.width,
        info.height,
        info.container,
        output.display(),
        dewarper.description()
    );
    Ok(())
}

/// A 2 s, 25 fps H.264 clip of the shipped ring frame (BT.601 limited range).
fn make_clip(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let rgb = image::open(RING)?.to_rgb8();
    let (w, h) = rgb.dimensions();
    let color = YuvColor::default();
    let mut frame = FrameBuf::new(PixelFormat::I420, w, h)?;
    {
        let mut planes = frame.frame_mut();
        let [luma, u, v] = planes.planes_mut() else {
            return Err("I420 has three planes".into());
        };
        for (x, y, pixel) in rgb.enumerate_pixels() {
            let [yy, uu, vv] = color.from_rgb(pixel.0);
            luma.row_mut(y as usize)[x as usize] = yy;
            if x % 2 == 0 && y % 2 == 0 {
                let (row, col) = ((y / 2) as usize, (x / 2) as usize);
                u.row_mut(row)[col] = uu;
                v.row_mut(row)[col] = vv;
            }
        }
    }
    let mut writer = VideoWriter::create(
        &OutputTarget::File(path.to_owned()),
        &EncoderSettings::default().with_preset(Some("ultrafast".into())),
        &WriterConfig {
            width: w,
            height: h,
            frame_rate: (25, 1),
            time_base: (1, 25),
            color,
            spherical: None,
        },
    )?;
    let still = frame.frame();
    for k in 0..50 {
        writer.write(&still, f64::from(k) / 25.0)?;
    }
    writer.finish()?;
    Ok(())
}
