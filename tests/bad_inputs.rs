//! Bad inputs through the CLI (issue 12): each case is made here from the assets (a
//! calibration with one field made absurd, a damaged image, a bad flag) and run against the
//! binary. Each must fail with exit 1 or 2 and one `omnidewarp: error:` line naming the
//! problem (a usage error may add one `omnidewarp: hint:` line), never panic, leave no
//! output or temporary file, leave an existing output and the inputs unchanged.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLE: &str = "assets/opencv_sample/sample.jpg";
const MEI_TOML: &str = "assets/opencv_sample/sample_mei_calib.toml";
const MEI_YAML: &str = "assets/opencv_sample/sample_mei_calib.yml";
const RING_TOML: &str = "assets/synthetic_ring/ring_1440.toml";
const OCAM: &str = "tests/fixtures/ocam_calib_results.txt";

fn asset(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(asset(path)).unwrap()
}

/// `text` with the first line starting with `prefix` replaced by `line`.
fn with_line(text: &str, prefix: &str, line: &str) -> String {
    let mut done = false;
    let out: Vec<&str> = text
        .lines()
        .map(|l| {
            if !done && l.trim_start().starts_with(prefix) {
                done = true;
                line
            } else {
                l
            }
        })
        .collect();
    assert!(done, "no line starting with `{prefix}`");
    out.join("\n") + "\n"
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One case: the files it writes into its folder, the arguments (`{dir}` is the folder),
/// and a word the error line must contain.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<String>,
    needle: &'static str,
}

fn case(
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: &[&str],
    needle: &'static str,
) -> Case {
    Case {
        name,
        files,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        needle,
    }
}

/// A calibration case: `calib.EXT` holds `text`; `convert` of the sample with it.
fn calib_case(name: &'static str, file: &'static str, text: String, needle: &'static str) -> Case {
    case(
        name,
        vec![(file, text.into_bytes())],
        &[
            "convert",
            SAMPLE,
            "--calib",
            &format!("{{dir}}/{file}"),
            "--size",
            "64x32",
            "-o",
            "{dir}/out.png",
        ],
        needle,
    )
}

fn cases() -> Vec<Case> {
    let (ring, mei, yaml, ocam) = (read(RING_TOML), read(MEI_TOML), read(MEI_YAML), read(OCAM));
    let jpeg = std::fs::read(asset(SAMPLE)).unwrap();
    let mut cases = vec![
        // Calibrations that cannot describe the camera in this frame.
        calib_case(
            "ring centre 1e9 px away",
            "c.toml",
            with_line(&ring, "center", "center = [1e9, 719.5]"),
            "model.center",
        ),
        calib_case(
            "ring outer radius 1e308",
            "c.toml",
            with_line(&ring, "radius_outer", "radius_outer = 1e308"),
            "model.radius_outer",
        ),
        calib_case(
            "mei k1 1e308",
            "c.toml",
            with_line(&mei, "k1", "k1 = 1e308"),
            "model.k1",
        ),
        calib_case(
            "mei xi 1e300",
            "c.toml",
            with_line(&mei, "xi", "xi = 1e300"),
            "model.xi",
        ),
        calib_case(
            "mei fx nan",
            "c.toml",
            with_line(&mei, "fx", "fx = nan"),
            "model.fx",
        ),
        calib_case(
            "yaml names another model",
            "c.yml",
            with_line(&yaml, "model:", "model: kannala_brandt"),
            "kannala_brandt",
        ),
        calib_case(
            "yaml duplicate xi",
            "c.yml",
            with_line(&yaml, "xi:", "xi: 1.05\nxi: 2.0"),
            "twice",
        ),
        calib_case(
            "ocamcalib size 4e9",
            "c.txt",
            with_line(&ocam, "960 1280", "4000000000 4000000000"),
            "image_size",
        ),
        calib_case(
            "ocamcalib 40 coefficients",
            "c.txt",
            with_line(&ocam, "5 -1.99", &format!("40 -199.0{}", " 0.0".repeat(39))),
            "pol",
        ),
        calib_case("empty calibration", "c.toml", String::new(), "c.toml"),
        // render-mirror from a calibration made at 10⁹ px, and at 32768 px (allowed for a
        // calibration, above the output limit): refused before allocating.
        case(
            "render-mirror at 1e9 px",
            vec![(
                "c.toml",
                with_line(&ring, "image_size", "image_size = [1000000000, 1000000000]")
                    .into_bytes(),
            )],
            &[
                "render-mirror",
                SAMPLE,
                "--calib",
                "{dir}/c.toml",
                "-o",
                "{dir}/out.png",
            ],
            "image_size",
        ),
        case(
            "render-mirror at 32768 px",
            vec![(
                "c.toml",
                [
                    ("image_size", "image_size = [32768, 32768]"),
                    ("center", "center = [16383.5, 16383.5]"),
                    ("radius_inner", "radius_inner = 5000"),
                    ("radius_outer", "radius_outer = 16000"),
                ]
                .iter()
                .fold(ring.clone(), |t, (key, line)| with_line(&t, key, line))
                .into_bytes(),
            )],
            &[
                "render-mirror",
                SAMPLE,
                "--calib",
                "{dir}/c.toml",
                "-o",
                "{dir}/out.png",
            ],
            "16384",
        ),
        // Images.
        case(
            "zero-byte image",
            vec![("in.jpg", Vec::new())],
            &[
                "convert",
                "{dir}/in.jpg",
                "--calib",
                MEI_TOML,
                "-o",
                "{dir}/out.png",
            ],
            "empty",
        ),
        case(
            "image header only",
            vec![("in.jpg", jpeg[..400].to_vec())],
            &[
                "convert",
                "{dir}/in.jpg",
                "--calib",
                MEI_TOML,
                "-o",
                "{dir}/out.png",
            ],
            "in.jpg",
        ),
        case(
            "png claiming 100000×100000",
            vec![("in.png", png_header(100_000, 100_000))],
            &[
                "convert",
                "{dir}/in.png",
                "--calib",
                MEI_TOML,
                "-o",
                "{dir}/out.png",
            ],
            "in.png",
        ),
        case(
            "not an image",
            vec![("in.jpg", b"hello".to_vec())],
            &["detect", "{dir}/in.jpg"],
            "in.jpg",
        ),
        // Calibration files that are not calibration files.
        case(
            "calibration /dev/zero",
            vec![],
            &["info", "/dev/zero"],
            "larger than 1 MiB",
        ),
        case("calibration is a folder", vec![], &["info", "{dir}"], ""),
    ];
    // Usage errors: one line and one hint, exit 2.
    for (name, args, needle) in [
        (
            "unknown flag",
            &["convert", SAMPLE, "-o", "{dir}/out.png", "--foo"][..],
            "--foo",
        ),
        ("missing arguments", &["convert"][..], "--output"),
        (
            "bad projection",
            &[
                "convert",
                SAMPLE,
                "-o",
                "{dir}/out.png",
                "--projection",
                "x",
            ][..],
            "--projection",
        ),
        (
            "size 0x0",
            &["convert", SAMPLE, "-o", "{dir}/out.png", "--size", "0x0"][..],
            "--size",
        ),
        (
            "size above the limit",
            &[
                "convert",
                SAMPLE,
                "-o",
                "{dir}/out.png",
                "--size",
                "99999x2",
            ][..],
            "16384",
        ),
        (
            "angle nan",
            &["convert", SAMPLE, "-o", "{dir}/out.png", "--yaw", "nan"][..],
            "--yaw",
        ),
        ("unknown command", &["frobnicate"][..], "frobnicate"),
        (
            "output extension",
            &[
                "convert",
                SAMPLE,
                "--calib",
                MEI_TOML,
                "-o",
                "{dir}/out.bmp",
            ][..],
            "extension",
        ),
    ] {
        cases.push(case(name, vec![], args, needle));
    }
    cases
}

/// The first bytes of a PNG whose header claims `width × height`.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn run(args: &[String], dir: &Path) -> std::process::Output {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{dir}", dir.to_str().unwrap()))
        .collect();
    Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

#[test]
fn every_bad_input_fails_cleanly() {
    let root = std::env::temp_dir().join(format!("omnidewarp-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let inputs_before: Vec<Vec<u8>> = [SAMPLE, MEI_TOML, RING_TOML]
        .iter()
        .map(|p| std::fs::read(asset(p)).unwrap())
        .collect();
    let mut failures = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        let dir = root.join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &case.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        // An existing output must stay as it was.
        std::fs::write(dir.join("out.png"), b"old").unwrap();
        let before = names_in(&dir);
        let out = run(&case.args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let lines: Vec<&str> = stderr.lines().collect();
        let errors = lines
            .iter()
            .filter(|l| l.starts_with("omnidewarp: error: "))
            .count();
        let hints = lines
            .iter()
            .filter(|l| l.starts_with("omnidewarp: hint: "))
            .count();
        let code = out.status.code();
        let ok = matches!(code, Some(1 | 2))
            && errors == 1
            && lines.len() == 1 + hints
            && hints <= usize::from(code == Some(2))
            && stderr.contains(case.needle)
            && !stderr.contains("panicked")
            && names_in(&dir) == before
            && std::fs::read(dir.join("out.png")).unwrap() == b"old";
        if !ok {
            failures.push(format!("{}: exit {code:?}: {stderr}", case.name));
        }
    }
    let inputs_after: Vec<Vec<u8>> = [SAMPLE, MEI_TOML, RING_TOML]
        .iter()
        .map(|p| std::fs::read(asset(p)).unwrap())
        .collect();
    assert!(inputs_before == inputs_after, "an input changed");
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A JPEG cut in half converts with a one-line warning naming the damage (the decoder greys
/// out the rest); a bit-flipped one converts or fails, never panics.
#[test]
fn damaged_images_are_said() {
    let dir = std::env::temp_dir().join(format!("omnidewarp-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let jpeg = std::fs::read(asset(SAMPLE)).unwrap();
    std::fs::write(dir.join("half.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let mut flipped = jpeg.clone();
    for i in (600..flipped.len()).step_by(997) {
        flipped[i] ^= 0x10;
    }
    std::fs::write(dir.join("flip.jpg"), &flipped).unwrap();
    for (input, warns) in [("half.jpg", true), ("flip.jpg", false)] {
        let args: Vec<String> = [
            "convert",
            &format!("{{dir}}/{input}"),
            "--calib",
            MEI_TOML,
            "--size",
            "64x32",
            "-o",
            "{dir}/out.png",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        let out = run(&args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{input}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{input}: {stderr}"
        );
        if warns {
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with("omnidewarp: warn: ") && stderr.contains("cut short"),
                "{stderr}"
            );
        }
        let _ = std::fs::remove_file(dir.join("out.png"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
