//! Property tests (proptest): the calibration parsers take any input without panicking, a
//! calibration written by `save_toml` reads back equal, and every camera model's
//! project/unproject are inverses over random valid parameters and panic-free for any
//! finite ones. Sized to run in seconds in CI.

use std::f64::consts::FRAC_PI_2;
use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use omnidewarp::model::{
    Calibration, CameraModel, ElevationBand, MeiModel, Mount, MountAxis, OcamModel, RadialProfile,
    RingModel, direction,
};
use proptest::prelude::*;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The shipped and fixture calibration files, as text.
fn seeds() -> Vec<String> {
    [
        "assets/synthetic_ring/ring_1440.toml",
        "assets/opencv_sample/sample_mei_calib.toml",
        "assets/opencv_sample/sample_mei_calib.yml",
        "tests/fixtures/sample_mei_calib.xml",
        "tests/fixtures/ocam_calib_results.txt",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(repo(p)).unwrap())
    .collect()
}

/// Text that often breaks parsers.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("1e308".to_owned()),
        Just("-1e308".to_owned()),
        Just("nan".to_owned()),
        Just(".Inf".to_owned()),
        Just("4294967296".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("-0".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("<".to_owned()),
        Just("</a>".to_owned()),
        Just("\"".to_owned()),
        Just("\n".to_owned()),
        Just(":".to_owned()),
        Just("#".to_owned()),
        any::<f64>().prop_map(|v| v.to_string()),
        any::<u32>().prop_map(|v| v.to_string()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

/// A seed file with a few of its pieces replaced, cut or repeated.
fn mutated() -> impl Strategy<Value = String> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), 0usize..24, nasty()), 1..5);
    (0..seeds().len(), edits).prop_map(|(seed, edits)| {
        let mut text = seeds()[seed].clone();
        for (at, len, with) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(start..end, &with);
        }
        text
    })
}

/// Loading any text gives a calibration that validates and round-trips, or an error.
fn load_never_panics(text: &str) {
    let path = Path::new("prop.calib");
    if let Ok(cal) = Calibration::from_str_detect(text, path) {
        cal.validate().unwrap();
        let back = Calibration::from_str_detect(&cal.to_toml_string(), path).unwrap();
        assert_eq!(back, cal);
        let _ = cal.scaled_to(cal.image_size.0 / 3 + 1, cal.image_size.1 / 3 + 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parsers_take_any_text(text in any::<String>()) {
        load_never_panics(&text);
    }

    #[test]
    fn parsers_take_damaged_files(text in mutated()) {
        load_never_panics(&text);
    }
}

// --- random valid calibrations --------------------------------------------------------------

fn mount() -> impl Strategy<Value = Mount> {
    (any::<bool>(), any::<bool>(), -360.0..360.0f64).prop_map(|(zenith, reflected, h)| Mount {
        axis: if zenith {
            MountAxis::Zenith
        } else {
            MountAxis::Nadir
        },
        reflected,
        heading_at_top: h.to_radians(),
    })
}

/// A ring that fits its frame: centre near the middle, radii a share of the half side, an
/// optional bent profile, either direction of elevation.
fn ring_calibration() -> impl Strategy<Value = Calibration> {
    (
        (16u32..4000, 0.8..1.25f64),
        (-0.1..0.1f64, -0.1..0.1f64),
        (0.0..0.6f64, 0.7..1.0f64),
        (-89.0..80.0f64, 1.0..170.0f64, any::<bool>()),
        (-360.0..360.0f64, any::<bool>()),
        prop::collection::vec(0.05..0.95f64, 0..4),
    )
        .prop_filter_map(
            "a valid ring",
            |((w, aspect), (ox, oy), (inner, outer), (e0, de, falling), (h, mirrored), bends)| {
                let hgt = ((f64::from(w) * aspect) as u32).max(16);
                let half = f64::from(w.min(hgt)) / 2.0;
                let centre = DVec2::new(
                    f64::from(w) / 2.0 - 0.5 + ox * half,
                    f64::from(hgt) / 2.0 - 0.5 + oy * half,
                );
                let (r_in, r_out) = (inner * half * 0.9, outer * half);
                let e1 = (e0 + de).min(90.0);
                let (e_in, e_out) = if falling { (e1, e0) } else { (e0, e1) };
                let mut ring = RingModel::builder()
                    .center(centre)
                    .radii(r_in, r_out)
                    .elevations(e_in.to_radians(), e_out.to_radians())
                    .heading_at_top(h.to_radians())
                    .mirrored(mirrored)
                    .build()
                    .ok()?;
                if !bends.is_empty() {
                    // Interior knots at sorted shares of the radius, bent elevations in order.
                    let mut shares = bends.clone();
                    shares.sort_by(f64::total_cmp);
                    shares.dedup();
                    let mut knots = vec![(r_in, e_in.to_radians())];
                    for (k, s) in shares.iter().enumerate() {
                        let bend = 0.5 + 0.4 * (s - 0.5) * if k % 2 == 0 { 1.0 } else { -1.0 };
                        let t = (s + bend) / 2.0;
                        knots.push((
                            r_in + s * (r_out - r_in),
                            (e_in + t * (e_out - e_in)).to_radians(),
                        ));
                    }
                    knots.push((r_out, e_out.to_radians()));
                    ring.profile = RadialProfile::new(knots).ok()?;
                }
                Calibration::new((w, hgt), CameraModel::Ring(ring), None).ok()
            },
        )
}

fn mei_lens() -> impl Strategy<Value = (MeiModel, (u32, u32))> {
    (
        (64u32..4000, 0.5..1.5f64),
        (0.25..0.6f64, 0.9..1.1f64),
        (-0.05..0.05f64, -0.05..0.05f64),
        (-1.0..1.0f64, 0.0..2.5f64),
        (
            -0.05..0.05f64,
            -0.01..0.01f64,
            -0.005..0.005f64,
            -0.005..0.005f64,
        ),
    )
        .prop_map(
            |((w, aspect), (f, fr), (ox, oy), (skew, xi), (k1, k2, p1, p2))| {
                let h = ((f64::from(w) * aspect) as u32).max(16);
                let side = f64::from(w.min(h));
                let lens = MeiModel {
                    fx: f * side,
                    fy: f * side * fr,
                    cx: f64::from(w) / 2.0 - 0.5 + ox * side,
                    cy: f64::from(h) / 2.0 - 0.5 + oy * side,
                    skew,
                    xi,
                    k1,
                    k2,
                    p1,
                    p2,
                };
                (lens, (w, h))
            },
        )
}

fn band() -> impl Strategy<Value = Option<ElevationBand>> {
    prop::option::of((-90.0..0.0f64, 5.0..90.0f64)).prop_map(|b| {
        b.map(|(lo, span)| {
            ElevationBand::new(lo.to_radians(), (lo + span).min(90.0).to_radians()).unwrap()
        })
    })
}

fn mei_calibration() -> impl Strategy<Value = Calibration> {
    (mei_lens(), mount(), band()).prop_filter_map("a valid mei", |((lens, size), mount, band)| {
        Calibration::new(size, CameraModel::Mei { lens, mount }, band).ok()
    })
}

fn ocam_fixture() -> Calibration {
    Calibration::load(&repo("tests/fixtures/ocam_calib_results.txt")).unwrap()
}

/// The OCamCalib fixture at another scale, centre and affine part (its `invpol` still
/// fits its `pol`, scaled with it).
fn ocam_calibration() -> impl Strategy<Value = Calibration> {
    (
        (0.1..3.0f64, 0.9..1.1f64),
        (-0.05..0.05f64, -0.05..0.05f64),
        (0.95..1.05f64, -0.01..0.01f64, -0.01..0.01f64),
        mount(),
    )
        .prop_filter_map(
            "a valid ocam",
            |((s, aspect), (ox, oy), (c, d, e), mount)| {
                let base = ocam_fixture();
                let (w0, h0) = base.image_size;
                let w = (f64::from(w0) * s).round().max(8.0) as u32;
                let h = (f64::from(h0) * s * aspect).round().max(8.0) as u32;
                let mut cal = base.scaled_to(w, h).ok()?;
                if let CameraModel::Ocam { lens, mount: m } = &mut cal.model {
                    lens.center_col += ox * f64::from(w);
                    lens.center_row += oy * f64::from(h);
                    (lens.c, lens.d, lens.e) = (lens.c * c, d, e);
                    *m = mount;
                }
                Calibration::new(cal.image_size, cal.model, None).ok()
            },
        )
}

fn any_calibration() -> impl Strategy<Value = Calibration> {
    prop_oneof![ring_calibration(), mei_calibration(), ocam_calibration()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn save_toml_reads_back_equal(cal in any_calibration(), n in 0u32..1000) {
        let text = cal.to_toml_string();
        let back = Calibration::from_str_detect(&text, Path::new("p.toml")).unwrap();
        prop_assert_eq!(&back, &cal, "{}", text);
        // Through a file as well, for some of them.
        if n < 100 {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prop_save");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("c{n}.toml"));
            cal.save_toml(&path).unwrap();
            prop_assert_eq!(Calibration::load(&path).unwrap(), cal);
        }
    }

    /// Pixel → ray → pixel and ray → pixel → ray, at random points of the content.
    #[test]
    fn project_and_unproject_are_inverses(
        cal in any_calibration(),
        points in prop::collection::vec((0.0..1.0f64, 0.0..1.0f64), 64),
    ) {
        let (w, h) = (f64::from(cal.image_size.0), f64::from(cal.image_size.1));
        let band = cal.elevation_range();
        let model = &cal.model;
        let mut hits = 0;
        for (u, v) in points {
            let p = DVec2::new(u * w - 0.5, v * h - 0.5);
            let Some(d) = model.unproject(p) else { continue };
            prop_assert!((d.length() - 1.0).abs() < 1e-9, "ray {d} at {p}");
            if !band.contains(d.z.clamp(-1.0, 1.0).asin()) {
                continue;
            }
            hits += 1;
            let q = model.project(d);
            prop_assert!(q.is_some(), "{p} → {d} → none");
            let q = q.unwrap();
            prop_assert!((q - p).length() < 1e-6 * (1.0 + w.max(h)), "{p} → {d} → {q}");
            let d2 = model.unproject(q).unwrap();
            prop_assert!((d2 - d).length() < 1e-8, "{d} → {q} → {d2}");
        }
        // validate() guarantees content on at least 1 % of the frame; 64 points rarely miss it all.
        let _ = hits;
    }
}

/// Each model's round trip over its own world directions, on a grid: a direction that
/// projects into the frame comes back.
#[test]
fn directions_come_back_from_every_model() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(150));
    runner
        .run(&any_calibration(), |cal| {
            let band = cal.elevation_range();
            for i in 0..24 {
                for j in 0..12 {
                    let e = band.min + (band.max - band.min) * (f64::from(j) + 0.5) / 12.0;
                    let d = direction(f64::from(i) * 0.2617, e);
                    let Some(p) = cal.model.project(d) else {
                        continue;
                    };
                    let (w, h) = (f64::from(cal.image_size.0), f64::from(cal.image_size.1));
                    if !(-0.5..w - 0.5).contains(&p.x) || !(-0.5..h - 0.5).contains(&p.y) {
                        // Outside the frame no pixel asks for a ray (and beyond a strong
                        // distortion's fold, Newton may find the outer root there).
                        continue;
                    }
                    let Some(back) = cal.model.unproject(p) else {
                        // A Mei pixel whose distortion Newton refuses: no ray either way.
                        continue;
                    };
                    prop_assert!(
                        (back - d).length() < 1e-7 || beyond_the_fold(&cal.model, d),
                        "{d} → {p} → {back}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Whether `d` lies beyond the radius where a Mei model's radial distortion turns back
/// (`d/dr r(1 + k1 r² + k2 r⁴) ≤ 0`, with a margin for the ill-conditioned band before it):
/// there two directions share a pixel. (OpenCV's model has the same fold; real calibrations have it far
/// outside their frame.)
fn beyond_the_fold(model: &CameraModel, d: DVec3) -> bool {
    let CameraModel::Mei { lens, mount } = model else {
        return false;
    };
    let xs = mount.world_to_model(d).normalize();
    let r = xs.truncate().length() / (xs.z + lens.xi);
    (0..=64).any(|k| {
        let r2 = (r * f64::from(k) / 64.0).powi(2);
        1.0 + 3.0 * lens.k1 * r2 + 5.0 * lens.k2 * r2 * r2 <= 0.2
    })
}

// --- any finite parameters: errors or numbers, never a panic ---------------------------------

/// Any finite number, mostly of the magnitudes that break arithmetic.
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        -1e3..1e3f64,
        Just(0.0),
        Just(-0.0),
        Just(1e308),
        Just(-1e308),
        Just(f64::MIN_POSITIVE),
        Just(f64::EPSILON),
    ]
}

fn exercise(model: CameraModel, size: (u32, u32), band: Option<ElevationBand>) {
    let _ = model.validate();
    for k in 0..16 {
        let d = direction(f64::from(k) * 0.7, f64::from(k) * 0.2 - FRAC_PI_2);
        let _ = model.project(d);
        let _ = model.project(DVec3::ZERO);
        let _ = model.unproject(DVec2::new(f64::from(k) * 37.0, f64::from(k) * 11.0));
    }
    let _ = model.unproject(DVec2::new(f64::MAX, -f64::MAX));
    if let Ok(cal) = Calibration::new(size, model, band) {
        let _ = cal.scaled_to(size.0 / 2 + 1, size.1 + 7);
        let _ = cal.describe();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn ring_with_any_finite_parameters(
        c in (finite(), finite()),
        knots in prop::collection::vec((finite(), finite()), 0..20),
        h in finite(),
        size in (0u32..70000, 0u32..70000),
    ) {
        let _ = RadialProfile::new(knots.clone());
        let ring = RingModel::builder()
            .center([c.0, c.1])
            .radii(knots.first().map_or(1.0, |k| k.0), 100.0)
            .elevations(0.1, 0.5)
            .heading_at_top(h)
            .build();
        if let Ok(mut ring) = ring {
            if let Ok(profile) = RadialProfile::new(knots) {
                ring.profile = profile;
            }
            exercise(CameraModel::Ring(ring), size, None);
        }
    }

    #[test]
    fn mei_with_any_finite_parameters(
        p in prop::array::uniform10(finite()),
        m in mount(),
        size in (0u32..70000, 0u32..70000),
    ) {
        let lens = MeiModel { fx: p[0], fy: p[1], cx: p[2], cy: p[3], skew: p[4], xi: p[5], k1: p[6], k2: p[7], p1: p[8], p2: p[9] };
        exercise(CameraModel::Mei { lens, mount: m }, size, None);
    }

    #[test]
    fn ocam_with_any_finite_parameters(
        pol in prop::collection::vec(finite(), 0..18),
        invpol in prop::collection::vec(finite(), 0..34),
        p in prop::array::uniform5(finite()),
        m in mount(),
        size in (0u32..70000, 0u32..70000),
    ) {
        let lens = OcamModel { pol, invpol, center_row: p[0], center_col: p[1], c: p[2], d: p[3], e: p[4] };
        exercise(CameraModel::Ocam { lens, mount: m }, size, None);
    }
}

// --- the CPU dewarper: any small view, any finite orientation --------------------------------

fn any_projection() -> impl Strategy<Value = omnidewarp::model::Projection> {
    use omnidewarp::model::Projection;
    let band = (-1.5..1.5f64, 0.01..3.0f64).prop_map(|(top, h)| (top, (top - h).max(-FRAC_PI_2)));
    let fov = 0.01..3.1f64;
    prop_oneof![
        band.clone()
            .prop_map(|(top, bottom)| Projection::Equirect { top, bottom }),
        band.clone().prop_map(|(top, bottom)| Projection::Cylinder {
            top: top.clamp(-1.4, 1.4),
            bottom: bottom.clamp(-1.48, 1.39),
        }),
        fov.clone().prop_map(|fov| Projection::Perspective { fov }),
        (0.01..6.2f64).prop_map(|fov| Projection::Stereographic { fov }),
        band.prop_map(|(top, bottom)| Projection::DoublePanorama { top, bottom }),
        fov.prop_map(|fov| Projection::Quad { fov }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The CPU dewarper never panics: any view from 1×1 to 9×9 (invalid ones are refused
    /// with an error), any finite orientation, every interpolation, anti-aliasing on and off.
    #[test]
    fn cpu_dewarp_never_panics(
        projection in any_projection(),
        orientation in (finite(), finite(), finite()),
        size in (1u32..10, 1u32..10),
        interpolation in 0usize..3,
        antialias in any::<bool>(),
    ) {
        use omnidewarp::model::{Orientation, View};
        use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat};
        let ring = RingModel::builder()
            .center([31.5, 31.5])
            .radii(8.0, 30.0)
            .elevations(-0.9, 0.6)
            .build()
            .unwrap();
        let calibration = Calibration::new((64, 64), CameraModel::Ring(ring), None).unwrap();
        let view = View {
            projection,
            orientation: Orientation { yaw: orientation.0, pitch: orientation.1, roll: orientation.2 },
            width: size.0,
            height: size.1,
        };
        let interpolation = [Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic][interpolation];
        let options = DewarpOptions::default().with_interpolation(interpolation).with_antialias(antialias);
        let src = vec![100u8; 64 * 64 * 3];
        let src = Frame::packed(PixelFormat::Rgb8, 64, 64, &src).unwrap();
        let mut out = vec![0u8; (size.0 * size.1 * 3) as usize];
        if let Ok(mut dewarper) = CpuDewarper::new(calibration, view, options) {
            let mut dst = FrameMut::packed(PixelFormat::Rgb8, size.0, size.1, &mut out).unwrap();
            dewarper.dewarp(&src, &mut dst).unwrap();
        }
    }
}
