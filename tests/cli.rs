//! End-to-end tests of the `omnidewarp` binary: outputs, exit codes, messages, no stray files.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLE: &str = "assets/opencv_sample/sample.jpg";
const SAMPLE_CALIB: &str = "assets/opencv_sample/sample_mei_calib.toml";
const SAMPLE_YAML: &str = "assets/opencv_sample/sample_mei_calib.yml";

fn omnidewarp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omnidewarp-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn dims(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap()
}

fn assert_failure(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// No file in `dir` but the expected ones (no temporaries, no half-written output).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn convert_sample_with_defaults_and_every_projection() {
    let dir = temp_dir("convert");
    let out = dir.join("pano.png");
    let run = omnidewarp(&["convert", SAMPLE, "--calib", SAMPLE_CALIB, "-o", s(&out)]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(dims(&out), (4096, 2048));
    for (projection, size) in [
        ("equirect", "801x201"),
        ("cylinder", "640x161"),
        ("perspective", "321x181"),
        ("stereographic", "301x301"),
        ("double-panorama", "400x201"),
        ("quad", "321x181"),
    ] {
        let out = dir.join(format!("{projection}.jpg"));
        let run = omnidewarp(&[
            "convert",
            SAMPLE,
            "--calib",
            SAMPLE_YAML,
            "-o",
            s(&out),
            "--projection",
            projection,
            "--size",
            size,
            "--yaw",
            "-30",
            "--interp",
            "bicubic",
            "--fill",
            "ff0000",
        ]);
        assert!(
            run.status.success(),
            "{projection}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (w, h) = size.split_once('x').unwrap();
        assert_eq!(
            dims(&out),
            (w.parse().unwrap(), h.parse().unwrap()),
            "{projection}"
        );
    }
    let band = dir.join("band.png");
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "--band",
        "--size",
        "1024x0",
        "-o",
        s(&band),
    ]);
    assert_failure(&run, 2, "--size");
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "--band",
        "-o",
        s(&band),
    ]);
    assert!(run.status.success());
    let (w, h) = dims(&band);
    assert!(w == 4096 && h < 2048, "band panorama is {w}×{h}");
    assert!(!files_in(&dir).iter().any(|f| f.contains(".tmp")));
}

#[test]
fn error_paths_exit_with_codes_and_leave_no_output() {
    let dir = temp_dir("errors");
    let out = dir.join("out.png");
    // Runtime errors: exit 1.
    let run = omnidewarp(&[
        "convert",
        "no/such/frame.jpg",
        "--calib",
        SAMPLE_CALIB,
        "-o",
        s(&out),
    ]);
    assert_failure(&run, 1, "no/such/frame.jpg");
    let bad_calib = dir.join("bad.toml");
    std::fs::write(
        &bad_calib,
        "format = \"omnidewarp-calibration\"\nversion = 99\n",
    )
    .unwrap();
    let run = omnidewarp(&["convert", SAMPLE, "--calib", s(&bad_calib), "-o", s(&out)]);
    assert_failure(&run, 1, "version");
    let not_image = dir.join("text.png");
    std::fs::write(&not_image, "hello").unwrap();
    let run = omnidewarp(&[
        "convert",
        s(&not_image),
        "--calib",
        SAMPLE_CALIB,
        "-o",
        s(&out),
    ]);
    assert_eq!(run.status.code(), Some(1));
    // Usage errors: exit 2.
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "-o",
        s(&out),
        "--size",
        "big",
    ]);
    assert_failure(&run, 2, "--size");
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "-o",
        s(&out),
        "--projection",
        "perspective",
        "--fov",
        "200",
    ]);
    assert_failure(&run, 2, "fov");
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "-o",
        s(&dir.join("out.bmpx")),
    ]);
    assert_failure(&run, 2, "extension");
    let run = omnidewarp(&["convert", SAMPLE, "--calib", SAMPLE_CALIB, "-o", SAMPLE]);
    assert_failure(&run, 2, "input");
    let run = omnidewarp(&["convert"]);
    assert_eq!(run.status.code(), Some(2));
    // Output into a folder that does not exist: runtime error, nothing written.
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--calib",
        SAMPLE_CALIB,
        "--size",
        "64x32",
        "-o",
        s(&dir.join("missing/out.png")),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(files_in(&dir), vec!["bad.toml", "text.png"]);
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["convert", "render-mirror", "export-map", "info", "detect"] {
        let run = omnidewarp(&[sub, "--help"]);
        assert!(run.status.success(), "{sub}");
        assert!(
            String::from_utf8_lossy(&run.stdout).contains("Usage"),
            "{sub}"
        );
    }
}

#[test]
fn info_summarises_each_format() {
    let run = omnidewarp(&["info", SAMPLE_YAML]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout).to_lowercase();
    assert!(text.contains("mei") && text.contains("1280"), "{text}");
}

#[test]
fn render_mirror_then_convert_back() {
    let dir = temp_dir("render");
    let pano = dir.join("pano.png");
    image::RgbImage::from_fn(256, 128, |x, y| image::Rgb([x as u8, y as u8 * 2, 128]))
        .save(&pano)
        .unwrap();
    let calib = dir.join("ring.toml");
    std::fs::write(
        &calib,
        "format = \"omnidewarp-calibration\"\nversion = 1\nimage_size = [400, 400]\n\n[model]\ntype = \"ring\"\ncenter = [199.5, 199.5]\nradius_inner = 60.0\nradius_outer = 190.0\nelevation_inner_deg = -50.0\nelevation_outer_deg = 40.0\n",
    )
    .unwrap();
    let frame = dir.join("frame.png");
    let run = omnidewarp(&[
        "render-mirror",
        s(&pano),
        "--calib",
        s(&calib),
        "--size",
        "300x300",
        "-o",
        s(&frame),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(dims(&frame), (300, 300));
    let back = dir.join("back.png");
    let run = omnidewarp(&[
        "convert",
        s(&frame),
        "--calib",
        s(&calib),
        "--size",
        "256x128",
        "-o",
        s(&back),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Inside the band the red channel (= column) comes back where it was.
    let back = image::open(&back).unwrap().to_rgb8();
    let row = 64; // elevation ≈ 0, inside -50°..40°
    let err: f64 = (20..236u32)
        .map(|x| (f64::from(back.get_pixel(x, row)[0]) - f64::from(x)).abs())
        .sum::<f64>()
        / 216.0;
    assert!(err < 3.0, "mean column error {err}");
}

#[test]
fn export_map_writes_remap_tables() {
    let dir = temp_dir("map");
    let prefix = dir.join("view");
    let run = omnidewarp(&[
        "export-map",
        "--calib",
        SAMPLE_CALIB,
        "--frame-size",
        "640x480",
        "--projection",
        "perspective",
        "--size",
        "33x17",
        "-o",
        s(&prefix),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pgm = std::fs::read(dir.join("view_x.pgm")).unwrap();
    assert!(pgm.starts_with(b"P5\n33 17\n65535\n"));
    assert_eq!(pgm.len(), "P5\n33 17\n65535\n".len() + 33 * 17 * 2);
    let run = omnidewarp(&[
        "export-map",
        "--calib",
        SAMPLE_CALIB,
        "--frame-size",
        "640x480",
        "--size",
        "64x32",
        "--format",
        "npy",
        "-o",
        s(&prefix),
    ]);
    assert!(run.status.success());
    let npy = std::fs::read(dir.join("view_y.npy")).unwrap();
    assert!(npy.starts_with(b"\x93NUMPY\x01\x00"));
    let header_len = usize::from(u16::from_le_bytes([npy[8], npy[9]]));
    assert_eq!((10 + header_len) % 64, 0);
    assert!(String::from_utf8_lossy(&npy[10..10 + header_len]).contains("'shape': (32, 64)"));
    assert_eq!(npy.len(), 10 + header_len + 64 * 32 * 4);
    // Values: -1 or inside the frame.
    for v in npy[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
    {
        assert!(v == -1.0 || (-0.5..=479.5).contains(&v), "{v}");
    }
}

/// Also: where `XDG_RUNTIME_DIR` is unset (containers, SSH, CI) a successful run prints
/// nothing, though Mesa's Vulkan device-selection layer would complain twice.
#[cfg(feature = "gpu")]
#[test]
fn backends_agree_through_the_cli() {
    let dir = temp_dir("backends");
    let mut images = Vec::new();
    for backend in ["cpu", "gpu", "auto"] {
        let out = dir.join(format!("{backend}.png"));
        let run = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("NODEVICE_SELECT")
            .args([
                "convert",
                SAMPLE,
                "--calib",
                SAMPLE_CALIB,
                "--band",
                "--size",
                "640x151",
                "--backend",
                backend,
                "-o",
                s(&out),
            ])
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{backend}: {stderr}");
        assert!(stderr.trim().is_empty(), "{backend} printed: {stderr}");
        let img = image::open(&out).unwrap();
        assert!(
            matches!(img, image::DynamicImage::ImageRgb8(_)),
            "{backend}: the input's RGB layout is kept"
        );
        images.push(img.to_rgb8().into_raw());
    }
    let mse = images[0]
        .iter()
        .zip(&images[1])
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum::<f64>()
        / images[0].len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10();
    assert!(psnr >= 40.0, "CPU vs GPU through the CLI: {psnr:.1} dB");
}

#[test]
fn detect_writes_a_calibration_and_convert_detects_without_one() {
    let dir = temp_dir("detect");
    let calib = dir.join("ring.toml");
    let run = omnidewarp(&["detect", SAMPLE, "-o", s(&calib)]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("ring centre"));
    let text = std::fs::read_to_string(&calib).unwrap();
    assert!(
        text.contains("type = \"ring\"") && text.contains("image_size = [640, 480]"),
        "{text}"
    );
    let out = dir.join("auto.png");
    let run = omnidewarp(&[
        "convert",
        SAMPLE,
        "--band",
        "--size",
        "400x100",
        "--backend",
        "cpu",
        "-o",
        s(&out),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("detected ring"),
        "says so on stderr"
    );
    assert_eq!(dims(&out), (400, 100));
    // No mirror in a uniform picture: a clear error, exit 1, no output.
    let grey = dir.join("grey.png");
    image::GrayImage::from_pixel(320, 240, image::Luma([128]))
        .save(&grey)
        .unwrap();
    let none = dir.join("none.png");
    let run = omnidewarp(&["convert", s(&grey), "-o", s(&none)]);
    assert_failure(&run, 1, "no mirror ring found");
    assert!(!none.exists());
    let run = omnidewarp(&["detect", s(&grey)]);
    assert_failure(&run, 1, "no mirror ring found");
}

#[cfg(feature = "video")]
#[test]
fn video_without_calibration_detects_the_ring_in_its_first_frame() {
    let dir = temp_dir("video-detect");
    let clip = dir.join("ring.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            "assets/synthetic_ring/ring_1440.jpg",
        ])
        .args([
            "-vf",
            "scale=480:480",
            "-frames:v",
            "5",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&clip)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("the ffmpeg CLI runs");
    assert!(made.success());
    let out = dir.join("pano.mp4");
    let run = omnidewarp(&[
        "convert",
        s(&clip),
        "--band",
        "--size",
        "480x160",
        "-o",
        s(&out),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The ring of ring_1440.toml scaled to 480²: centre 239.5, radii 82.08 and 235.2.
    assert!(
        stderr.contains("ring detected in the first frame, ring centre (239.5, 239.5)"),
        "{stderr}"
    );
    assert!(out.exists());
}

#[test]
fn a_calibration_beside_the_input_serves_when_none_is_named() {
    let dir = temp_dir("sidecar");
    let input = dir.join("shot.jpg");
    std::fs::copy(SAMPLE, &input).unwrap();
    std::fs::copy(SAMPLE_CALIB, dir.join("shot.omnidewarp.toml")).unwrap();
    let flags = ["--size", "300x100", "--backend", "cpu"];
    let named = dir.join("named.png");
    let run = omnidewarp(
        &[
            &[
                "convert",
                s(&input),
                "--calib",
                SAMPLE_CALIB,
                "-o",
                s(&named),
            ][..],
            &flags,
        ]
        .concat(),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let beside = dir.join("beside.png");
    let run = omnidewarp(&[&["convert", s(&input), "-o", s(&beside)][..], &flags].concat());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("shot.omnidewarp.toml (beside the input)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&named).unwrap(),
        std::fs::read(&beside).unwrap()
    );
    // A broken sidecar is an error that names it, not a silent detection.
    std::fs::write(dir.join("shot.omnidewarp.toml"), "version = 99\n").unwrap();
    let run = omnidewarp(&["convert", s(&input), "-o", s(&dir.join("x.png"))]);
    assert_failure(&run, 1, "shot.omnidewarp.toml");
}
