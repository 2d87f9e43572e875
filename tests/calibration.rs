//! Calibration files: importers against the tools that wrote them, our TOML round trip, and
//! bad files.

// The sample's numbers are spelled as OpenCV wrote them in the file.
#![allow(clippy::excessive_precision)]

use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use omnidewarp::Error;
use omnidewarp::model::{
    Calibration, CameraModel, ElevationBand, MeiModel, Mount, MountAxis, OcamModel, RadialProfile,
    RingModel,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Rows of a fixture CSV (`#` comment lines and the header skipped).
fn csv(path: &str) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(repo(path)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(|t| t.parse().unwrap()).collect())
        .collect()
}

fn mei(cal: &Calibration) -> (MeiModel, Mount) {
    match &cal.model {
        CameraModel::Mei { lens, mount } => (*lens, *mount),
        other => panic!("expected a mei model, got {other:?}"),
    }
}

fn ocam(cal: &Calibration) -> OcamModel {
    match &cal.model {
        CameraModel::Ocam { lens, .. } => lens.clone(),
        other => panic!("expected an ocam model, got {other:?}"),
    }
}

fn sample_yaml() -> Calibration {
    Calibration::load(&repo("assets/opencv_sample/sample_mei_calib.yml")).unwrap()
}

// --- OpenCV omnidir ---------------------------------------------------------------------

#[test]
fn opencv_yaml_imports_the_sample() {
    let cal = sample_yaml();
    assert_eq!(cal.image_size, (1280, 960));
    assert_eq!(cal.band, None);
    let (lens, mount) = mei(&cal);
    assert_eq!(mount, Mount::default());
    assert_eq!(lens.fx, 408.90317739510289);
    assert_eq!(lens.skew, -0.63465757768397713);
    assert_eq!(lens.cx, 630.28195986105106);
    assert_eq!(lens.fy, 410.47933869132578);
    assert_eq!(lens.cy, 431.91562987043829);
    assert_eq!(lens.xi, 1.0533861095817736);
    assert_eq!(
        [lens.k1, lens.k2, lens.p1, lens.p2],
        [
            -0.0083043840997155151,
            0.011775204895599564,
            0.022823853529051637,
            -0.0041853163186584413
        ]
    );
}

#[test]
fn mei_projects_like_opencv_omnidir() {
    let (lens, _) = mei(&sample_yaml());
    let rows = csv("tests/fixtures/omnidir_projection.csv");
    assert!(rows.len() >= 190, "{} rows", rows.len());
    let mut worst: f64 = 0.0;
    for r in &rows {
        let x = DVec3::new(r[0], r[1], r[2]);
        let want = DVec2::new(r[3], r[4]);
        let got = lens.project(x).expect("visible point");
        worst = worst.max((got - want).length());
        // And back: the pixel's ray is the point's direction.
        let ray = lens.unproject(want).expect("pixel with a ray");
        assert!(ray.angle_between(x) < 1e-6, "{x} → {want} → {ray}");
    }
    println!("max |mei − cv2.omnidir.projectPoints| = {worst:.3e} px");
    assert!(worst <= 0.05, "max error {worst} px");
}

#[test]
fn opencv_xml_reads_like_yaml() {
    let xml = Calibration::load(&repo("tests/fixtures/sample_mei_calib.xml")).unwrap();
    assert_eq!(xml, sample_yaml());
}

#[test]
fn opencv_without_size_infers_it_from_the_principal_point() {
    let cal = Calibration::load(&repo("tests/fixtures/sample_mei_calib_nosize.yml")).unwrap();
    let (lens, _) = mei(&cal);
    assert_eq!(lens, mei(&sample_yaml()).0);
    // round(2·630.28 + 1), round(2·431.92 + 1)
    assert_eq!(cal.image_size, (1262, 865));
}

#[test]
fn scaling_the_sample_to_its_jpeg_uses_pixel_centres() {
    let full = sample_yaml();
    let small = full.scaled_to(640, 480).unwrap();
    assert_eq!(small.image_size, (640, 480));
    let (a, _) = mei(&full);
    let (b, _) = mei(&small);
    let s = 0.5;
    assert!((b.cx - ((a.cx + 0.5) * s - 0.5)).abs() < 1e-12);
    assert!((b.cy - ((a.cy + 0.5) * s - 0.5)).abs() < 1e-12);
    assert!((b.fx - a.fx * s).abs() < 1e-12 && (b.fy - a.fy * s).abs() < 1e-12);
    assert_eq!((b.xi, b.k1, b.p2), (a.xi, a.k1, a.p2));
}

// --- OCamCalib ----------------------------------------------------------------------------

fn ocam_fixture() -> Calibration {
    Calibration::load(&repo("tests/fixtures/ocam_calib_results.txt")).unwrap()
}

/// OCamCalib's frame → our model frame: `(y, x, −z)`.
fn from_ocam(x: f64, y: f64, z: f64) -> DVec3 {
    DVec3::new(y, x, -z)
}

#[test]
fn ocamcalib_file_imports_with_our_axes() {
    let cal = ocam_fixture();
    assert_eq!(cal.image_size, (1280, 960)); // the file says "960 1280" (height width)
    let lens = ocam(&cal);
    assert_eq!(lens.center_row, 431.915630);
    assert_eq!(lens.center_col, 630.281960);
    assert_eq!((lens.c, lens.d, lens.e), (1.003855, 0.000500, -0.001552));
    assert_eq!(lens.pol.len(), 5);
    assert_eq!(lens.pol[0], -1.990624e+02);
    assert_eq!(lens.invpol.len(), 9);
    assert_eq!(lens.invpol[8], 2.035622);
}

#[test]
fn ocam_unproject_is_ocamcalib_cam2world() {
    let lens = ocam(&ocam_fixture());
    let mut worst: f64 = 0.0;
    for r in csv("tests/fixtures/ocam_cam2world.csv") {
        let pixel = DVec2::new(r[1], r[0]); // (col, row)
        let want = from_ocam(r[2], r[3], r[4]);
        let got = lens.unproject(pixel).expect("pixel with a ray");
        worst = worst.max((got - want).length());
    }
    println!("max |unproject − cam2world| = {worst:.3e}");
    assert!(worst < 1e-12, "{worst}");
}

/// The invpol fit error the fixture script measured (the world2cam CSV's header).
fn invpol_fit_error() -> f64 {
    let text = std::fs::read_to_string(repo("tests/fixtures/ocam_world2cam.csv")).unwrap();
    let header = text.lines().next().unwrap();
    let tail = header.split("max fit error ").nth(1).unwrap();
    tail.trim_end_matches(" px").parse().unwrap()
}

#[test]
fn ocam_project_is_ocamcalib_world2cam_within_the_invpol_fit() {
    let lens = ocam(&ocam_fixture());
    // world2cam evaluates invpol, a fit of pol's inverse; `project` inverts pol exactly.
    // The sensor radius then differs by at most the fit error, the pixel by that times the
    // affine scale (|c|, 1 ≈ 1.004).
    let bound = invpol_fit_error() * 1.01 + 1e-9;
    let mut worst: f64 = 0.0;
    for r in csv("tests/fixtures/ocam_world2cam.csv") {
        let x = from_ocam(r[0], r[1], r[2]);
        let want = DVec2::new(r[4], r[3]);
        let got = lens.project(x).expect("visible point");
        worst = worst.max((got - want).length());
        // project ∘ unproject is exact.
        let back = lens.project(lens.unproject(got).unwrap()).unwrap();
        assert!((back - got).length() < 1e-9, "{got} → {back}");
    }
    println!("max |project − world2cam| = {worst:.3e} px (bound {bound:.3e})");
    assert!(worst <= bound, "{worst} > {bound}");
}

// --- our TOML -----------------------------------------------------------------------------

fn ring_calibration(with_profile: bool) -> Calibration {
    let mut ring = RingModel::builder()
        .center(DVec2::new(1439.5, 1439.5))
        .radii(492.5, 1411.2)
        .elevations(-55f64.to_radians(), 60f64.to_radians())
        .heading_at_top(12.5f64.to_radians())
        .build()
        .unwrap();
    let mut band = None;
    if with_profile {
        ring.profile = RadialProfile::new(vec![
            (492.5, -55f64.to_radians()),
            (800.0, -10f64.to_radians()),
            (1100.25, 20.5f64.to_radians()),
            (1411.2, 60f64.to_radians()),
        ])
        .unwrap();
        ring.mirrored = false;
        band = Some(ElevationBand::new(-50f64.to_radians(), 45f64.to_radians()).unwrap());
    }
    Calibration::new((2880, 2880), CameraModel::Ring(ring), band).unwrap()
}

fn mei_calibration() -> Calibration {
    let lens = MeiModel {
        fx: 408.90317739510289,
        fy: 410.47933869132578,
        cx: 630.28195986105106,
        cy: 431.91562987043829,
        skew: -0.63465757768397713,
        xi: 1.0533861095817736,
        k1: -0.0083043840997155151,
        k2: 0.011775204895599564,
        p1: 0.022823853529051637,
        p2: -0.0041853163186584413,
    };
    let mount = Mount {
        axis: MountAxis::Zenith,
        reflected: false,
        heading_at_top: (-30f64).to_radians(),
    };
    let band = Some(ElevationBand::new(-70f64.to_radians(), 15f64.to_radians()).unwrap());
    Calibration::new((1280, 960), CameraModel::Mei { lens, mount }, band).unwrap()
}

fn ocam_calibration() -> Calibration {
    let mut cal = ocam_fixture();
    if let CameraModel::Ocam { mount, .. } = &mut cal.model {
        mount.heading_at_top = 90f64.to_radians();
    }
    cal
}

#[test]
fn toml_round_trips_every_model() {
    let path = Path::new("roundtrip.toml");
    for cal in [
        ring_calibration(false),
        ring_calibration(true),
        mei_calibration(),
        sample_yaml(),
        ocam_calibration(),
    ] {
        let text = cal.to_toml_string();
        let back =
            Calibration::from_str_detect(&text, path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, cal, "{text}");
        // Writing again gives the same text.
        assert_eq!(back.to_toml_string(), text);
    }
}

#[test]
fn toml_is_the_documented_schema() {
    let text = ring_calibration(true).to_toml_string();
    for line in [
        "format = \"omnidewarp-calibration\"",
        "version = 1",
        "image_size = [2880, 2880]",
        "[model]",
        "type = \"ring\"",
        "center = [1439.5, 1439.5]",
        "radius_inner = 492.5",
        "radius_outer = 1411.2",
        "elevation_inner_deg = -55.0",
        "elevation_outer_deg = 60.0",
        "heading_at_top_deg = 12.5",
        "mirrored = false",
        "    [800.0, -10.0],",
        "    [1100.25, 20.5],",
        "[band]",
        "elevation_min_deg = -50.0",
        "elevation_max_deg = 45.0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "no `{line}` in\n{text}"
        );
    }
    assert!(!text.contains("[mount]"));
    // Without a band of its own, a ring's band is its elevation range and is not written.
    assert!(!ring_calibration(false).to_toml_string().contains("[band]"));

    let text = mei_calibration().to_toml_string();
    for line in [
        "type = \"mei\"",
        "fx = 408.9031773951029",
        "xi = 1.0533861095817736",
        "p2 = -0.004185316318658441",
        "[mount]",
        "axis = \"zenith\"",
        "reflected = false",
        "heading_at_top_deg = -30.0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "no `{line}` in\n{text}"
        );
    }
    let text = ocam_calibration().to_toml_string();
    for line in [
        "type = \"ocam\"",
        "center = [630.28196, 431.91563]",
        "affine = [1.003855, 0.0005, -0.001552]",
        "heading_at_top_deg = 90.0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "no `{line}` in\n{text}"
        );
    }
}

#[test]
fn hand_written_toml_uses_defaults() {
    let text = r#"
format = "omnidewarp-calibration"
version = 1
image_size = [2880, 2880]

[model]
type = "ring"
center = [1439.5, 1439.5]
radius_inner = 492.5
radius_outer = 1411
elevation_inner_deg = -55
elevation_outer_deg = 60
"#;
    let cal = Calibration::from_str_detect(text, Path::new("calib.toml")).unwrap();
    let CameraModel::Ring(ring) = &cal.model else {
        panic!()
    };
    assert_eq!(ring.heading_at_top, 0.0);
    assert!(ring.mirrored);
    assert_eq!(ring.profile.radius_range(), (492.5, 1411.0));
    assert_eq!(ring.profile.elevation_ends().1, 60f64.to_radians());
    assert_eq!(cal.band.unwrap().min, (-55f64).to_radians());

    let text = r#"
format = "omnidewarp-calibration"
version = 1
image_size = [1280, 960]
[model]
type = "mei"
fx = 400
fy = 400
cx = 639.5
cy = 479.5
xi = 1.0
"#;
    let cal = Calibration::from_str_detect(text, Path::new("calib.toml")).unwrap();
    let (lens, mount) = mei(&cal);
    assert_eq!(mount, Mount::default());
    assert_eq!(
        (lens.skew, lens.k1, lens.k2, lens.p1, lens.p2),
        (0.0, 0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(cal.band, None);
}

#[test]
fn save_toml_is_atomic_and_loads_back() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calib_save");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("calib.toml");
    std::fs::write(&path, "old contents").unwrap();
    let cal = mei_calibration();
    cal.save_toml(&path).unwrap();
    assert_eq!(Calibration::load(&path).unwrap(), cal);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["calib.toml"], "temporary file left behind");
    // A folder that does not exist: an I/O error naming the file.
    let err = cal.save_toml(&dir.join("missing/calib.toml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing/calib.toml"), "{err}");
}

#[test]
fn shipped_sample_toml_is_the_yaml_plus_a_band() {
    // OMNIDEWARP_BLESS=1 rewrites the asset from the YAML with our exporter.
    let path = repo("assets/opencv_sample/sample_mei_calib.toml");
    let band = ElevationBand::new(-70f64.to_radians(), 15f64.to_radians()).unwrap();
    let want = Calibration {
        band: Some(band),
        ..sample_yaml()
    };
    if std::env::var_os("OMNIDEWARP_BLESS").is_some() {
        let header = "\
# The Mei (unified sphere) calibration of sample.jpg, converted from sample_mei_calib.yml by
# omnidewarp's exporter. It was fitted at 1280×960; sample.jpg (640×480) is served by
# scaling it (pixel-centre convention).
#
# The band: sampling sample.jpg through this model along headings every 30°, the camera's
# own dark reflection ends near elevation −72° and the mirror rim (a jump to the brighter
# wall beyond the mirror) lies at +15° to +17°. The band, −70° to +15°, stays inside both.

";
        std::fs::write(&path, format!("{header}{}", want.to_toml_string())).unwrap();
    }
    let shipped = Calibration::load(&path).unwrap();
    assert_eq!(shipped, want);
}

#[test]
fn describe_summarises_in_degrees() {
    let text = mei_calibration().describe();
    for part in [
        "mei",
        "1280 × 960",
        "408.903",
        "xi:           1.05339",
        "zenith, direct, heading -30°",
        "-70° .. 15°",
    ] {
        assert!(text.contains(part), "no `{part}` in\n{text}");
    }
    let text = ring_calibration(true).describe();
    for part in [
        "ring",
        "492.5 px (elevation -55°)",
        "800 px → -10°",
        "12.5°",
        "direct view",
    ] {
        assert!(text.contains(part), "no `{part}` in\n{text}");
    }
    let text = ocam_fixture().describe();
    for part in [
        "ocam",
        "(630.282, 431.916)",
        "-199.062",
        "band:         not set",
    ] {
        assert!(text.contains(part), "no `{part}` in\n{text}");
    }
    assert!(text.lines().count() >= 6);
}

// --- bad files ----------------------------------------------------------------------------

const MEI: &str = r#"format = "omnidewarp-calibration"
version = 1
image_size = [1280, 960]

[model]
type = "mei"
fx = 408.9
fy = 410.5
cx = 630.3
cy = 431.9
xi = 1.05
"#;

const RING: &str = r#"format = "omnidewarp-calibration"
version = 1
image_size = [2880, 2880]

[model]
type = "ring"
center = [1439.5, 1439.5]
radius_inner = 492.5
radius_outer = 1411.2
elevation_inner_deg = -55.0
elevation_outer_deg = 60.0
"#;

/// Parses `text` as `name`, expects a file error naming `key`, returns the message.
fn file_error(name: &str, text: &str, key: &str) -> String {
    let err = Calibration::from_str_detect(text, Path::new(name))
        .expect_err(&format!("{name} should fail:\n{text}"));
    let message = err.to_string();
    match &err {
        Error::CalibrationFile { path, key: k, .. } => {
            assert_eq!(path, Path::new(name));
            assert_eq!(k.as_deref(), Some(key), "{message}");
        }
        other => panic!("expected Error::CalibrationFile, got {other:?}"),
    }
    assert!(message.starts_with(name), "{message}");
    assert!(message.contains(&format!("`{key}`")), "{message}");
    message
}

#[test]
fn bad_toml_files_name_the_key() {
    let f = "calib.toml";
    let msg = file_error(f, &MEI.replace("fx = 408.9\n", ""), "model.fx");
    assert!(msg.contains("missing key"), "{msg}");
    let msg = file_error(f, &MEI.replace("fx = 408.9", "fx = nan"), "model.fx");
    assert!(msg.contains("finite"), "{msg}");
    file_error(f, &MEI.replace("fy = 410.5", "fy = -inf"), "model.fy");
    file_error(f, &MEI.replace("fx = 408.9", "fx = -408.9"), "model.fx");
    file_error(f, &MEI.replace("xi = 1.05", "xi = -1.05"), "model.xi");
    file_error(f, &MEI.replace("fx = 408.9", "fx = \"big\""), "model.fx");
    let msg = file_error(
        f,
        &RING.replace("radius_inner = 492.5", "radius_inner = -5.0"),
        "model.radius_inner",
    );
    assert!(msg.contains("negative"), "{msg}");
    let msg = file_error(
        f,
        &RING.replace("radius_inner = 492.5", "radius_inner = 1411.2"),
        "model.radius_inner",
    );
    assert!(msg.contains("less than radius_outer"), "{msg}");
    file_error(
        f,
        &RING.replace("radius_inner = 492.5", "radius_inner = 2000"),
        "model.radius_inner",
    );
    let msg = file_error(f, &MEI.replace("\"mei\"", "\"fisheye\""), "model.type");
    assert!(msg.contains("unknown model type \"fisheye\""), "{msg}");
    let msg = file_error(f, &MEI.replace("version = 1", "version = 2"), "version");
    assert!(
        msg.contains("written by a newer omnidewarp (version 2; this one reads 1)"),
        "{msg}"
    );
    // A newer file is refused for its version even when it has keys we do not know.
    file_error(
        f,
        &format!(
            "{}\nnew_thing = 1\n",
            MEI.replace("version = 1", "version = 3")
        ),
        "version",
    );
    let msg = file_error(
        f,
        &RING.replace("radius_outer", "radiuss = 3.0\nradius_outer"),
        "model.radiuss",
    );
    assert_eq!(msg, "calib.toml: `model.radiuss`: unknown key");
    file_error(f, &format!("colour = 1\n{MEI}"), "colour");
    file_error(
        f,
        &format!("{MEI}\n[mount]\naxis = \"nadir\"\ntilt = 3\n"),
        "mount.tilt",
    );
    file_error(
        f,
        &format!("{MEI}\n[mount]\naxis = \"sideways\"\n"),
        "mount.axis",
    );
    file_error(
        f,
        &format!("{MEI}\n[band]\nelevation_min_deg = 10\n"),
        "band.elevation_max_deg",
    );
    file_error(
        f,
        &format!("{MEI}\n[band]\nelevation_min_deg = 10\nelevation_max_deg = -10\n"),
        "band",
    );
    let msg = file_error(f, &format!("{RING}\n[mount]\naxis = \"nadir\"\n"), "mount");
    assert!(msg.contains("ring"), "{msg}");
    file_error(
        f,
        &RING.replace("omnidewarp-calibration", "something-else"),
        "format",
    );
    file_error(
        f,
        &RING.replace("format = \"omnidewarp-calibration\"\n", ""),
        "format",
    );
    file_error(f, &RING.replace("[2880, 2880]", "[2880]"), "image_size");
    file_error(f, &RING.replace("[2880, 2880]", "[0, 2880]"), "image_size");
    file_error(
        f,
        &format!("{RING}profile = [[800.0, 70.0]]\n"),
        "model.profile",
    );
    file_error(f, &format!("{RING}profile = [[800.0]]\n"), "model.profile");
    file_error(
        f,
        &RING.replace("elevation_outer_deg = 60.0", "elevation_outer_deg = 95.0"),
        "model.elevation_outer_deg",
    );
    file_error(
        f,
        &MEI.replace("[model]", "[model]\nmirrored = true"),
        "model.mirrored",
    );
}

#[test]
fn broken_toml_syntax_says_where() {
    let err = Calibration::from_str_detect(
        "format = \"omnidewarp-calibration\nversion = 1\n",
        Path::new("c.toml"),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::CalibrationFile { key: None, .. }),
        "{err:?}"
    );
    assert!(msg.starts_with("c.toml: not valid TOML (line 1"), "{msg}");
}

const YAML: &str = "%YAML:1.0
---
image_width: 1280
image_height: 960
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 408.9, -0.63, 630.3, 0., 410.5, 431.9, 0., 0., 1. ]
distortion_coefficients: !!opencv-matrix
   rows: 1
   cols: 4
   dt: d
   data: [ -0.0083, 0.0118, 0.0228, -0.0042 ]
xi: 1.05
";

#[test]
fn bad_opencv_files_name_the_key() {
    let f = "omni.yml";
    assert!(Calibration::from_str_detect(YAML, Path::new(f)).is_ok());
    let msg = file_error(
        f,
        &YAML
            .replace("rows: 3\n   cols: 3", "rows: 2\n   cols: 3")
            .replace("0., 0., 1. ]", "]"),
        "camera_matrix",
    );
    assert!(msg.contains("2×3"), "{msg}");
    let msg = file_error(
        f,
        &YAML.replace("0., 0., 1. ]", "0., 0. ]"),
        "camera_matrix",
    );
    assert!(msg.contains("8 numbers"), "{msg}");
    file_error(
        f,
        &YAML.replace("0., 0., 1. ]", "0., 0., 2. ]"),
        "camera_matrix",
    );
    file_error(
        f,
        &YAML
            .replace("cols: 4", "cols: 5")
            .replace("-0.0042 ]", "-0.0042, 0.1 ]"),
        "distortion_coefficients",
    );
    file_error(
        f,
        &YAML.replace("data: [ -0.0083", "data: [ .NaN"),
        "distortion_coefficients",
    );
    file_error(f, &YAML.replace("xi: 1.05\n", ""), "xi");
    file_error(f, &YAML.replace("xi: 1.05", "xi: one"), "xi");
    file_error(f, &YAML.replace("xi: 1.05", "xi: -1.05"), "xi");
    file_error(f, &YAML.replace("408.9, ", "-408.9, "), "camera_matrix");
    file_error(f, &YAML.replace("image_height: 960\n", ""), "image_height");
    file_error(
        f,
        &YAML.replace("image_width: 1280", "image_width: 12.5"),
        "image_width",
    );

    let xml = std::fs::read_to_string(repo("tests/fixtures/sample_mei_calib.xml")).unwrap();
    let msg = file_error(
        "omni.xml",
        &xml.replace("<rows>3</rows>", "<rows>4</rows>"),
        "camera_matrix",
    );
    assert!(msg.contains("12"), "{msg}");
    file_error(
        "omni.xml",
        &xml.replace("<xi>1.0533861095817736</xi>\n", ""),
        "xi",
    );
}

#[test]
fn truncated_or_bad_ocamcalib_files_name_the_block() {
    let f = "calib_results.txt";
    let text = std::fs::read_to_string(repo("tests/fixtures/ocam_calib_results.txt")).unwrap();
    let cut = |marker: &str| text[..text.find(marker).unwrap()].to_owned();
    // Cut inside the inverse polynomial.
    let msg = file_error(f, &cut("98.461508"), "invpol");
    assert!(msg.contains("truncated"), "{msg}");
    file_error(f, &cut("#center"), "center");
    file_error(f, &cut("#affine"), "affine");
    file_error(f, &cut("960 1280"), "image_size");
    file_error(f, &text.replace("\n9 388", "\n40 388"), "invpol");
    file_error(f, &text.replace("960 1280", "960.5 1280"), "image_size");
    file_error(f, &text.replace("431.915630", "nan"), "center");
    file_error(f, &text.replace("-1.990624e+02", "1.990624e+02"), "pol");
    file_error(
        f,
        &text.replace("1.003855 0.000500 -0.001552", "0 1 0"),
        "affine",
    );
}

#[test]
fn unreadable_files_are_io_errors() {
    let err = Calibration::load(Path::new("/nonexistent/calib.toml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

// --- one validation path: absurd, inconsistent and oversized calibrations -----------------

#[test]
fn calibrations_that_show_nothing_of_their_band_are_refused() {
    let f = "calib.toml";
    for (text, key) in [
        (
            RING.replace("[1439.5, 1439.5]", "[1e9, 1e9]"),
            "model.center",
        ),
        (
            RING.replace("radius_outer = 1411.2", "radius_outer = 1e308"),
            "model.radius_outer",
        ),
        (
            RING.replace("radius_inner = 492.5", "radius_inner = 1e7")
                .replace("radius_outer = 1411.2", "radius_outer = 2e7"),
            "model.radius_inner",
        ),
        (MEI.replace("xi = 1.05", "xi = 1e300"), "model.xi"),
        (
            MEI.replace("xi = 1.05", "xi = 1.05\nk1 = 1e308"),
            "model.k1",
        ),
        (
            MEI.replace("xi = 1.05", "xi = 1.05\np2 = -1e300"),
            "model.p2",
        ),
        (MEI.replace("fx = 408.9", "fx = 1e300"), "model.fx"),
        (MEI.replace("cy = 431.9", "cy = -1e9"), "model.cy"),
        (
            format!("{MEI}\n[band]\nelevation_min_deg = 80\nelevation_max_deg = 89\n"),
            "band",
        ),
    ] {
        let msg = file_error(f, &text, key);
        assert!(
            msg.contains("1280×960 frame") || msg.contains("2880×2880 frame"),
            "{msg}"
        );
        assert!(
            msg.contains("elevation range") || msg.contains("square degrees"),
            "{msg}"
        );
        assert!(msg.ends_with("this value is the likely cause"), "{msg}");
    }
    let msg = file_error(
        f,
        &RING.replace("[1439.5, 1439.5]", "[1e9, 1e9]"),
        "model.center",
    );
    assert!(msg.contains("no pixel of the 2880×2880 frame"), "{msg}");
    assert!(msg.contains("-55.0°..60.0°"), "{msg}");

    let yaml = |from: &str, to: &str| YAML.replace(from, to);
    let f = "omni.yml";
    file_error(f, &yaml("-0.0083,", "1e308,"), "distortion_coefficients");
    file_error(f, &yaml("xi: 1.05", "xi: 1e300"), "xi");
    file_error(f, &yaml("630.3,", "1e9,"), "camera_matrix");

    let text = std::fs::read_to_string(repo("tests/fixtures/ocam_calib_results.txt")).unwrap();
    let f = "calib_results.txt";
    file_error(f, &text.replace("431.915630", "1e9"), "center");
    file_error(
        f,
        &text.replace("1.003855 0.000500 -0.001552", "1e300 0 0"),
        "affine",
    );
}

#[test]
fn sizes_and_angles_beyond_the_limits_are_refused() {
    use omnidewarp::model::MAX_IMAGE_SIDE;
    assert_eq!(MAX_IMAGE_SIDE, 32768);
    let f = "calib.toml";
    let msg = file_error(
        f,
        &RING.replace("[2880, 2880]", "[1000000000, 1000000000]"),
        "image_size",
    );
    assert!(msg.contains("larger than 32768 pixels a side"), "{msg}");
    file_error(
        f,
        &RING.replace("[2880, 2880]", "[32769, 2880]"),
        "image_size",
    );
    let msg = file_error(
        f,
        &RING.replace(
            "elevation_outer_deg = 60.0",
            "elevation_outer_deg = 60.0\nheading_at_top_deg = 1e300",
        ),
        "model.heading_at_top_deg",
    );
    assert!(msg.contains("within ±1e6°"), "{msg}");
    file_error(
        f,
        &format!("{MEI}\n[mount]\nheading_at_top_deg = -1.5e6\n"),
        "mount.heading_at_top_deg",
    );
    // The largest size itself is fine (a ring scaled up with it).
    let big = RING
        .replace("[2880, 2880]", "[32768, 32768]")
        .replace("[1439.5, 1439.5]", "[16383.5, 16383.5]")
        .replace("radius_outer = 1411.2", "radius_outer = 16000");
    assert!(Calibration::from_str_detect(&big, Path::new(f)).is_ok());

    // OCamCalib: the size 4·10⁹ used to panic with a capacity overflow in render-mirror.
    let text = std::fs::read_to_string(repo("tests/fixtures/ocam_calib_results.txt")).unwrap();
    let msg = file_error(
        "calib_results.txt",
        &text.replace("960 1280", "4000000000 4000000000"),
        "image_size",
    );
    assert!(msg.contains("32768"), "{msg}");
    // OpenCV: an inferred size too.
    let msg = file_error(
        "omni.yml",
        &YAML
            .replace("630.3", "1e6")
            .replace("image_width: 1280\nimage_height: 960\n", ""),
        "camera_matrix",
    );
    assert!(msg.contains("principal point"), "{msg}");
    file_error(
        "omni.yml",
        &YAML.replace("image_width: 1280", "image_width: 100000"),
        "image_width",
    );
}

#[test]
fn what_is_valid_stays_valid() {
    // Every shipped and fixture calibration.
    for file in [
        "assets/synthetic_ring/ring_1440.toml",
        "assets/opencv_sample/sample_mei_calib.toml",
        "assets/opencv_sample/sample_mei_calib.yml",
        "tests/fixtures/ocam_calib_results.txt",
        "tests/fixtures/sample_mei_calib.xml",
        "tests/fixtures/sample_mei_calib_nosize.yml",
    ] {
        let cal = Calibration::load(&repo(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        cal.validate().unwrap();
    }
    let path = Path::new("calib.toml");
    // ξ = 0 is a pinhole (nadir: the centre sees straight down).
    let pinhole = MEI.replace("xi = 1.05", "xi = 0.0");
    Calibration::from_str_detect(&pinhole, path).unwrap();
    // A long lens still sees a few degrees: valid.
    let tele = pinhole
        .replace("fx = 408.9", "fx = 10000")
        .replace("fy = 410.5", "fy = 10000");
    Calibration::from_str_detect(&tele, path).unwrap();
    // Elevation falling from the centre outwards is a real mirror layout.
    let falling = RING
        .replace("elevation_inner_deg = -55.0", "elevation_inner_deg = 60.0")
        .replace("elevation_outer_deg = 60.0", "elevation_outer_deg = -55.0");
    let cal = Calibration::from_str_detect(&falling, path).unwrap();
    assert_eq!(
        cal.band,
        ElevationBand::new((-55f64).to_radians(), 60f64.to_radians()).ok()
    );
    // A ring partly outside the frame (a 16:9 sensor cutting the donut).
    let cut = RING
        .replace("[2880, 2880]", "[2880, 1620]")
        .replace("[1439.5, 1439.5]", "[1439.5, 809.5]");
    Calibration::from_str_detect(&cut, path).unwrap();
    // Headings of several turns and a narrow band.
    let turned = format!(
        "{MEI}\n[mount]\nheading_at_top_deg = 3600\n\n[band]\nelevation_min_deg = -35.5\nelevation_max_deg = -30\n"
    );
    Calibration::from_str_detect(&turned, path).unwrap();
}

#[test]
fn scaled_to_validates_and_warns_on_a_stretch() {
    warnings::install();
    let mei = sample_yaml();
    // Another aspect ratio: scaled, with one warning line naming both sizes.
    let before = warnings::take();
    drop(before);
    let stretched = mei.scaled_to(1280, 720).unwrap();
    assert_eq!(stretched.image_size, (1280, 720));
    let logged = warnings::take();
    let line = logged
        .iter()
        .find(|l| l.contains("1280×960") && l.contains("1280×720"))
        .unwrap_or_else(|| panic!("no warning naming both sizes in {logged:?}"));
    assert!(!line.contains('\n'), "{line}");
    // The same aspect: no warning.
    mei.scaled_to(640, 480).unwrap();
    assert!(
        !warnings::take().iter().any(|l| l.contains("640×480")),
        "warned on a plain scale"
    );
    // More than 4× between the axes cannot be the same camera.
    let err = mei.scaled_to(1280, 200).unwrap_err();
    assert!(err.to_string().contains("at most 4×"), "{err}");
    let ocam = ocam_fixture();
    ocam.scaled_to(1280, 720).unwrap();
    assert!(ocam.scaled_to(200, 960).is_err());
    // A ring cannot be stretched at all.
    let ring = ring_calibration(false);
    assert!(ring.scaled_to(2880, 2000).is_err());
    // Frame sizes have the calibration's limits, and a struct built by hand is checked too.
    assert!(ring.scaled_to(40000, 40000).is_err());
    let mut broken = ring.clone();
    broken.image_size = (0, 5);
    assert!(broken.scaled_to(100, 100).is_err());
    let CameraModel::Ring(r) = &mut broken.model else {
        unreachable!()
    };
    r.center = DVec2::new(1e9, 0.0);
    broken.image_size = (2880, 2880);
    let err = broken.scaled_to(2880, 2880).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { name, .. } if name == "center"),
        "{err:?}"
    );
}

/// A logger that keeps `omnidewarp`'s warnings for the tests to read.
mod warnings {
    use std::sync::Mutex;

    static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Keep;

    impl log::Log for Keep {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::Level::Warn
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                LINES.lock().unwrap().push(record.args().to_string());
            }
        }
        fn flush(&self) {}
    }

    pub fn install() {
        if log::set_logger(&Keep).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    }

    pub fn take() -> Vec<String> {
        std::mem::take(&mut LINES.lock().unwrap())
    }
}

// --- files and parsers: size caps, duplicates, other models, nesting -----------------------

#[test]
fn calibration_files_are_read_with_a_size_cap() {
    use omnidewarp::calib::MAX_FILE_BYTES;
    assert_eq!(MAX_FILE_BYTES, 1 << 20);
    // An endless file: refused after MAX_FILE_BYTES + 1 bytes, not read whole.
    let err = Calibration::load(Path::new("/dev/zero")).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::CalibrationFile { key: None, .. }),
        "{err:?}"
    );
    assert!(msg.starts_with("/dev/zero: larger than 1 MiB"), "{msg}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calib_cap");
    std::fs::create_dir_all(&dir).unwrap();
    // Exactly at the limit loads; one byte more does not.
    let mut text = RING.to_owned();
    let pad = MAX_FILE_BYTES as usize - text.len();
    text.push('#');
    text.push_str(&" ".repeat(pad - 2));
    text.push('\n');
    assert_eq!(text.len() as u64, MAX_FILE_BYTES);
    let at = dir.join("at_limit.toml");
    std::fs::write(&at, &text).unwrap();
    Calibration::load(&at).unwrap();
    text.insert(text.len() - 1, ' ');
    let over = dir.join("over_limit.toml");
    std::fs::write(&over, &text).unwrap();
    let msg = Calibration::load(&over).unwrap_err().to_string();
    assert!(msg.contains("over_limit.toml: larger than 1 MiB"), "{msg}");
}

#[test]
fn duplicate_keys_and_other_models_are_errors() {
    let f = "omni.yml";
    let msg = file_error(f, &format!("{YAML}xi: 2.0\n"), "xi");
    assert!(msg.contains("appears twice"), "{msg}");
    let msg = file_error(
        f,
        &YAML.replace("   cols: 3\n", "   cols: 3\n   rows: 3\n"),
        "camera_matrix",
    );
    assert!(msg.contains("`rows` appears twice"), "{msg}");
    for other in ["fisheye", "KANNALA_BRANDT", "pinhole-radtan", "scaramuzza"] {
        let msg = file_error(f, &format!("{YAML}model: {other}\n"), "model");
        assert!(msg.contains(&format!("\"{other}\"")), "{msg}");
    }
    file_error(f, &format!("{YAML}model_type: PINHOLE\n"), "model_type");
    file_error(f, &format!("{YAML}camera_model: ds\n"), "camera_model");
    for mei in ["mei_unified_cv_omnidir", "MEI", "omni", "omnidir"] {
        let text = format!("{YAML}model: {mei}\n");
        Calibration::from_str_detect(&text, Path::new(f)).unwrap();
    }

    let xml = std::fs::read_to_string(repo("tests/fixtures/sample_mei_calib.xml")).unwrap();
    let f = "omni.xml";
    let msg = file_error(
        f,
        &xml.replace("</opencv_storage>", "<xi>2.0</xi>\n</opencv_storage>"),
        "xi",
    );
    assert!(msg.contains("appears twice"), "{msg}");
    file_error(
        f,
        &xml.replace(
            "</opencv_storage>",
            "<model>fisheye</model>\n</opencv_storage>",
        ),
        "model",
    );
    file_error(
        f,
        &xml.replacen("<cols>3</cols>", "<cols>3</cols><cols>3</cols>", 1),
        "camera_matrix",
    );
    // TOML rejects a key given twice by itself.
    let err = Calibration::from_str_detect(
        &MEI.replace("xi = 1.05", "xi = 1.05\nxi = 2"),
        Path::new("c.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not valid TOML"), "{err}");
}

#[test]
fn deep_nesting_is_a_clean_error() {
    let path = Path::new("deep");
    // XML: 1.4 million nested elements (10 MB), refused at level 65 in one pass.
    let n = 1_430_000;
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<opencv_storage>\n{}{}\n</opencv_storage>\n",
        "<a>".repeat(n),
        "</a>".repeat(n)
    );
    assert!(xml.len() > 10_000_000);
    let msg = Calibration::from_str_detect(&xml, path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("nested deeper than 64"), "{msg}");
    // Wide instead of deep: many entries, still one pass (then the camera matrix is missing).
    let wide: String = (0..200_000)
        .map(|i| format!("<k{i}>{i}</k{i}>\n"))
        .collect();
    let msg = Calibration::from_str_detect(
        &format!("<opencv_storage>\n{wide}</opencv_storage>\n"),
        path,
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("`camera_matrix`: missing key"), "{msg}");
    // TOML: the toml crate refuses deep arrays, inline tables and dotted keys itself.
    for text in [
        format!(
            "{MEI}deep = {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
        format!(
            "{MEI}deep = {}1{}\n",
            "{a=".repeat(100_000),
            "}".repeat(100_000)
        ),
        format!("{}= 1\n{MEI}", "a.".repeat(100_000)),
    ] {
        let err = Calibration::from_str_detect(&text, path).unwrap_err();
        assert!(matches!(err, Error::CalibrationFile { .. }), "{err:?}");
    }
    // YAML: nested entries are skipped line by line, never descended into.
    let nested: String = (0..100_000)
        .map(|i| format!("{}a{i}:\n", " ".repeat(i % 1000 + 1)))
        .collect();
    Calibration::from_str_detect(&format!("{YAML}extra:\n{nested}"), path).unwrap();
}
