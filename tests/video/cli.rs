//! The command line on videos: flags, one-line errors, Ctrl-C on a live recording.

use crate::common::*;
use crate::live::*;
use std::io::{BufRead, BufReader};
use std::process::Output;

/// Writes the 240² ring calibration of the test clips to `calib.toml` in `dir`.
fn write_calibration(dir: &TempDir) {
    ring_calibration(240, 0.0)
        .save_toml(&dir.join("calib.toml"))
        .unwrap();
}

fn omnidewarp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn setup(tag: &str, frames: u32) -> TempDir {
    let dir = TempDir::new(tag);
    write_calibration(&dir);
    make_mirror_clip(&dir.join("clip.mp4"), 240, frames, 25, &X264_FAST);
    dir
}

#[test]
fn cli_converts_videos_with_the_video_flags() {
    let dir = setup("cli", 30);
    let common = [
        "convert",
        "clip.mp4",
        "--calib",
        "calib.toml",
        "--preset",
        "ultrafast",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = common.iter().chain(extra).copied().collect();
        omnidewarp(&dir.0, &args)
    };
    let out = run(&[
        "-o", "pano.mkv", "--band", "--size", "320x80", "--frames", "12", "--crf", "20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote 12 frames to pano.mkv (libx264)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(frame_times(&dir.join("pano.mkv")).len(), 12);
    let stream = video_stream(&dir.join("pano.mkv"));
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(320), Some(80))
    );

    // --quiet prints nothing; --start/--duration pick 0.4 s = 10 frames.
    let out = run(&[
        "-o",
        "part.mp4",
        "--size",
        "256x128",
        "--start",
        "0.4",
        "--duration",
        "0.4",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(frame_times(&dir.join("part.mp4")).len(), 10);

    // A JSON camera path on a perspective view, mpeg4 with a bit rate.
    std::fs::write(
        dir.join("path.json"),
        r#"[{"t":0,"yaw":0,"pitch":-10,"fov":90},{"t":1,"yaw":180,"pitch":0,"fov":60}]"#,
    )
    .unwrap();
    let out = run(&[
        "-o",
        "ptz.mov",
        "--projection",
        "perspective",
        "--size",
        "160x120",
        "--path",
        "path.json",
        "--codec",
        "mpeg4",
        "--bitrate",
        "500k",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(video_stream(&dir.join("ptz.mov"))["codec_name"], "mpeg4");
    assert_eq!(frame_times(&dir.join("ptz.mov")).len(), 30);

    // The GPU backend (lavapipe here) for a video and for an image sequence (RGBA).
    if cfg!(feature = "gpu") && std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() != Ok("1") {
        let gpu = ["--size", "160x40", "--frames", "5", "--backend", "gpu"];
        let out = run(&[&["-o", "gpu.mkv"][..], &gpu].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("wrote 5 frames to gpu.mkv (libx264)")
                && stderr(&out).contains("dewarped on the GPU"),
            "{}",
            stderr(&out)
        );
        assert_eq!(frame_times(&dir.join("gpu.mkv")).len(), 5);
        let out = run(&[&["-o", "g_%02d.png"][..], &gpu].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        let png = image::open(dir.join("g_05.png")).unwrap();
        assert_eq!((png.width(), png.height()), (160, 40));
    }

    // Image sequences and null.
    let out = run(&["-o", "f_%02d.jpg", "--size", "160x40", "--frames", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("f_03.jpg").exists() && !dir.join("f_04.jpg").exists());
    let out = run(&["-o", "null", "--size", "160x40"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote 30 frames to null"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cli_video_errors_are_one_clear_line() {
    let dir = setup("cli-errors", 10);
    let base = ["convert", "--calib", "calib.toml"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        omnidewarp(&dir.0, &args)
    };
    let check = |out: &Output, code: i32, needle: &str| {
        let e = stderr(out);
        assert_eq!(out.status.code(), Some(code), "{e}");
        assert!(e.contains(needle), "`{needle}` not in {e}");
        assert!(!e.contains("panicked"), "{e}");
    };
    check(
        &run(&["clip.mp4", "-o", "x.webm"]),
        2,
        "unsupported video output",
    );
    check(
        &run(&["clip.mp4", "-o", "clip.mp4"]),
        2,
        "refusing to write over the input",
    );
    check(
        &run(&["clip.mp4", "-o", "x.mp4", "--header", "nocolon"]),
        2,
        "--header",
    );
    check(
        &run(&["clip.mp4", "-o", "x.mp4", "--crf", "20", "--bitrate", "1M"]),
        2,
        "--bitrate",
    );
    check(
        &run(&["clip.mp4", "-o", "x.mp4", "--path", "nope.csv"]),
        2,
        "nope.csv",
    );
    check(
        &run(&["calib.toml", "-o", "x.png", "--frames", "2"]),
        2,
        "--frames",
    );
    // Corrupt: the error names the input and what was written.
    let bytes = std::fs::read(dir.join("clip.mp4")).unwrap();
    std::fs::write(dir.join("cut.mp4"), &bytes[..bytes.len() / 3]).unwrap();
    check(&run(&["cut.mp4", "-o", "y.mp4"]), 1, "cut.mp4");
    assert!(!dir.join("y.mp4").exists());
    // Credentials stay out of every line.
    let port = free_port();
    let url = format!("http://bob:hunter22@127.0.0.1:{port}/x.ts?token=tok9999");
    let out = run(&[
        &url,
        "-o",
        "z.mp4",
        "--no-reconnect",
        "--header",
        "X-Key: hdr7777",
    ]);
    check(&out, 1, "http://***@127.0.0.1");
    let e = stderr(&out);
    for secret in ["hunter22", "tok9999", "hdr7777", "bob"] {
        assert!(!e.contains(secret), "{e}");
    }
}

#[test]
fn cli_ctrl_c_finalises_a_live_recording() {
    let dir = TempDir::new("cli-sigint");
    write_calibration(&dir);
    let server = http_stream(60.0);
    let port = server.port;
    let url = format!("http://127.0.0.1:{port}/live.ts");
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .args(["convert", &url, "--calib", "calib.toml", "-o", "rec.mp4"])
            .args(["--size", "320x80", "--band", "--preset", "ultrafast"])
            .current_dir(&dir.0)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait for a periodic progress line (stderr is not a terminal: plain lines).
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let err = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lines.lock().unwrap().iter().any(|l| l.contains(" fps")) {
        assert!(
            Instant::now() < deadline,
            "no progress: {:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "Ctrl-C did not stop it");
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let lines = lines.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(130), "{lines}");
    assert!(
        lines.contains("interrupted; wrote") && lines.contains("finalised"),
        "{lines}"
    );
    let frames = frame_times(&dir.join("rec.mp4")).len();
    assert!(frames >= 25, "{frames} frames in the finalised recording");
}

/// Every file below `dir`: its path, bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                files.push((path.clone(), std::fs::read(&path).unwrap(), modified));
            }
        }
    }
    files.sort();
    files
}

/// Paths inside inputs are read, never written: an HLS playlist whose segments are files
/// of another folder (absolute paths) converts, that folder and the playlist's stay as they
/// were (names, bytes, modification times), and the only file written is the output asked
/// for.
#[test]
fn paths_named_inside_an_input_are_never_written() {
    let dir = TempDir::new("paths");
    write_calibration(&dir);
    for folder in ["segments", "playlist", "out"] {
        std::fs::create_dir(dir.join(folder)).unwrap();
    }
    make_mirror_clip(&dir.join("segments/stream.m3u8"), 240, 50, 25, &HLS_H264);
    let original = std::fs::read_to_string(dir.join("segments/stream.m3u8")).unwrap();
    let segments = dir.join("segments");
    let playlist: String = original
        .lines()
        .map(|line| {
            if line.ends_with(".ts") {
                format!("{}\n", segments.join(line).display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(
        playlist.contains(&*segments.to_string_lossy()),
        "{playlist}"
    );
    std::fs::write(dir.join("playlist/list.m3u8"), playlist).unwrap();
    let before = snapshot(&dir.0);
    let out = omnidewarp(
        &dir.0,
        &[
            "convert",
            "playlist/list.m3u8",
            "--calib",
            "calib.toml",
            "--band",
            "--size",
            "160x40",
            "--preset",
            "ultrafast",
            "-o",
            "out/pano.mp4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(frame_times(&dir.join("out/pano.mp4")).len(), 50);
    let after: Vec<_> = snapshot(&dir.0)
        .into_iter()
        .filter(|(path, ..)| path != &dir.join("out/pano.mp4"))
        .collect();
    assert!(before == after, "files other than the output changed");
}

/// A V4L2 camera (the LD_PRELOAD stand-in of `fake_v4l2`: FFmpeg's video4linux2 input asks
/// it as it would a driver, with MMAP streaming) converts like a live input, and each of its
/// frames is the file's dewarp of the same picture, pixel for pixel.
#[test]
fn a_v4l2_camera_converts_like_the_picture_it_shows() {
    let dir = setup("v4l2", 1);
    let mut raw = ffmpeg();
    raw.arg("-i")
        .arg(dir.join("clip.mp4"))
        .args(["-frames:v", "1", "-pix_fmt", "yuv420p", "-f", "rawvideo"])
        .arg(dir.join("picture.yuv"));
    run(raw);
    let env = crate::fake_v4l2::camera_env(&dir.0, &dir.join("picture.yuv"), (240, 240));
    let view = ["--calib", "calib.toml", "--band", "--size", "320x80"];
    let camera = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(["convert", crate::fake_v4l2::DEVICE, "--frames", "10"])
        .args(view)
        .args(["-o", "camera_%03d.png"])
        .envs(env)
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(camera.status.success(), "{}", stderr(&camera));
    let file = omnidewarp(
        &dir.0,
        &[
            &["convert", "clip.mp4"][..],
            &view,
            &["-o", "file_%03d.png"],
        ]
        .concat(),
    );
    assert!(file.status.success(), "{}", stderr(&file));
    let expected = image::open(dir.join("file_001.png")).unwrap().to_rgb8();
    for n in 1..=10 {
        let frame = image::open(dir.0.join(format!("camera_{n:03}.png")))
            .unwrap_or_else(|e| panic!("camera frame {n}: {e}"))
            .to_rgb8();
        assert!(
            frame == expected,
            "camera frame {n} differs from the file's"
        );
    }
    assert!(
        !dir.join("camera_011.png").exists(),
        "--frames 10 wrote more"
    );
}
