//! Mirror-ring auto-detection: synthetic frames with known rings (rendered from a procedural
//! panorama with `render_mirror`), the real OpenCV omnidir sample, and frames without a ring.

use std::f64::consts::PI;
use std::io::Cursor;

use glam::DVec2;
use image::{ImageFormat, RgbImage};
use omnidewarp::detect::{DetectOptions, DetectedRing, RingDetector, detect_ring};
use omnidewarp::model::{
    Calibration, CameraModel, MeiModel, Mount, Orientation, Projection, RingModel, View,
};
use omnidewarp::{
    CpuDewarper, DewarpOptions, Error, Frame, FrameMut, PixelFormat, Plane, YuvColor, render_mirror,
};

/// A small deterministic generator (64-bit LCG, high bits out).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }

    /// Roughly normal, unit variance (sum of four uniforms).
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// Scene brightness of the procedural panorama.
#[derive(Clone, Copy, PartialEq)]
enum Scene {
    /// Sky brighter than the ground, mid-tones.
    Normal,
    /// Everything below ~60.
    Dark,
    /// A nearly white sky, bright ground.
    Bright,
}

/// A full-sphere equirectangular RGB panorama: sky over ground with a horizon at 0°,
/// random blobs, vertical "buildings" and fine stripes.
fn panorama(seed: u64, scene: Scene) -> RgbImage {
    let (w, h) = (512u32, 256u32);
    let mut rng = Lcg(seed);
    let mut img = RgbImage::new(w, h);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let e = 90.0 - 180.0 * (f64::from(y) + 0.5) / f64::from(h);
        let hd = f64::from(x) / f64::from(w) * 360.0;
        let base = if e > 0.0 {
            [150.0 + e, 170.0 + e, 210.0]
        } else {
            [90.0 + e * 0.5, 110.0 + e * 0.6, 70.0]
        };
        let t = 12.0 * ((hd * 0.35).to_radians() * 7.0).sin() + 8.0 * (e * 0.4).sin();
        *p = image::Rgb(base.map(|c| (c + t).clamp(0.0, 255.0) as u8));
    }
    // Blobs.
    for _ in 0..60 {
        let (cx, cy) = (rng.range(0.0, f64::from(w)), rng.range(0.0, f64::from(h)));
        let (rx, ry) = (rng.range(4.0, 30.0), rng.range(3.0, 20.0));
        let col = [
            rng.range(0.0, 255.0),
            rng.range(0.0, 255.0),
            rng.range(0.0, 255.0),
        ];
        for y in (cy - ry).max(0.0) as u32..((cy + ry) as u32).min(h) {
            for xx in (cx - rx) as i64..(cx + rx) as i64 {
                let x = xx.rem_euclid(i64::from(w)) as u32;
                let (dx, dy) = ((xx as f64 - cx) / rx, (f64::from(y) - cy) / ry);
                if dx * dx + dy * dy <= 1.0 {
                    img.put_pixel(x, y, image::Rgb(col.map(|c| c as u8)));
                }
            }
        }
    }
    // Buildings: vertical bars standing on the horizon.
    for _ in 0..25 {
        let x0 = rng.range(0.0, f64::from(w)) as u32;
        let bw = rng.range(3.0, 25.0) as u32;
        let top = rng.range(40.0, 125.0) as u32;
        let v = rng.range(20.0, 235.0);
        for y in top..h / 2 + 10 {
            for x in x0..x0 + bw {
                let stripe = if (y / 4) % 2 == 0 { 0.85 } else { 1.0 };
                img.put_pixel(x % w, y, image::Rgb([(v * stripe) as u8; 3]));
            }
        }
    }
    for p in img.pixels_mut() {
        p.0 = p.0.map(|c| {
            let c = f64::from(c);
            match scene {
                Scene::Normal => c,
                Scene::Dark => 4.0 + c * 0.22,
                Scene::Bright => 120.0 + c * 0.53,
            }
            .round() as u8
        });
    }
    img
}

/// What a synthetic case puts in its frame.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    size: (u32, u32),
    center: (f64, f64),
    radii: (f64, f64),
    scene: Scene,
    /// Colour outside the rim.
    surround: u8,
    /// Grey of the camera's body in its reflection (the blind spot).
    camera: u8,
    /// Gaussian noise σ, grey levels.
    noise: f64,
    /// Mount bar: angle (radians, image x towards y), half-width as a fraction of the rim's
    /// radius, grey value.
    bar: Option<(f64, f64, u8)>,
    /// Corner-to-centre light falloff (0 = none).
    vignetting: f64,
    /// JPEG quality, if compressed.
    jpeg: Option<u8>,
    seed: u64,
}

impl Case {
    const fn new(
        name: &'static str,
        size: (u32, u32),
        center: (f64, f64),
        radii: (f64, f64),
    ) -> Self {
        Self {
            name,
            size,
            center,
            radii,
            scene: Scene::Normal,
            surround: 0,
            camera: 18,
            noise: 0.0,
            bar: None,
            vignetting: 0.0,
            jpeg: None,
            seed: 1,
        }
    }
}

fn ring_calibration(size: (u32, u32), center: (f64, f64), radii: (f64, f64)) -> Calibration {
    let ring = RingModel::builder()
        .center(DVec2::new(center.0, center.1))
        .radii(radii.0, radii.1)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build()
        .expect("ring");
    Calibration::new(size, CameraModel::Ring(ring), None).expect("calibration")
}

/// Renders the case's frame: the mirror image of the panorama, the camera's reflection as a
/// dark disc with a grey lens ring inside the blind spot, then bar, vignetting, noise, JPEG.
fn render(case: &Case) -> RgbImage {
    let pano = panorama(case.seed, case.scene);
    let (w, h) = case.size;
    let mut data = vec![0u8; (w * h * 3) as usize];
    let options =
        DewarpOptions::default().with_fill([case.surround, case.surround, case.surround, 255]);
    render_mirror(
        &Frame::from_rgb_image(&pano).expect("panorama frame"),
        &ring_calibration(case.size, case.center, case.radii),
        &mut FrameMut::packed(PixelFormat::Rgb8, w, h, &mut data).expect("frame"),
        &options,
    )
    .expect("render");
    let mut img = RgbImage::from_raw(w, h, data).expect("image");
    let mut rng = Lcg(case.seed ^ 0x9e37_79b9_7f4a_7c15);
    let c = DVec2::new(case.center.0, case.center.1);
    let corner = (f64::from(w) * 0.5).hypot(f64::from(h) * 0.5);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let q = DVec2::new(f64::from(x), f64::from(y));
        let d = q - c;
        let r = d.length();
        if r < case.radii.0 {
            // The camera seen in the mirror: dark body, a lighter lens ring.
            let v = if (r - 0.4 * case.radii.0).abs() < 0.06 * case.radii.0 {
                case.camera.saturating_add(50)
            } else {
                case.camera
            };
            p.0 = [v; 3];
        }
        if let Some((angle, half_width, v)) = case.bar {
            let (s, co) = angle.sin_cos();
            let along = d.x * co + d.y * s;
            let across = -d.x * s + d.y * co;
            if along > 0.0 && across.abs() < half_width * case.radii.1 {
                p.0 = [v; 3];
            }
        }
        let fall = 1.0
            - case.vignetting
                * ((q - DVec2::new(f64::from(w) * 0.5, f64::from(h) * 0.5)).length() / corner)
                    .powi(2);
        for ch in &mut p.0 {
            let v = f64::from(*ch) * fall + case.noise * rng.normal();
            *ch = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    match case.jpeg {
        Some(quality) => jpeg_round_trip(&img, quality),
        None => img,
    }
}

fn jpeg_round_trip(img: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut bytes), quality)
        .encode_image(img)
        .expect("jpeg encode");
    image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg)
        .expect("jpeg decode")
        .to_rgb8()
}

/// Detects the case's ring and checks centre (≤ 1 px) and radii (≤ 1 %).
fn check(case: &Case) -> DetectedRing {
    let img = render(case);
    let t = std::time::Instant::now();
    let ring = detect_ring(
        &Frame::from_rgb_image(&img).expect("frame"),
        &DetectOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let elapsed = t.elapsed();
    let centre_error = ring
        .center
        .distance(DVec2::new(case.center.0, case.center.1));
    let outer_error = (ring.radius_outer / case.radii.1 - 1.0) * 100.0;
    let inner_error = (ring.radius_inner / case.radii.0 - 1.0) * 100.0;
    eprintln!(
        "{:<28} centre error {centre_error:.3} px, outer {outer_error:+.3} %, inner {inner_error:+.3} %, \
         confidence {:.2}, {:.0} ms: {ring}",
        case.name,
        ring.confidence,
        elapsed.as_secs_f64() * 1e3
    );
    assert!(
        centre_error <= 1.0,
        "{}: centre off by {centre_error:.2} px",
        case.name
    );
    assert!(
        outer_error.abs() <= 1.0,
        "{}: rim off by {outer_error:.2} %",
        case.name
    );
    assert!(
        inner_error.abs() <= 1.0,
        "{}: blind spot off by {inner_error:.2} %",
        case.name
    );
    assert!(ring.confidence >= 0.5, "{}: low confidence", case.name);
    ring
}

#[test]
fn centred_ring() {
    check(&Case::new(
        "centred 640²",
        (640, 640),
        (319.5, 319.5),
        (90.0, 300.0),
    ));
}

#[test]
fn off_centre_ring_in_a_wide_frame() {
    check(&Case {
        seed: 2,
        ..Case::new(
            "off-centre 800×600",
            (800, 600),
            (352.3, 268.8),
            (62.0, 221.0),
        )
    });
}

#[test]
fn ring_cut_by_the_frame_edge() {
    check(&Case {
        seed: 3,
        ..Case::new(
            "cut by frame 640×480",
            (640, 480),
            (322.4, 236.1),
            (40.0, 266.0),
        )
    });
}

#[test]
fn noise_and_a_dark_mount_bar() {
    check(&Case {
        seed: 4,
        noise: 10.0,
        bar: Some((PI / 2.0 + 0.1, 0.06, 12)),
        ..Case::new(
            "noise σ10 + dark bar",
            (720, 720),
            (370.2, 351.7),
            (110.0, 330.0),
        )
    });
}

#[test]
fn bright_scene_and_a_bright_bar() {
    check(&Case {
        seed: 5,
        scene: Scene::Bright,
        bar: Some((-0.7, 0.05, 235)),
        ..Case::new(
            "bright scene + bright bar",
            (600, 600),
            (290.6, 311.2),
            (70.0, 270.0),
        )
    });
}

#[test]
fn dark_scene() {
    check(&Case {
        seed: 6,
        scene: Scene::Dark,
        // A black camera body: the scene's darkest ground is about as dark as the default.
        camera: 2,
        noise: 2.0,
        ..Case::new("dark scene", (640, 640), (331.0, 309.4), (95.0, 290.0))
    });
}

#[test]
fn vignetting_and_jpeg() {
    check(&Case {
        seed: 7,
        vignetting: 0.55,
        jpeg: Some(60),
        ..Case::new(
            "vignetting + JPEG q60",
            (960, 720),
            (470.6, 366.3),
            (100.0, 340.0),
        )
    });
}

#[test]
fn grey_surround_like_a_ceiling() {
    check(&Case {
        seed: 8,
        surround: 120,
        noise: 3.0,
        jpeg: Some(80),
        ..Case::new(
            "grey surround + JPEG q80",
            (640, 480),
            (318.2, 244.9),
            (35.0, 232.0),
        )
    });
}

#[test]
fn large_frame() {
    check(&Case {
        seed: 9,
        bar: Some((1.9, 0.04, 30)),
        ..Case::new("1440² + bar", (1440, 1440), (730.3, 702.8), (240.0, 690.0))
    });
}

#[test]
fn any_pixel_format() {
    let case = Case {
        seed: 10,
        ..Case::new("formats", (480, 480), (243.3, 236.8), (60.0, 215.0))
    };
    let img = render(&case);
    let (w, h) = img.dimensions();
    let grey: Vec<u8> = img
        .pixels()
        .map(|p| {
            (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])).round()
                as u8
        })
        .collect();
    let rgba: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let chroma = vec![128u8; (w.div_ceil(2) * h.div_ceil(2)) as usize];
    let frames = [
        Frame::packed(PixelFormat::Gray8, w, h, &grey).expect("grey"),
        Frame::packed(PixelFormat::Rgba8, w, h, &rgba).expect("rgba"),
        Frame::new(
            PixelFormat::I420,
            w,
            h,
            &[
                Plane {
                    data: &grey,
                    stride: w as usize,
                },
                Plane {
                    data: &chroma,
                    stride: w.div_ceil(2) as usize,
                },
                Plane {
                    data: &chroma,
                    stride: w.div_ceil(2) as usize,
                },
            ],
            YuvColor::default(),
        )
        .expect("i420"),
    ];
    for frame in &frames {
        let ring = detect_ring(frame, &DetectOptions::default()).expect("ring");
        assert!(
            ring.center
                .distance(DVec2::new(case.center.0, case.center.1))
                <= 1.0,
            "{:?}: {ring}",
            frame.format()
        );
        assert!((ring.radius_outer / case.radii.1 - 1.0).abs() <= 0.01);
    }
}

#[test]
fn several_frames_of_a_video() {
    let base = Case {
        noise: 14.0,
        bar: Some((PI / 2.0, 0.05, 15)),
        ..Case::new("video", (480, 480), (236.7, 247.2), (55.0, 205.0))
    };
    let frames: Vec<RgbImage> = (0..4)
        .map(|k| {
            render(&Case {
                seed: 20 + k,
                ..base
            })
        })
        .collect();
    let blank = RgbImage::from_pixel(480, 480, image::Rgb([3, 3, 3]));
    let mut detector = RingDetector::new(DetectOptions::default());
    for img in frames.iter().chain([&blank]) {
        let _ = detector.push(&Frame::from_rgb_image(img).expect("frame"));
    }
    assert_eq!(detector.counts(), (5, 4));
    let ring = detector.estimate().expect("combined ring");
    eprintln!("video, 4 of 5 frames: {ring}");
    assert!(
        ring.center
            .distance(DVec2::new(base.center.0, base.center.1))
            <= 1.0
    );
    assert!((ring.radius_outer / base.radii.1 - 1.0).abs() <= 0.01);
    // One frame in five had no ring: the combined confidence is scaled by 4/5.
    assert!(ring.confidence <= 0.8 + 1e-12);
}

/// A photo-like frame without a mirror: sky, hills, houses, a few small round things.
fn plain_photo(w: u32, h: u32) -> RgbImage {
    let mut rng = Lcg(77);
    let mut img = RgbImage::new(w, h);
    let hills: Vec<f64> = (0..4).map(|_| rng.range(0.0, 6.3)).collect();
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (xf, yf) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
        let horizon =
            0.55 + 0.06 * (xf * 7.0 + hills[0]).sin() + 0.03 * (xf * 17.0 + hills[1]).sin();
        *p = if yf < horizon {
            image::Rgb([(140.0 + 80.0 * yf) as u8, (170.0 + 60.0 * yf) as u8, 235])
        } else {
            let g = 80.0 + 30.0 * ((xf * 40.0).sin() * (yf * 33.0).cos());
            image::Rgb([(g * 0.7) as u8, g as u8, (g * 0.4) as u8])
        };
    }
    for _ in 0..12 {
        let (x0, y0) = (
            rng.range(0.0, f64::from(w)),
            rng.range(0.3, 0.8) * f64::from(h),
        );
        let (bw, bh) = (rng.range(20.0, 90.0), rng.range(20.0, 80.0));
        let v = rng.range(40.0, 230.0) as u8;
        for y in y0 as u32..((y0 + bh) as u32).min(h) {
            for x in x0 as u32..((x0 + bw) as u32).min(w) {
                img.put_pixel(x, y, image::Rgb([v, v.saturating_sub(20), v / 2]));
            }
        }
    }
    for _ in 0..5 {
        let (cx, cy, r) = (
            rng.range(0.0, f64::from(w)),
            rng.range(0.0, f64::from(h)),
            rng.range(5.0, 25.0),
        );
        let v = rng.range(0.0, 255.0) as u8;
        for (x, y, p) in img.enumerate_pixels_mut() {
            if (f64::from(x) - cx).hypot(f64::from(y) - cy) < r {
                *p = image::Rgb([v, v, 255 - v]);
            }
        }
    }
    jpeg_round_trip(&img, 85)
}

fn assert_no_ring(name: &str, img: &RgbImage) {
    match detect_ring(
        &Frame::from_rgb_image(img).expect("frame"),
        &DetectOptions::default(),
    ) {
        Err(Error::NoRingFound { reason }) => eprintln!("{name}: no ring ({reason})"),
        Err(e) => panic!("{name}: unexpected error {e}"),
        Ok(ring) => panic!("{name}: found a ring that is not there: {ring}"),
    }
}

#[test]
fn frames_without_a_mirror_are_refused() {
    assert_no_ring("plain photo", &plain_photo(640, 480));
    assert_no_ring(
        "uniform grey",
        &RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
    );
    let mut rng = Lcg(5);
    let noise = RgbImage::from_fn(640, 480, |_, _| {
        let v = (128.0 + 40.0 * rng.normal()).clamp(0.0, 255.0) as u8;
        image::Rgb([v, v, v])
    });
    assert_no_ring("random noise", &noise);
}

// ---------------------------------------------------------------------------------------
// The real OpenCV omnidir sample
// ---------------------------------------------------------------------------------------

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/opencv_sample/sample.jpg"
);

/// The principal point of `sample_mei_calib.yml` (fitted at 1280×960: cx = 630.28196,
/// cy = 431.91563), scaled to the 640×480 sample with `x' = (x + 0.5)·0.5 − 0.5`.
const SAMPLE_PRINCIPAL_POINT: (f64, f64) = (
    (630.281_959_861_051 + 0.5) * 0.5 - 0.5,
    (431.915_629_870_438 + 0.5) * 0.5 - 0.5,
);

fn sample_ring() -> (RgbImage, DetectedRing) {
    let img = image::open(SAMPLE).expect("sample.jpg").to_rgb8();
    let ring = detect_ring(
        &Frame::from_rgb_image(&img).expect("frame"),
        &DetectOptions::default(),
    )
    .expect("ring in the OpenCV sample");
    (img, ring)
}

#[test]
fn opencv_sample_centre_matches_its_calibration() {
    let (_, ring) = sample_ring();
    let expected = DVec2::new(SAMPLE_PRINCIPAL_POINT.0, SAMPLE_PRINCIPAL_POINT.1);
    eprintln!(
        "OpenCV sample: {ring}; principal point ({:.2}, {:.2}), off by {:.2} px",
        expected.x,
        expected.y,
        ring.center.distance(expected)
    );
    assert!(ring.center.distance(expected) <= 5.0);
}

/// Mean over rows `rows` of a grey panorama.
fn mean_rows(pano: &[u8], w: usize, rows: std::ops::Range<usize>) -> f64 {
    let n = rows.len() * w;
    rows.flat_map(|j| &pano[j * w..(j + 1) * w])
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / n as f64
}

/// Mean of each column, minus the overall mean.
fn column_profile(pano: &[u8], w: usize, h: usize) -> Vec<f64> {
    let cols: Vec<f64> = (0..w)
        .map(|i| (0..h).map(|j| f64::from(pano[j * w + i])).sum::<f64>() / h as f64)
        .collect();
    let mean = cols.iter().sum::<f64>() / w as f64;
    cols.iter().map(|c| c - mean).collect()
}

/// Normalised circular correlation of `a` with `b` shifted by `lag` columns.
fn circular_correlation(a: &[f64], b: &[f64], lag: usize) -> f64 {
    let n = a.len();
    let dot: f64 = (0..n).map(|i| a[i] * b[(i + lag) % n]).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

/// A grey equirect panorama of the sample from elevation `top` down to `bottom`.
fn sample_panorama(
    grey: &image::GrayImage,
    calibration: Calibration,
    top: f64,
    bottom: f64,
) -> Vec<u8> {
    let (w, h) = (PANO_W, PANO_H);
    let view = View::new(
        Projection::Equirect { top, bottom },
        Orientation::default(),
        w as u32,
        h as u32,
    )
    .expect("view");
    let mut pano = vec![0u8; w * h];
    CpuDewarper::new(calibration, view, DewarpOptions::default())
        .unwrap()
        .dewarp(
            &Frame::from_gray_image(grey).expect("frame"),
            &mut FrameMut::packed(PixelFormat::Gray8, w as u32, h as u32, &mut pano).expect("out"),
        )
        .expect("dewarp");
    pano
}

const PANO_W: usize = 720;
const PANO_H: usize = 160;

/// The chessboard calibration `sample_mei_calib.yml` (made at 1280×960), nadir mount seen
/// through the mirror, heading 0 at the top: the ground truth for the sample's geometry.
fn sample_mei_calibration() -> Calibration {
    let lens = MeiModel {
        fx: 408.903_177_395_103,
        fy: 410.479_338_691_326,
        cx: 630.281_959_861_051,
        cy: 431.915_629_870_438,
        skew: -0.634_657_577_683_977,
        xi: 1.053_386_109_581_774,
        k1: -0.008_304_384_099_715_515,
        k2: 0.011_775_204_895_599_564,
        p1: 0.022_823_853_529_051_637,
        p2: -0.004_185_316_318_658_441,
    };
    Calibration::new(
        (1280, 960),
        CameraModel::Mei {
            lens,
            mount: Mount::default(),
        },
        None,
    )
    .expect("mei calibration")
}

#[test]
fn opencv_sample_panorama_is_upright_and_seamless() {
    let (img, ring) = sample_ring();
    let options = DetectOptions::default();
    let grey = image::DynamicImage::ImageRgb8(img).to_luma8();
    let pano = sample_panorama(
        &grey,
        ring.to_calibration(&options).expect("calibration"),
        options.elevation_outer,
        options.elevation_inner,
    );
    let (w, h) = (PANO_W, PANO_H);
    // Upright: elevation grows with radius, so the top rows come from near the rim, which in
    // this frame reflects the lit ceiling, the bottom rows from around the dark camera.
    let quarter = h / 4;
    let top_mean = mean_rows(&pano, w, 0..quarter);
    let bottom_mean = mean_rows(&pano, w, h - quarter..h);
    // Seamless: the first and last columns are neighbours in heading.
    let column_diff = |a: usize, b: usize| {
        (0..h)
            .map(|j| f64::from(pano[j * w + a].abs_diff(pano[j * w + b])))
            .sum::<f64>()
            / h as f64
    };
    let seam = column_diff(0, w - 1);
    let mut neighbours: Vec<f64> = (0..w - 1).map(|i| column_diff(i, i + 1)).collect();
    neighbours.sort_by(f64::total_cmp);
    let typical = neighbours[neighbours.len() / 2];
    // Headings agree with the chessboard calibration's panorama (same handedness, same
    // heading at the top): its column profile matches ours unshifted, and not mirrored.
    let reference = sample_panorama(
        &grey,
        sample_mei_calibration(),
        15f64.to_radians(),
        (-65f64).to_radians(),
    );
    let ours = column_profile(&pano, w, h);
    let theirs = column_profile(&reference, w, h);
    let (best_lag, best) = (0..w)
        .map(|lag| (lag, circular_correlation(&ours, &theirs, lag)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("lags");
    let signed_lag = if best_lag > w / 2 {
        best_lag as isize - w as isize
    } else {
        best_lag as isize
    };
    let mirrored: Vec<f64> = ours.iter().rev().copied().collect();
    let best_mirrored = (0..w)
        .map(|lag| circular_correlation(&mirrored, &theirs, lag))
        .fold(f64::MIN, f64::max);
    eprintln!(
        "sample panorama: top quarter mean {top_mean:.1}, bottom quarter mean {bottom_mean:.1}; \
         seam |Δ| {seam:.2} vs typical neighbour |Δ| {typical:.2}; heading vs mei: best lag \
         {signed_lag} columns (0.5°/column), correlation {best:.3}, mirrored {best_mirrored:.3}"
    );
    assert!(top_mean > bottom_mean + 10.0, "panorama upside down?");
    assert!(seam <= 2.0 * typical.max(1.0), "seam discontinuous");
    assert!(
        signed_lag.abs() <= 6,
        "heading offset by {signed_lag} columns"
    );
    assert!(
        best >= 0.8 && best > best_mirrored + 0.2,
        "heading or handedness disagrees"
    );
}

/// Many random synthetic cases; run with
/// `cargo test --release --test detect -- --ignored --nocapture sweep`.
#[test]
#[ignore = "slow statistics run"]
fn sweep() {
    let sizes = [
        (640, 480),
        (800, 600),
        (720, 720),
        (1280, 720),
        (1440, 1440),
        (480, 480),
    ];
    let only: Option<usize> = std::env::var("SWEEP_CASE")
        .ok()
        .and_then(|v| v.parse().ok());
    let seed = std::env::var("SWEEP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2024);
    let mut rng = Lcg(seed);
    let (mut worst_c, mut worst_o, mut worst_i) = (0.0f64, 0.0f64, 0.0f64);
    let mut failures = 0;
    let n = 120;
    let mut cpu = Vec::new();
    for k in 0..n {
        let size = sizes[k % sizes.len()];
        let (w, h) = (f64::from(size.0), f64::from(size.1));
        let short = w.min(h);
        let r_out = rng.range(0.3, 0.56) * short;
        let r_in = r_out * rng.range(0.12, 0.45);
        let cx = w / 2.0 + rng.range(-0.12, 0.12) * w;
        let cy = h / 2.0 + rng.range(-0.12, 0.12) * h;
        let scene = [Scene::Normal, Scene::Dark, Scene::Bright][k % 3];
        let case = Case {
            name: "sweep",
            size,
            center: (cx, cy),
            radii: (r_in, r_out),
            scene,
            surround: if rng.next() < 0.3 {
                rng.range(60.0, 160.0) as u8
            } else {
                0
            },
            camera: if scene == Scene::Dark {
                2
            } else {
                rng.range(0.0, 40.0) as u8
            },
            noise: rng.range(0.0, 10.0),
            bar: (rng.next() < 0.5).then(|| {
                (
                    rng.range(0.0, std::f64::consts::TAU),
                    rng.range(0.02, 0.07),
                    if rng.next() < 0.5 { 15 } else { 230 },
                )
            }),
            vignetting: rng.range(0.0, 0.5),
            jpeg: (rng.next() < 0.5).then(|| rng.range(50.0, 95.0) as u8),
            seed: seed + 1000 + k as u64,
        };
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let img = render(&case);
        if let Some(dir) = std::env::var_os("SWEEP_SAVE") {
            img.save(std::path::Path::new(&dir).join(format!("sweep_{k}.png")))
                .expect("save");
        }
        let t = std::time::Instant::now();
        let result = detect_ring(
            &Frame::from_rgb_image(&img).expect("frame"),
            &DetectOptions::default(),
        );
        cpu.push(t.elapsed().as_secs_f64() * 1e3);
        match result {
            Ok(ring) => {
                let c = ring.center.distance(DVec2::new(cx, cy));
                let o = (ring.radius_outer / r_out - 1.0).abs() * 100.0;
                let i = (ring.radius_inner / r_in - 1.0).abs() * 100.0;
                worst_c = worst_c.max(c);
                worst_o = worst_o.max(o);
                worst_i = worst_i.max(i);
                if c > 1.0 || o > 1.0 || i > 1.0 {
                    failures += 1;
                    eprintln!(
                        "case {k} {size:?}: off (c {c:.2} px, o {o:.2} %, i {i:.2} %): {ring}; truth ({cx:.1}, {cy:.1}) {r_in:.1}..{r_out:.1}"
                    );
                }
            }
            Err(e) => {
                failures += 1;
                eprintln!("case {k} {size:?}: {e}; truth ({cx:.1}, {cy:.1}) {r_in:.1}..{r_out:.1}");
            }
        }
    }
    cpu.sort_by(f64::total_cmp);
    let n = cpu.len();
    eprintln!(
        "sweep: {failures} of {n} outside tolerance; worst within: centre {worst_c:.3} px, outer {worst_o:.3} %, inner {worst_i:.3} %; time median {:.1} ms, max {:.1} ms",
        cpu[n / 2],
        cpu[n - 1]
    );
}
