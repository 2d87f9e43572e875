//! Helpers shared by the integration tests: procedural scenes, f64 references, metrics.
#![allow(dead_code)]

use glam::{DVec2, DVec3};
use omnidewarp::model::{Calibration, View, heading_elevation};

/// A smooth, textured scene: RGB in 0..255 as a function of direction.
pub fn scene(d: DVec3) -> [f64; 3] {
    let (h, e) = heading_elevation(d);
    [
        128.0 + 90.0 * (3.0 * h).sin() * (2.0 * e).cos(),
        128.0 + 80.0 * (5.0 * e + h).sin(),
        128.0 + 70.0 * (2.0 * h - 4.0 * e).cos() * (h).cos(),
    ]
}

/// The scene as a full-sphere equirectangular RGBA image.
pub fn scene_panorama(width: u32, height: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(width, height, |i, j| {
        let h =
            -std::f64::consts::PI + std::f64::consts::TAU * (f64::from(i) + 0.5) / f64::from(width);
        let e = std::f64::consts::FRAC_PI_2
            - std::f64::consts::PI * (f64::from(j) + 0.5) / f64::from(height);
        let [r, g, b] = scene(omnidewarp::model::direction(h, e));
        image::Rgba([r.round() as u8, g.round() as u8, b.round() as u8, 255])
    })
}

/// A frame of `calibration` at its size, every pixel the scene seen there (black outside).
pub fn analytic_frame(calibration: &Calibration) -> image::RgbaImage {
    let band = calibration.elevation_range();
    let (w, h) = calibration.image_size;
    image::RgbaImage::from_fn(w, h, |i, j| {
        match calibration
            .model
            .unproject(DVec2::new(f64::from(i), f64::from(j)))
        {
            Some(d) if band.contains(d.z.asin()) => {
                let [r, g, b] = scene(d);
                image::Rgba([r.round() as u8, g.round() as u8, b.round() as u8, 255])
            }
            _ => image::Rgba([0, 0, 0, 255]),
        }
    })
}

/// Exact f64 source position of every output pixel (`None` outside the content).
pub fn exact_positions(calibration: &Calibration, view: &View) -> Vec<Option<(DVec2, DVec3)>> {
    let band = calibration.elevation_range();
    let (fw, fh) = (
        f64::from(calibration.image_size.0),
        f64::from(calibration.image_size.1),
    );
    let mut out = vec![None; (view.width * view.height) as usize];
    for tile in view.tiles() {
        for y in 0..tile.height {
            for x in 0..tile.width {
                let k = ((tile.y0 + y) * view.width + tile.x0 + x) as usize;
                out[k] = tile.ray(f64::from(x), f64::from(y)).and_then(|d| {
                    if !band.contains(d.z.asin()) {
                        return None;
                    }
                    let p = calibration.model.project(d)?;
                    (p.x >= -0.5 && p.y >= -0.5 && p.x <= fw - 0.5 && p.y <= fh - 0.5)
                        .then_some((p, d))
                });
            }
        }
    }
    out
}

/// f64 bilinear (clamp to edge) of an RGBA image.
pub fn bilinear_f64(img: &image::RgbaImage, p: DVec2) -> [f64; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (p.x.floor(), p.y.floor());
    let (tx, ty) = (p.x - x0, p.y - y0);
    let px = |x: i64, y: i64| {
        img.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)
            .0
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    std::array::from_fn(|k| {
        let top = f64::from(a[k]) * (1.0 - tx) + f64::from(b[k]) * tx;
        let bottom = f64::from(c[k]) * (1.0 - tx) + f64::from(d[k]) * tx;
        top * (1.0 - ty) + bottom * ty
    })
}

/// `mask` eroded by `radius` pixels (a pixel stays only if its whole square neighbourhood is in).
pub fn erode(mask: &[bool], width: u32, height: u32, radius: i64) -> Vec<bool> {
    let (w, h) = (i64::from(width), i64::from(height));
    (0..w * h)
        .map(|k| {
            let (x, y) = (k % w, k / w);
            (-radius..=radius).all(|dy| {
                (-radius..=radius).all(|dx| {
                    let (u, v) = (x + dx, y + dy);
                    u >= 0 && v >= 0 && u < w && v < h && mask[(v * w + u) as usize]
                })
            })
        })
        .collect()
}

/// PSNR (dB) and max absolute error over the RGB channels of the masked pixels.
pub fn compare(actual: &[u8], expected: &[[f64; 3]], mask: &[bool]) -> (f64, f64, usize) {
    let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
    for (k, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        for c in 0..3 {
            let e = f64::from(actual[k * 4 + c]) - expected[k][c];
            sum += e * e;
            max = max.max(e.abs());
        }
        n += 1;
    }
    let mse = sum / (3 * n.max(1)) as f64;
    (10.0 * (255.0 * 255.0 / mse.max(1e-12)).log10(), max, n)
}

/// The mirror frame (RGBA8, at the calibration's size) that `calibration` sees of `pano`.
pub fn mirror_frame(pano: &image::RgbaImage, calibration: &Calibration) -> image::RgbaImage {
    use omnidewarp::{DewarpOptions, Frame, FrameMut, PixelFormat};
    let (w, h) = calibration.image_size;
    let mut frame = image::RgbaImage::new(w, h);
    omnidewarp::render_mirror(
        &Frame::from_rgba_image(pano).unwrap(),
        calibration,
        &mut FrameMut::packed(PixelFormat::Rgba8, w, h, &mut frame).unwrap(),
        &DewarpOptions::default(),
    )
    .unwrap();
    frame
}

/// A sharp test panorama: a checkerboard of 10° cells over a smooth gradient, with fine
/// stripes near the horizon (high frequencies are where samplers differ).
pub fn textured_panorama(width: u32, height: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(width, height, |i, j| {
        let u = f64::from(i) / f64::from(width) * 36.0;
        let v = f64::from(j) / f64::from(height) * 18.0;
        let check = ((u.floor() + v.floor()) as i64 % 2) as f64;
        let stripes = if (8.0..10.0).contains(&v) {
            60.0 * (u * 25.0).sin()
        } else {
            0.0
        };
        let base = 40.0 + 150.0 * check + stripes;
        image::Rgba([
            base.clamp(0.0, 255.0) as u8,
            (f64::from(i) * 255.0 / f64::from(width)) as u8,
            (255.0 - base).clamp(0.0, 255.0) as u8,
            255,
        ])
    })
}

/// Test calibrations of every model, at odd frame sizes.
pub fn test_calibrations() -> Vec<(&'static str, omnidewarp::model::Calibration)> {
    use omnidewarp::model::{
        CameraModel, ElevationBand, MeiModel, Mount, RadialProfile, RingModel,
    };
    let deg = f64::to_radians;
    let ring = RingModel::builder()
        .center(DVec2::new(203.0, 178.5))
        .radii(52.0, 171.0)
        .elevations(deg(-55.0), deg(60.0))
        .heading_at_top(0.4)
        .build()
        .unwrap();
    let mut curved = ring.clone();
    curved.profile = RadialProfile::new(vec![
        (52.0, deg(-55.0)),
        (90.0, deg(-20.0)),
        (130.0, deg(15.0)),
        (171.0, deg(60.0)),
    ])
    .unwrap();
    let mei = MeiModel {
        fx: 204.5,
        fy: 205.2,
        cx: 200.3,
        cy: 181.9,
        skew: -0.3,
        xi: 1.05,
        k1: -0.008,
        k2: 0.012,
        p1: 0.02,
        p2: -0.004,
    };
    let ocam = omnidewarp::model::Calibration::load(std::path::Path::new(
        "tests/fixtures/ocam_calib_results.txt",
    ))
    .unwrap();
    vec![
        (
            "ring",
            Calibration::new((401, 361), CameraModel::Ring(ring), None).unwrap(),
        ),
        (
            "ring-profile",
            Calibration::new((401, 361), CameraModel::Ring(curved), None).unwrap(),
        ),
        (
            "mei",
            Calibration::new(
                (401, 363),
                CameraModel::Mei {
                    lens: mei,
                    mount: Mount {
                        heading_at_top: 0.3,
                        ..Mount::default()
                    },
                },
                Some(ElevationBand::new(deg(-70.0), deg(15.0)).unwrap()),
            )
            .unwrap(),
        ),
        (
            "ocam",
            ocam.scaled_to((ocam.image_size.0 / 3) | 1, (ocam.image_size.1 / 3) | 1)
                .unwrap(),
        ),
    ]
}

/// One view of every projection, odd sizes.
pub fn test_views() -> Vec<(&'static str, View)> {
    use omnidewarp::model::{Orientation, Projection};
    let deg = f64::to_radians;
    let o = Orientation {
        yaw: deg(25.0),
        pitch: deg(-10.0),
        roll: deg(5.0),
    };
    [
        (
            "equirect",
            Projection::Equirect {
                top: deg(90.0),
                bottom: deg(-90.0),
            },
            (301, 151),
        ),
        (
            "cylinder",
            Projection::Cylinder {
                top: deg(50.0),
                bottom: deg(-60.0),
            },
            (301, 121),
        ),
        (
            "perspective",
            Projection::Perspective { fov: deg(100.0) },
            (211, 119),
        ),
        (
            "stereographic",
            Projection::Stereographic { fov: deg(240.0) },
            (151, 151),
        ),
        (
            "double-panorama",
            Projection::DoublePanorama {
                top: deg(60.0),
                bottom: deg(-60.0),
            },
            (251, 131),
        ),
        ("quad", Projection::Quad { fov: deg(90.0) }, (241, 137)),
    ]
    .into_iter()
    .map(|(name, projection, (w, h))| {
        let orientation = if name == "stereographic" {
            Orientation {
                pitch: deg(-90.0),
                ..o
            }
        } else {
            o
        };
        (name, View::new(projection, orientation, w, h).unwrap())
    })
    .collect()
}

/// Max |Δ| over all channels and the fraction of pixels whose every channel is within 1.
pub fn agreement(a: &[u8], b: &[u8], channels: usize) -> (u8, f64) {
    let mut max = 0u8;
    let mut within = 0usize;
    for (pa, pb) in a.chunks_exact(channels).zip(b.chunks_exact(channels)) {
        let d = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max = max.max(d);
        within += usize::from(d <= 1);
    }
    (max, within as f64 / (a.len() / channels) as f64)
}

/// PSNR (dB) between two byte buffers.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// Output pixels whose exact source position lies within `margin` pixels of a nearest-pixel
/// rounding boundary (`x + 0.5` or `y + 0.5` near an integer): there, any two correct
/// implementations may pick different pixels, so nearest sampling is compared elsewhere.
pub fn nearest_ambiguous(calibration: &Calibration, view: &View, margin: f32) -> Vec<bool> {
    let frame = calibration.image_size;
    omnidewarp::source_positions(calibration, view, frame)
        .unwrap()
        .iter()
        .map(|p| {
            p.iter().all(|v| !v.is_nan())
                && p.iter().any(|v| {
                    let f = (v + 0.5).fract();
                    f < margin || f > 1.0 - margin
                })
        })
        .collect()
}

/// Like [`agreement`], skipping pixels where `skip` is set; also returns how many were skipped.
pub fn agreement_except(a: &[u8], b: &[u8], channels: usize, skip: &[bool]) -> (u8, f64) {
    let mut max = 0u8;
    let mut within = 0usize;
    for ((pa, pb), s) in a
        .chunks_exact(channels)
        .zip(b.chunks_exact(channels))
        .zip(skip)
    {
        let d = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        if !s {
            max = max.max(d);
        }
        within += usize::from(d <= 1);
    }
    (max, within as f64 / (a.len() / channels) as f64)
}

/// DESIGN.md's ring: an equiangular mirror imaged at 2880², −55°..+60°.
pub fn ring_2880() -> Calibration {
    use omnidewarp::model::{CameraModel, RingModel};
    let ring = RingModel::builder()
        .center(DVec2::new(1439.5, 1439.5))
        .radii(492.5, 1411.2)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build()
        .unwrap();
    Calibration::new((2880, 2880), CameraModel::Ring(ring), None).unwrap()
}

/// A mei camera like the OpenCV sample's (fitted at 1280×960), limited to a mirror band.
pub fn mei_1280() -> Calibration {
    use omnidewarp::model::{CameraModel, ElevationBand, MeiModel, Mount};
    let lens = MeiModel {
        fx: 697.2,
        fy: 697.9,
        cx: 636.1,
        cy: 481.6,
        skew: 0.3,
        xi: 1.05,
        k1: -0.21,
        k2: 0.05,
        p1: 0.001,
        p2: -0.0008,
    };
    let band = ElevationBand::new(-0.9, 0.35).unwrap();
    Calibration::new(
        (1280, 960),
        CameraModel::Mei {
            lens,
            mount: Mount::default(),
        },
        Some(band),
    )
    .unwrap()
}
