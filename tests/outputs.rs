//! Nothing lost: every output of the `omnidewarp` binary is complete or absent, an existing
//! file at the output path survives every failure, and no temporary is left — after a
//! refused encoder, a full disk (a file size limit, `ulimit -f`, which works with or without
//! root), a folder in the way, and Ctrl-C / SIGTERM (once or twice).
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SAMPLE: &str = "assets/opencv_sample/sample.jpg";
const SAMPLE_CALIB: &str = "assets/opencv_sample/sample_mei_calib.toml";
const RING: &str = "assets/synthetic_ring/ring_1440.jpg";
#[cfg(feature = "video")]
const RING_CALIB: &str = "assets/synthetic_ring/ring_1440.toml";

/// What an existing output file holds before a run that must not change it.
const PRECIOUS: &[u8] = b"an existing file the user wants to keep\n";

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("omnidewarp-outputs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Every name in the folder, sorted (temporaries are hidden files: they show here).
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Asserts the folder holds exactly `expected` (no temporary, no stray output).
    fn assert_holds(&self, expected: &[&str], context: &str) {
        let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(self.names(), expected, "{context}");
    }

    fn precious(&self, name: &str) {
        std::fs::write(self.join(name), PRECIOUS).unwrap();
    }

    fn assert_precious(&self, name: &str, context: &str) {
        assert_eq!(
            std::fs::read(self.join(name)).unwrap(),
            PRECIOUS,
            "{name} changed: {context}"
        );
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn asset(name: &str) -> String {
    root().join(name).to_string_lossy().into_owned()
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
}

/// Runs the binary in `dir`.
fn omnidewarp(dir: &TempDir, args: &[&str]) -> Output {
    binary()
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("the binary runs")
}

/// Runs the binary in `dir` with files limited to `kib` KiB (RLIMIT_FSIZE, as a full disk
/// would stop it) and SIGXFSZ ignored, so a write past the limit fails with EFBIG.
fn omnidewarp_with_file_limit(dir: &TempDir, kib: u64, args: &[&str]) -> Output {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f {kib} && trap '' XFSZ && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("bash runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("ulimit"),
        "cannot set the file size limit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 1, an error line containing `needle`, no panic.
fn assert_fails(out: &Output, needle: &str) {
    let e = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains(needle), "`{needle}` not in: {e}");
    assert!(!e.contains("panicked"), "{e}");
}

/// Sends `signal` (`INT`, `TERM`) to a child.
fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{signal} failed");
}

/// Waits until a temporary for the output `stem` exists in `dir` (the output is being
/// written), or panics after a minute.
fn wait_for_temporary(dir: &TempDir, child: &mut Child, stem: &str) {
    let prefix = format!(".{stem}.");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.names().iter().any(|n| n.starts_with(&prefix)) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("finished ({status}) before its output was being written");
        }
        assert!(
            Instant::now() < deadline,
            "no temporary for {stem} appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits for a signalled child, with a deadline.
fn wait_output(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("process {pid} did not end within a minute of the signal"))
        .unwrap()
}

fn spawn(dir: &TempDir, args: &[&str]) -> Child {
    binary()
        .args(args)
        .current_dir(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

#[test]
fn a_full_disk_leaves_stills_maps_and_calibrations_as_they_were() {
    let dir = TempDir::new("disk-stills");
    for name in ["pano.png", "pano.jpg", "map_x.pgm", "ring.toml"] {
        dir.precious(name);
    }
    let all = ["pano.png", "pano.jpg", "map_x.pgm", "ring.toml"];
    let (sample, calib) = (asset(SAMPLE), asset(SAMPLE_CALIB));
    for name in ["pano.png", "pano.jpg"] {
        let out = omnidewarp_with_file_limit(
            &dir,
            16,
            &[
                "convert",
                &sample,
                "--calib",
                &calib,
                "-o",
                name,
                "--backend",
                "cpu",
            ],
        );
        assert_fails(&out, "File too large");
        assert!(stderr(&out).contains(name), "{}", stderr(&out));
        dir.assert_precious(name, &stderr(&out));
        dir.assert_holds(&all, name);
    }
    // Tables within the limit are written; larger ones are not, and leave what was there.
    let export = |prefix: &str, size: &str| {
        let args = [
            "export-map",
            "--calib",
            &calib,
            "-o",
            prefix,
            "--size",
            size,
        ];
        omnidewarp_with_file_limit(&dir, 100, &args)
    };
    let out = export("small", "200x128");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = [&all[..], &["small_x.pgm", "small_y.pgm"]].concat();
    dir.assert_holds(&all, "a small map");
    let out = export("map", "400x200");
    assert_fails(&out, "File too large");
    dir.assert_precious("map_x.pgm", &stderr(&out));
    dir.assert_holds(&all, "map");
    // A calibration export.
    let out = omnidewarp_with_file_limit(&dir, 0, &["detect", &asset(RING), "-o", "ring.toml"]);
    assert_fails(&out, "ring.toml");
    dir.assert_precious("ring.toml", &stderr(&out));
    dir.assert_holds(&all, "detect");
}

#[test]
fn a_map_whose_second_table_cannot_be_written_writes_neither() {
    let dir = TempDir::new("map-pair");
    dir.precious("m_x.pgm");
    std::fs::create_dir(dir.join("m_y.pgm")).unwrap();
    let calib = asset(SAMPLE_CALIB);
    let args = [
        "export-map",
        "--calib",
        &calib,
        "-o",
        "m",
        "--size",
        "64x32",
    ];
    let out = omnidewarp(&dir, &args);
    assert_fails(&out, "m_y.pgm");
    dir.assert_precious("m_x.pgm", &stderr(&out));
    dir.assert_holds(&["m_x.pgm", "m_y.pgm"], "a folder in the way of m_y.pgm");
    // The same with nothing in the way writes both.
    std::fs::remove_dir(dir.join("m_y.pgm")).unwrap();
    let out = omnidewarp(&dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    for axis in ["x", "y"] {
        let bytes = std::fs::read(dir.join(&format!("m_{axis}.pgm"))).unwrap();
        assert!(bytes.starts_with(b"P5\n64 32\n65535\n"), "m_{axis}.pgm");
        assert_eq!(bytes.len(), 15 + 64 * 32 * 2, "m_{axis}.pgm");
    }
    dir.assert_holds(&["m_x.pgm", "m_y.pgm"], "both tables");
}

#[test]
fn a_signal_while_a_still_is_written_removes_it() {
    let dir = TempDir::new("signal-still");
    dir.precious("big.png");
    let (sample, calib) = (asset(SAMPLE), asset(SAMPLE_CALIB));
    // A large PNG takes a while to encode: the signal lands while it is being written.
    let args = [
        "convert",
        &sample,
        "--calib",
        &calib,
        "-o",
        "big.png",
        "--size",
        "8192x4096",
        "--backend",
        "cpu",
    ];
    for sig in ["INT", "TERM"] {
        let mut child = spawn(&dir, &args);
        wait_for_temporary(&dir, &mut child, "big");
        signal(&child, sig);
        let out = wait_output(child);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {e}");
        assert!(
            e.contains("the partial output was discarded"),
            "SIG{sig}: {e}"
        );
        assert_eq!(e.lines().count(), 1, "SIG{sig}: {e}");
        dir.assert_precious("big.png", &e);
        dir.assert_holds(&["big.png"], &format!("SIG{sig}: {e}"));
    }
}

#[cfg(feature = "video")]
mod video {
    use super::*;

    /// A folder with `calib.toml` (the shipped ring's, scaled to the clip) and a
    /// `frames`-frame 240² H.264 clip `clip.mp4`.
    fn setup(tag: &str, frames: u32) -> TempDir {
        let dir = TempDir::new(tag);
        std::fs::copy(root().join(RING_CALIB), dir.join("calib.toml")).unwrap();
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-f", "lavfi", "-i", "testsrc=size=240x240:rate=25"])
            .args(["-frames:v", &frames.to_string()])
            .args("-c:v libx264 -preset ultrafast -pix_fmt yuv420p".split(' '))
            .arg(dir.join("clip.mp4"))
            .output()
            .expect("the ffmpeg CLI must be installed");
        assert!(out.status.success(), "{}", stderr(&out));
        dir
    }

    /// Video frames in a file, per ffprobe (which must read it).
    fn frames_in(path: &Path) -> u64 {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .expect("ffprobe must be installed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
        // The first field of the first line (side data may follow).
        text.split([',', '\n'])
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: no frame count in {text:?}", path.display()))
    }

    const CONVERT: [&str; 6] = [
        "convert",
        "clip.mp4",
        "--calib",
        "calib.toml",
        "--backend",
        "cpu",
    ];

    /// `convert clip.mp4` on the CPU with `extra` flags, 320×160 unless they give a size.
    fn convert_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let size: &[&str] = if extra.contains(&"--size") {
            &[]
        } else {
            &["--size", "320x160"]
        };
        [&CONVERT[..], size, extra].concat()
    }

    #[test]
    fn refused_encoder_settings_leave_an_existing_video_as_it_was() {
        let dir = setup("refused", 10);
        dir.precious("out.mp4");
        let inputs = ["calib.toml", "clip.mp4", "out.mp4"];
        for (extra, needle) in [
            (&["--codec", "nosuch"][..], "no encoder `nosuch`"),
            (&["--preset", "nosuch"][..], "no preset `nosuch`"),
            (&["--codec", "png"][..], "does not take yuv420p"),
            (&["--codec", "pcm_s16le"][..], "out.mp4"),
        ] {
            let out = omnidewarp(
                &dir,
                &convert_args(&[&["-o", "out.mp4"][..], extra].concat()),
            );
            assert_fails(&out, needle);
            assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
            dir.assert_precious("out.mp4", &stderr(&out));
            dir.assert_holds(&inputs, needle);
        }
    }

    #[test]
    fn a_full_disk_during_a_video_leaves_the_existing_file() {
        let dir = setup("disk-video", 30);
        dir.precious("out.mp4");
        dir.precious("out.mov");
        dir.precious("f_01.png");
        let inputs = ["calib.toml", "clip.mp4", "out.mp4", "out.mov", "f_01.png"];
        // A write failing mid-stream (large lossless frames without lookahead), and the
        // trailer failing (small frames the encoder and the muxer still hold at the end).
        for (name, kib, extra, needle) in [
            (
                "out.mp4",
                64,
                &["--size", "1024x512", "--preset", "ultrafast"][..],
                "writing failed: File too large",
            ),
            (
                "out.mov",
                16,
                &[][..],
                "cannot write the trailer: File too large",
            ),
        ] {
            let args = [&["-o", name, "--crf", "0"][..], extra].concat();
            let out = omnidewarp_with_file_limit(&dir, kib, &convert_args(&args));
            assert_fails(&out, needle);
            assert!(
                stderr(&out).contains("frames converted were discarded"),
                "{}",
                stderr(&out)
            );
            dir.assert_precious(name, &stderr(&out));
            dir.assert_holds(&inputs, name);
        }
        // An image sequence: the frame that does not fit is not left half-written.
        let out = omnidewarp_with_file_limit(&dir, 8, &convert_args(&["-o", "f_%02d.png"]));
        assert_fails(&out, "File too large");
        dir.assert_precious("f_01.png", &stderr(&out));
        dir.assert_holds(&inputs, "image sequence");
        // Without the limit the same conversion works.
        let out = omnidewarp(&dir, &convert_args(&["-o", "out.mp4", "--crf", "0"]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(frames_in(&dir.join("out.mp4")), 30);
        dir.assert_holds(&inputs, "unlimited");
    }

    #[test]
    fn signals_finalise_a_video_once_and_discard_it_twice() {
        let dir = setup("signal-video", 400);
        let inputs = ["calib.toml", "clip.mp4", "out.mp4"];
        // One SIGTERM: the output is finalised with what was converted, and plays. Large
        // frames, so that the 400 take seconds: small ones (0.3 s in all on the CI machine)
        // could finish before the signal.
        dir.precious("out.mp4");
        let args = convert_args(&[
            "-o",
            "out.mp4",
            "--preset",
            "ultrafast",
            "--size",
            "1024x512",
        ]);
        let mut child = spawn(&dir, &args);
        wait_for_temporary(&dir, &mut child, "out");
        std::thread::sleep(Duration::from_millis(300));
        signal(&child, "TERM");
        let out = wait_output(child);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{e}");
        assert!(
            e.contains("interrupted; wrote") && e.contains("finalised"),
            "{e}"
        );
        let n = frames_in(&dir.join("out.mp4"));
        assert!(n > 0 && n < 400, "{n} frames: {e}");
        dir.assert_holds(&inputs, &e);

        // Two Ctrl-C: the unfinished file is discarded and the existing one kept, or — if
        // finalising won the race — the output is complete and plays. Large frames through
        // x264's default lookahead make finalising (flushing ~40 frames) take a while, and
        // the pause between the signals keeps them from merging into one.
        dir.precious("out.mp4");
        let mut child = spawn(
            &dir,
            &convert_args(&["-o", "out.mp4", "--size", "1024x512"]),
        );
        wait_for_temporary(&dir, &mut child, "out");
        std::thread::sleep(Duration::from_millis(300));
        signal(&child, "INT");
        std::thread::sleep(Duration::from_millis(30));
        signal(&child, "INT");
        let out = wait_output(child);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{e}");
        assert!(!e.contains("panicked"), "{e}");
        eprintln!("two Ctrl-C: {e}");
        if e.contains("interrupted again: the partial output was discarded") {
            dir.assert_precious("out.mp4", &e);
        } else {
            let n = frames_in(&dir.join("out.mp4"));
            assert!(n > 0 && e.contains("finalised"), "{n} frames: {e}");
        }
        dir.assert_holds(&inputs, &e);
    }
}
