//! What each fuzz target does with its input, in one place: the `cargo fuzz` targets
//! (`fuzz_targets/*.rs`) call these, and so does `tests/fuzz_corpus.rs` of the omnidewarp
//! package, which feeds every file of `fuzz/corpus/<target>/` to the same function on every
//! `cargo test`. Each function panics only on a bug: bad input must give an `Err`.

use std::path::Path;

use omnidewarp::model::{
    Calibration, CameraModel, MeiModel, Mount, Orientation, Projection, RingModel, View,
};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat};

/// Any text as a calibration (all three formats: the reader picks one by content; each
/// target's corpus keeps to its format). A calibration that loads must be valid, describe
/// itself, scale, and come back equal from our TOML.
pub fn calibration(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.calib");
    let Ok(cal) = Calibration::from_str_detect(text, path) else {
        return;
    };
    if let Err(e) = cal.validate() {
        panic!("loaded but invalid: {e}\n{cal:?}");
    }
    let _ = cal.describe();
    let toml = cal.to_toml_string();
    match Calibration::from_str_detect(&toml, path) {
        Ok(back) => assert_eq!(back, cal, "TOML round trip\n{toml}"),
        Err(e) => panic!("our own TOML does not load: {e}\n{toml}"),
    }
    let (w, h) = cal.image_size;
    for (sw, sh) in [(w / 2 + 1, h / 2 + 1), (w.saturating_mul(2), h), (1, 1)] {
        let _ = cal.scaled_to(sw, sh);
    }
}

/// Any text as a camera path, CSV and JSON; a path that loads is evaluated.
#[cfg(feature = "video")]
pub fn camera_path(data: &[u8]) {
    use omnidewarp::video::CameraPath;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let view = View::new(
        Projection::Perspective { fov: 1.5 },
        Orientation::default(),
        16,
        9,
    )
    .expect("a valid view");
    for path in [CameraPath::from_csv(text), CameraPath::from_json(text)]
        .into_iter()
        .flatten()
    {
        let keys = path.keyframes();
        let (first, last) = (keys[0].time, keys[keys.len() - 1].time);
        for t in [
            first - 1.0,
            first,
            (first + last) / 2.0,
            last,
            last + 1.0,
            f64::MAX,
        ] {
            let key = path.at(t);
            assert!(
                key.yaw.is_finite() && key.pitch.is_finite(),
                "{key:?} at {t}"
            );
            let _ = path.view_at(&view, t).validate();
        }
    }
}

/// Without omnidewarp's `video` feature there is no camera path to fuzz.
#[cfg(not(feature = "video"))]
pub fn camera_path(_data: &[u8]) {}

/// Any bytes as a JPEG still's second opinion (`video::jpeg_damage`: our walk of the coded
/// data, then FFmpeg's decoder): it answers, never panics.
#[cfg(feature = "video")]
pub fn jpeg_damage(data: &[u8]) {
    if let Some(why) = omnidewarp::video::jpeg_damage(data) {
        assert!(!why.is_empty(), "damage without a reason");
    }
}

/// Without omnidewarp's `video` feature there is no second opinion to fuzz.
#[cfg(not(feature = "video"))]
pub fn jpeg_damage(_data: &[u8]) {}

/// Bytes 0–1 choose the view, the rest is an image file: decoded with limits (at most
/// 256×256, 4 MiB), then dewarped on the CPU into a small view of each model.
// Options set field by field: they may become `#[non_exhaustive]` (issue 9).
#[allow(clippy::field_reassign_with_default)]
pub fn image_dewarp(data: &[u8]) {
    let [pick, size, image @ ..] = data else {
        return;
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(image));
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(256);
    limits.max_image_height = Some(256);
    limits.max_alloc = Some(4 << 20);
    reader.limits(limits);
    let Ok(reader) = reader.with_guessed_format() else {
        return;
    };
    let Ok(img) = reader.decode() else {
        return;
    };
    let (frame_data, format) = if pick & 0x80 == 0 {
        (img.to_rgba8().into_raw(), PixelFormat::Rgba8)
    } else {
        (img.to_luma8().into_raw(), PixelFormat::Gray8)
    };
    let (w, h) = (img.width(), img.height());
    let frame = Frame::packed(format, w, h, &frame_data).expect("a decoded image is a frame");

    let side = f64::from(w.min(h));
    let ring = RingModel::builder()
        .center([f64::from(w) / 2.0 - 0.5, f64::from(h) / 2.0 - 0.5])
        .radii(0.15 * side, 0.48 * side)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build();
    let mei = MeiModel {
        fx: 20.0,
        fy: 20.0,
        cx: 31.5,
        cy: 23.5,
        skew: 0.0,
        xi: 1.0,
        k1: -0.01,
        k2: 0.0,
        p1: 0.0,
        p2: 0.0,
    };
    let calibrations = [
        ring.and_then(|r| Calibration::new((w, h), CameraModel::Ring(r), None)),
        Calibration::new(
            (64, 48),
            CameraModel::Mei {
                lens: mei,
                mount: Mount::default(),
            },
            None,
        ),
    ];

    let fov = 1.6;
    let projection = match pick % 6 {
        0 => Projection::Equirect {
            top: 1.2,
            bottom: -1.0,
        },
        1 => Projection::Cylinder {
            top: 1.0,
            bottom: -0.9,
        },
        2 => Projection::Perspective { fov },
        3 => Projection::Stereographic { fov: 4.0 },
        4 => Projection::DoublePanorama {
            top: 1.0,
            bottom: -1.0,
        },
        _ => Projection::Quad { fov },
    };
    let orientation = Orientation {
        yaw: f64::from(*size) * 0.1,
        pitch: -0.3,
        roll: f64::from(pick / 6 % 4) * 0.5,
    };
    let (vw, vh) = (u32::from(size % 31) + 2, u32::from(size / 31 % 8) * 5 + 2);
    let Ok(view) = View::new(projection, orientation, vw, vh) else {
        return;
    };
    let mut options = DewarpOptions::default();
    options.interpolation = match (pick / 24) % 3 {
        0 => Interpolation::Nearest,
        1 => Interpolation::Bilinear,
        _ => Interpolation::Bicubic,
    };
    options.antialias = pick & 0x40 != 0;
    let mut out = vec![0u8; vw as usize * vh as usize * 4];
    for cal in calibrations.into_iter().flatten() {
        let Ok(mut dewarper) = CpuDewarper::new(cal, view, options) else {
            continue;
        };
        let mut dst =
            FrameMut::packed(PixelFormat::Rgba8, vw, vh, &mut out).expect("a packed output");
        let _ = dewarper.dewarp(&frame, &mut dst);
    }
}
