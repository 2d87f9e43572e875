//! RTSP: GStreamer's gst-rtsp-server on 127.0.0.1 (tests/fixtures/rtsp_server.py, started by
//! [`crate::live`]) serves a mirror clip made here; the ffmpeg CLI cannot serve RTSP
//! playback itself.

use crate::common::*;
use crate::live::*;

const USER: &str = "camuser";
const PASSWORD: &str = "s3cretPa55";

/// The RTSP server on `port` (0: a free one) playing `clip`, with extra script flags.
fn serve(dir: &TempDir, clip: &Path, port: u16, extra: &[&str]) -> LiveServer {
    let log_dir = &dir.0;
    LiveServer::start(
        port,
        Serve::Rtsp {
            clip,
            log_dir,
            extra,
        },
    )
}

/// An H.264 mp4 of `frames` mirror frames of 240², 25 fps, no B-frames, near lossless.
fn mirror_clip(dir: &TempDir, frames: u32) -> PathBuf {
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(
        &clip,
        240,
        frames,
        25,
        &[
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-bf", "0", "-g", "25",
            "-pix_fmt", "yuv420p",
        ],
    );
    clip
}

fn input(url: String, transport: &str) -> VideoInput {
    let mut input = VideoInput::new(url);
    input
        .options
        .push(("rtsp_transport".into(), transport.into()));
    input.timeout = Duration::from_secs(5);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(6)
        .with_initial_delay(Duration::from_millis(300))
        .with_max_delay(Duration::from_secs(1));
    input
}

fn job(input: VideoInput, out: &Path, frames: u64) -> VideoJob {
    let mut job = band_job(input, out);
    job.encoder.crf = Some(10.0);
    job.limits.frames = Some(frames);
    job
}

/// Output frame j must be the still dewarp of clip frame j + offset, for one offset found
/// from the first frame (at most 5: a live stream may start a frame in), at ≥ 38 dB in
/// every plane and clearly unlike the clip frames next to it (the camera turns 3° a
/// frame). Returns the offset and the worst plane PSNR.
fn assert_matches_still_dewarp(clip: &Path, out: &Path) -> (usize, f64) {
    let view = band_view(320, 80);
    let mut dewarper =
        CpuDewarper::new(ring_calibration(240, 0.0), view, DewarpOptions::default()).unwrap();
    let refs: Vec<I420> = decode_all(clip)
        .iter()
        .map(|(f, _)| f.still_dewarp(&mut dewarper))
        .collect();
    let outputs = decode_all(out);
    let y = |k: usize, j: usize| psnr(&refs[k].planes[0], &outputs[j].0.planes[0]);
    let offset = (0..=5)
        .max_by(|&a, &b| y(a, 0).total_cmp(&y(b, 0)))
        .unwrap();
    assert!(offset + outputs.len() <= refs.len());
    let mut worst = f64::INFINITY;
    for (j, (output, _)) in outputs.iter().enumerate() {
        let k = j + offset;
        let p: Vec<f64> = (0..3)
            .map(|c| psnr(&refs[k].planes[c], &output.planes[c]))
            .collect();
        worst = p.iter().copied().fold(worst, f64::min);
        assert!(
            p.iter().all(|&v| v >= 38.0),
            "output frame {j} vs clip frame {k}: PSNR Y {:.1} U {:.1} V {:.1} dB",
            p[0],
            p[1],
            p[2]
        );
        for n in [k.wrapping_sub(1), k + 1] {
            if n < refs.len() {
                assert!(
                    y(n, j) < p[0] - 3.0,
                    "output frame {j} looks like clip frame {n}"
                );
            }
        }
    }
    (offset, worst)
}

/// Converts `frames` frames over `transport` and checks count, rate and content.
fn playback(transport: &str) {
    let dir = TempDir::new(&format!("rtsp-{transport}"));
    let clip = mirror_clip(&dir, 100);
    let server = serve(&dir, &clip, 0, &[]);
    let out = dir.join("equirect.mp4");
    let url = format!("rtsp://127.0.0.1:{}/live", server.port);
    let t = Instant::now();
    let report = convert(&job(input(url, transport), &out, 30)).unwrap();
    let took = t.elapsed();
    drop(server);
    assert_eq!(report.frames, 30);
    assert!(report.input.live);
    assert_eq!(report.reconnects, 0, "{report:?}");
    let times = frame_times(&out);
    assert_eq!(times.len(), 30);
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    assert!(
        (times[29] - times[0] - 29.0 / 25.0).abs() < 0.01,
        "{times:?}"
    );
    assert_eq!(video_stream(&out)["r_frame_rate"], "25/1");
    let (offset, worst) = assert_matches_still_dewarp(&clip, &out);
    assert!(took < Duration::from_secs(20), "{took:?}");
    eprintln!(
        "rtsp/{transport}: 30/30 frames from clip frame {offset}, worst plane PSNR \
         {worst:.1} dB, {:.2} s",
        took.as_secs_f64()
    );
}

#[test]
fn rtsp_tcp_playback_matches_still_dewarp() {
    playback("tcp");
}

#[test]
fn rtsp_with_basic_auth_and_redacted_errors() {
    let dir = TempDir::new("rtsp-auth");
    let clip = mirror_clip(&dir, 50);
    let server = serve(&dir, &clip, 0, &["--user", USER, "--password", PASSWORD]);
    let port = server.port;

    // Right credentials in the URL: converts.
    let out = dir.join("auth.mp4");
    let url = format!("rtsp://{USER}:{PASSWORD}@127.0.0.1:{port}/live");
    let report = convert(&job(input(url, "tcp"), &out, 10)).unwrap();
    assert_eq!(report.frames, 10);
    assert_eq!(frame_times(&out).len(), 10);

    // None or wrong ones: a clear error without the secrets, at once: a refusal (401) is
    // not retried (the policy here would take > 4 s), resending wrong credentials can
    // lock a camera's account.
    for url in [
        format!("rtsp://127.0.0.1:{port}/live"),
        format!("rtsp://{USER}:wr0ngPa55@127.0.0.1:{port}/live"),
        format!("rtsp://n0tTheUser:{PASSWORD}@127.0.0.1:{port}/live"),
    ] {
        let input = input(url, "tcp");
        let dbg = format!("{input:?}");
        let t = Instant::now();
        let e = VideoSource::open(&input, &SourceOptions::default())
            .expect_err("opened without the right credentials")
            .to_string();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(!e.contains("retries"), "{e}");
        assert!(e.contains("127.0.0.1") && e.contains("401"), "{e}");
        for secret in [PASSWORD, "wr0ngPa55", USER, "n0tTheUser"] {
            assert!(!e.contains(secret), "{e}");
            assert!(!dbg.contains(secret), "{dbg}");
        }
    }
}

/// The server is killed mid-stream and comes back on the same port: the conversion
/// reconnects and the output timestamps keep increasing.
#[test]
fn rtsp_server_restart_reconnects() {
    let dir = Arc::new(TempDir::new("rtsp-restart"));
    let clip = mirror_clip(&dir, 250);
    let first = serve(&dir, &clip, 0, &[]);
    let port = first.port;
    let (d, c) = (dir.clone(), clip.clone());
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(first);
        std::thread::sleep(Duration::from_millis(300));
        serve(&d, &c, port, &[])
    });
    let out = dir.join("restarted.mp4");
    let url = format!("rtsp://127.0.0.1:{port}/live");
    let t = Instant::now();
    let report = convert(&job(input(url, "tcp"), &out, 90)).unwrap();
    let _second = restarter.join().unwrap();
    assert_rejoined(&report, &out);
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
}

/// The server is killed for good: a valid output of what arrived, and the loss reported.
#[test]
fn rtsp_server_killed_ends_with_a_valid_output() {
    let dir = TempDir::new("rtsp-killed");
    let clip = mirror_clip(&dir, 250);
    let server = serve(&dir, &clip, 0, &[]);
    let url = format!("rtsp://127.0.0.1:{}/live", server.port);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(server);
    });
    let out = dir.join("killed.mp4");
    let mut input = input(url, "tcp");
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_millis(400));
    let t = Instant::now();
    let report = convert(&job(input, &out, 1000)).unwrap();
    killer.join().unwrap();
    let lost = report.stream_lost.clone().expect("the loss is reported");
    assert!(lost.contains("gave up after 2"), "{lost}");
    assert!(!lost.contains("panicked"), "{lost}");
    assert!(
        report.frames > 10 && report.frames < 80,
        "{}",
        report.frames
    );
    assert_eq!(frame_times(&out).len() as u64, report.frames);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[cfg(feature = "cli")]
mod cli {
    use super::*;

    fn omnidewarp(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `omnidewarp convert rtsp://…` with the CLI's defaults (no transport flag: FFmpeg
    /// asks for UDP first; the server, like some cameras, answers 461 and FFmpeg falls
    /// back to TCP), then wrong credentials: exit 1 at once, a clear line, no secrets.
    #[test]
    fn cli_converts_rtsp_and_hides_credentials() {
        let dir = TempDir::new("rtsp-cli");
        let clip = mirror_clip(&dir, 100);
        ring_calibration(240, 0.0)
            .save_toml(&dir.join("calib.toml"))
            .unwrap();
        let server = serve(
            &dir,
            &clip,
            0,
            &["--tcp-only", "--user", USER, "--password", PASSWORD],
        );
        let url = format!("rtsp://{USER}:{PASSWORD}@127.0.0.1:{}/live", server.port);
        let common = ["--calib", "calib.toml", "--size", "320x80", "--band"];
        let t = Instant::now();
        let (code, e) = omnidewarp(
            &dir.0,
            &[
                &["convert", &url, "-o", "out.mp4", "--frames", "20"][..],
                &common,
                &["--preset", "ultrafast"],
            ]
            .concat(),
        );
        assert_eq!(code, Some(0), "{e}");
        assert!(e.contains("wrote 20 frames to out.mp4"), "{e}");
        assert!(!e.contains(PASSWORD) && !e.contains(USER), "{e}");
        assert_eq!(frame_times(&dir.join("out.mp4")).len(), 20);
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());

        // The transport chosen up front, as an FFmpeg input option.
        let (code, e) = omnidewarp(
            &dir.0,
            &[
                &["convert", &url, "-o", "tcp.mkv", "--frames", "5"][..],
                &["--input-option", "rtsp_transport=tcp"],
                &common,
                &["--preset", "ultrafast"],
            ]
            .concat(),
        );
        assert_eq!(code, Some(0), "{e}");
        assert_eq!(frame_times(&dir.join("tcp.mkv")).len(), 5);
        let (code, e) = omnidewarp(
            &dir.0,
            &[
                &["convert", &url, "-o", "x.mkv", "--input-option", "tcp"][..],
                &common,
            ]
            .concat(),
        );
        assert_eq!(code, Some(2), "{e}");
        assert!(e.contains("KEY=VALUE"), "{e}");

        let bad = format!("rtsp://{USER}:wr0ngPa55@127.0.0.1:{}/live", server.port);
        let t = Instant::now();
        let (code, e) = omnidewarp(
            &dir.0,
            &[&["convert", &bad, "-o", "bad.mp4"][..], &common].concat(),
        );
        let took = t.elapsed();
        assert_eq!(code, Some(1), "{e}");
        assert!(
            e.contains("rtsp://***@127.0.0.1") && e.contains("401"),
            "{e}"
        );
        assert!(!e.contains("panicked"), "{e}");
        // Not retried with the default policy (which would wait 15 s).
        assert!(!e.contains("retrying"), "{e}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        for secret in ["wr0ngPa55", USER] {
            assert!(!e.contains(secret), "{e}");
        }
        assert!(!dir.join("bad.mp4").exists());
        eprintln!(
            "rtsp cli: wrong password refused in {:.1} s: {e}",
            took.as_secs_f64()
        );
    }
}
