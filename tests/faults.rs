//! Faults seen from the command line: credentials never printed, whatever command or
//! argument they came in, and no GPU adapter falling back to the CPU with one line. (The
//! network faults — refused, silent, cancelled inputs — are in `tests/video/faults.rs`.)
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RING: &str = "assets/synthetic_ring/ring_1440.jpg";
const RING_CALIB: &str = "assets/synthetic_ring/ring_1440.toml";

fn asset(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A fresh folder under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("omnidewarp-faults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn omnidewarp(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("the binary runs")
}

/// Secrets of the URLs below, none of which may ever be printed.
const SECRETS: [&str; 6] = [
    "hunter22",
    "tok9999x",
    "s1gnat00",
    "hdrSecret77",
    "srtPass55",
    "bob",
];

/// A URL carrying a user, a password and two secret query values.
fn url(port: u16, path: &str) -> String {
    format!("http://bob:hunter22@127.0.0.1:{port}/{path}?token=tok9999x&sig=s1gnat00")
}

/// Credentials in a URL given to any command and argument — `detect`, `info`,
/// `render-mirror`, `export-map`, `--calib`, `-o`, a video input with `--header` and a
/// secret `--input-option`, a value clap refuses — never reach stderr or stdout (they were
/// printed by every error but the video input's).
#[test]
fn credentials_never_appear_in_any_command_or_argument() {
    let dir = TempDir::new("secrets");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ring, calib) = (asset(RING), asset(RING_CALIB));
    let image = url(port, "frame.jpg");
    let toml = url(port, "calib.toml");
    let out_png = url(port, "out.png");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("detect", vec!["detect", &image]),
        ("detect -o", vec!["detect", &ring, "-o", &toml]),
        ("info", vec!["info", &toml]),
        (
            "render-mirror --calib",
            vec!["render-mirror", &ring, "--calib", &toml, "-o", "m.png"],
        ),
        (
            "render-mirror input",
            vec!["render-mirror", &image, "--calib", &calib, "-o", "m.png"],
        ),
        (
            "export-map --calib",
            vec!["export-map", "--calib", &toml, "-o", "map"],
        ),
        (
            "convert --calib",
            vec!["convert", &ring, "--calib", &toml, "-o", "p.png"],
        ),
        (
            "convert -o",
            vec!["convert", &ring, "--calib", &calib, "-o", &out_png],
        ),
        (
            "convert --size (clap)",
            vec!["convert", &ring, "--size", &image, "-o", "p.png"],
        ),
        #[cfg(feature = "video")]
        (
            "convert video input",
            vec![
                "convert",
                &image,
                "--calib",
                &calib,
                "-o",
                "v.mp4",
                "--no-reconnect",
                "--header",
                "Authorization: Bearer hdrSecret77",
                "--input-option",
                "passphrase=srtPass55",
            ],
        ),
        #[cfg(feature = "video")]
        (
            "convert video input, no --calib",
            vec![
                "convert",
                &image,
                "-o",
                "v.mp4",
                "--header=X-Key: hdrSecret77",
            ],
        ),
    ];
    for (case, args) in cases {
        let out = omnidewarp(&dir, &args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{case}: {text}");
        assert!(!text.is_empty(), "{case}: says nothing");
        assert!(!text.contains("panicked"), "{case}: {text}");
        for secret in SECRETS {
            assert!(!text.contains(secret), "{case}: `{secret}` printed: {text}");
        }
        // What the user typed is still recognisable.
        assert!(
            text.contains("127.0.0.1") || text.contains("***"),
            "{case}: {text}"
        );
    }
    // Nothing was written where a URL was taken for a path, nor anywhere else.
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

/// With no graphics driver at all (Vulkan's loader pointed at no driver, wgpu kept to
/// Vulkan): `--backend auto` converts on the CPU, silently and with the CPU's very bytes,
/// even for an output large enough that a GPU would be tried; `--backend gpu` fails with
/// one line that names what to install, and writes nothing.
#[test]
fn without_a_gpu_auto_falls_back_to_the_cpu_and_gpu_says_what_to_install() {
    let dir = TempDir::new("no-gpu");
    let run = |backend: &str, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .args(["convert", &asset(RING), "--calib", &asset(RING_CALIB)])
            .args(["--projection", "equirect", "--size", "2048x1024"])
            .args(["--backend", backend, "-o", out])
            .current_dir(&dir.0)
            .env("VK_DRIVER_FILES", dir.0.join("none.json"))
            .env("VK_ICD_FILENAMES", dir.0.join("none.json"))
            .env("WGPU_BACKEND", "vulkan")
            .output()
            .expect("the binary runs")
    };
    for (backend, out) in [("auto", "auto.png"), ("cpu", "cpu.png")] {
        let result = run(backend, out);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(result.status.success(), "{backend}: {stderr}");
        assert!(stderr.trim().is_empty(), "{backend} printed: {stderr}");
    }
    let read = |name: &str| std::fs::read(dir.0.join(name)).unwrap();
    assert!(
        read("auto.png") == read("cpu.png"),
        "auto did not give the CPU's picture"
    );
    let result = run("gpu", "gpu.png");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].starts_with("omnidewarp: error: no GPU adapter found")
            && lines[0].contains("mesa-vulkan-drivers"),
        "{stderr}"
    );
    assert_eq!(dir.names(), ["auto.png", "cpu.png"], "gpu left a file");
}
