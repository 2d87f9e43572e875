//! Network inputs served on 127.0.0.1 (see [`crate::live`]): HTTP, HLS, SRT, UDP; live
//! streams that reconnect, die, stall or come too fast; credentials kept out of messages.

use crate::common::*;
use crate::live::*;

#[test]
fn credentials_never_appear_in_errors() {
    let port = free_port();
    let mut input = VideoInput::new(format!(
        "http://alice:s3cretPass@127.0.0.1:{port}/live.ts?token=t0ken123"
    ))
    .header("Authorization", "Bearer h3aderSecret");
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(1)
        .with_initial_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_millis(50));
    let dbg = format!("{input:?}");
    let e = VideoSource::open(&input, &SourceOptions::default())
        .unwrap_err()
        .to_string();
    for secret in ["s3cretPass", "t0ken123", "h3aderSecret", "alice"] {
        assert!(!e.contains(secret), "{e}");
        assert!(!dbg.contains(secret), "{dbg}");
    }
    assert!(e.contains("***@127.0.0.1") && e.contains("refused"), "{e}");
}

#[test]
fn live_http_stream_converts_n_frames() {
    let dir = TempDir::new("live");
    let server = http_stream(30.0);
    let port = server.port;
    let out = dir.join("live.mp4");
    let mut job = band_job(live_input(port), &out);
    job.limits.frames = Some(40);
    let t = Instant::now();
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, 40);
    assert!(report.input.live);
    let times = frame_times(&out);
    assert_eq!(times.len(), 40);
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    assert!(
        (times[39] - times[0] - 39.0 / 25.0).abs() < 0.01,
        "{times:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(25));
}

/// `drop_late`: a conversion several times slower than a 25 fps live stream keeps up with
/// it by dropping frames, instead of falling behind.
#[test]
fn live_stream_too_fast_for_the_dewarper_drops_frames_to_keep_up() {
    let dir = TempDir::new("realtime");
    let server = http_stream(30.0);
    let port = server.port;
    let out = dir.join("realtime.mkv");
    let mut input = live_input(port);
    input.drop_late = true;
    // A full-sphere 3840×1920 view, bicubic, anti-aliased: far slower than 40 ms a frame here.
    let view = View::new(
        Projection::Equirect {
            top: std::f64::consts::FRAC_PI_2,
            bottom: -std::f64::consts::FRAC_PI_2,
        },
        Orientation::default(),
        3840,
        1920,
    )
    .unwrap();
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        view,
    );
    job.options.interpolation = omnidewarp::Interpolation::Bicubic;
    job.encoder = fast_x264();
    job.limits.duration = Some(3.0);
    let t = Instant::now();
    let report = convert(&job).unwrap();
    let took = t.elapsed();
    eprintln!(
        "realtime: {} frames kept, {} dropped, {:.1} s for 3 s of stream",
        report.frames,
        report.dropped,
        took.as_secs_f64()
    );
    assert!(report.dropped > 0, "{report:?}");
    // Nearly all of the 75 frames of those 3 s were either kept or dropped.
    assert!(report.frames + report.dropped >= 60, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("dropping frames")),
        "{:?}",
        report.warnings
    );
    let times = frame_times(&out);
    assert_eq!(times.len() as u64, report.frames);
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    // Kept up: the source took in (nearly) every frame of the 3 s as they came and the
    // output spans them, though the dewarper did not convert them all. (No wall-clock
    // bound: under load the start-up alone varies by seconds.)
    assert!(times[times.len() - 1] - times[0] >= 2.0, "{times:?}");
}

#[test]
fn live_stream_reconnects_after_the_server_restarts() {
    let dir = TempDir::new("reconnect");
    // The first server sends 2 s and exits; a second one comes up on the same port.
    let first = http_stream(2.0);
    let port = first.port;
    let restarter = std::thread::spawn(move || {
        let mut first = first;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !first.exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let over = Over::Http;
        LiveServer::start(
            port,
            Serve::Stream {
                over,
                seconds: 20.0,
            },
        )
    });
    let out = dir.join("reconnected.mp4");
    let mut job = band_job(live_input(port), &out);
    job.limits.frames = Some(90);
    let report = convert(&job).unwrap();
    let _second = restarter.join().unwrap();
    assert_rejoined(&report, &out);
}

#[test]
fn live_stream_that_dies_ends_with_a_valid_output() {
    let dir = TempDir::new("lost");
    let server = http_stream(1.5);
    let port = server.port;
    let out = dir.join("lost.mp4");
    let mut input = live_input(port);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_millis(400));
    let mut job = band_job(input, &out);
    job.limits.frames = Some(1000);
    let t = Instant::now();
    let report = convert(&job).unwrap();
    let lost = report.stream_lost.clone().expect("the loss is reported");
    assert!(lost.contains("gave up after 2"), "{lost}");
    assert!(
        report.frames > 10 && report.frames < 60,
        "{}",
        report.frames
    );
    assert_eq!(frame_times(&out).len() as u64, report.frames);
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn cancel_finalises_the_output() {
    let dir = TempDir::new("cancel");
    let server = http_stream(30.0);
    let port = server.port;
    let out = dir.join("cancelled.mp4");
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let mut job = band_job(live_input(port), &out);
    job.cancel = Some(cancel);
    job.progress_interval = Duration::ZERO;
    // What Ctrl-C does: set the flag (here after 20 frames).
    job.progress = Some(Box::new(move |p| {
        if p.frames >= 20 {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }));
    let report = convert(&job).unwrap();
    assert!(report.interrupted);
    assert!((20..30).contains(&report.frames), "{}", report.frames);
    assert_eq!(
        frame_times(&out).len() as u64,
        report.frames,
        "trailer written"
    );
}

/// A server that accepts and never answers: the first connection fails after the input's
/// timeout, and is not retried (nothing came; see `faults` for the retries that are made).
#[test]
fn stalled_server_times_out_and_gives_up() {
    // Accepts connections and never answers.
    let server = LiveServer::start(0, Serve::Stalled);
    let port = server.port;
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/stalled.ts"));
    input.timeout = Duration::from_millis(700);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_millis(200));
    let t = Instant::now();
    let e = VideoSource::open(&input, &SourceOptions::default())
        .unwrap_err()
        .to_string();
    let took = t.elapsed();
    assert!(e.contains("cannot open") && !e.contains("retr"), "{e}");
    assert!(e.contains("nothing received for"), "{e}");
    assert_eq!(server.requests(), 1, "not retried");
    // Waited for the timeout, not for 2 more attempts.
    assert!(took >= input.timeout, "{took:?}");
}

#[test]
fn udp_mpegts_stream_and_missing_device() {
    let dir = TempDir::new("udp");
    // The sender starts first and keeps sending; the receiver joins mid-stream.
    let over = Over::Udp;
    let sender = LiveServer::start(
        0,
        Serve::Stream {
            over,
            seconds: 30.0,
        },
    );
    let url = format!("udp://127.0.0.1:{}", sender.port);
    let out = dir.join("udp.mkv");
    let mut input = VideoInput::new(url);
    input.timeout = Duration::from_secs(5);
    let mut job = band_job(input, &out);
    job.limits.frames = Some(25);
    let report = convert(&job).unwrap();
    assert!(report.input.live);
    assert_eq!(frame_times(&out).len(), 25);

    // A V4L2 path is opened with the video4linux2 input; a missing one fails clearly.
    let e = VideoSource::open(&VideoInput::new("/dev/video99"), &SourceOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/dev/video99") && e.contains("cannot open"),
        "{e}"
    );
    // A character device that is no camera, through FFmpeg's V4L2 input: its first ioctl
    // (VIDIOC_QUERYCAP) is refused, and that comes back as a clear error, not a panic.
    let mut not_a_camera = VideoInput::new("/dev/null");
    not_a_camera.format = Some("video4linux2".into());
    let e = VideoSource::open(&not_a_camera, &SourceOptions::default())
        .unwrap_err()
        .to_string();
    // ENOTTY ("Inappropriate ioctl for device"; the process keeps the C locale): the V4L2
    // input did open the device and ask it, no other demuxer would.
    assert!(
        e.contains("/dev/null") && e.contains("cannot open") && e.contains("ioctl"),
        "{e}"
    );
}

#[test]
fn http_file_dropped_mid_transfer_resumes_or_reports() {
    let dir = TempDir::new("vod");
    let clip = dir.join("vod.mp4");
    make_mirror_clip(
        &clip,
        240,
        40,
        25,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
        ],
    );
    let data = std::fs::read(&clip).unwrap();
    let cut = data.len() * 4 / 10;
    let job = |port: u16, reconnect: Reconnect, out: &Path| {
        let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/vod.mp4"));
        input.reconnect = reconnect;
        input.timeout = Duration::from_secs(5);
        band_job(input, out)
    };
    // Reconnect on (the default): the transfer resumes where it broke, nothing is lost.
    let lifetime = Duration::from_secs(60);
    let data_ = data.clone();
    let server = LiveServer::start(
        0,
        Serve::FileDroppingOnce {
            data: data_,
            cut,
            lifetime,
        },
    );
    let port = server.port;
    let out = dir.join("resumed.mp4");
    let report = convert(&job(port, Reconnect::default(), &out)).unwrap();
    assert!(!report.input.live);
    assert_eq!(report.frames, 40, "{report:?}");
    assert!(server.requests() >= 2);
    assert_eq!(frame_times(&out).len(), 40);
    // Reconnect off: a clear error naming the loss, and the frames before it written.
    let server = LiveServer::start(
        0,
        Serve::FileDroppingOnce {
            data,
            cut,
            lifetime,
        },
    );
    let port = server.port;
    let out = dir.join("cut.mp4");
    let e = convert(&job(port, Reconnect::disabled(), &out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("vod.mp4") && e.contains("written to"), "{e}");
    let n = frame_times(&out).len();
    assert!(n > 0 && n < 40, "{n}");
}

/// HLS: a playlist and its segments written by the ffmpeg CLI, served over HTTP on
/// 127.0.0.1 by Python's `http.server`, converted through the playlist's URL.
#[test]
fn hls_playlist_over_http_converts() {
    let dir = TempDir::new("hls");
    let mut make = ffmpeg();
    make.args([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=240x240:rate=25",
        "-t",
        "3",
    ])
    .args(HLS_H264)
    .arg(dir.join("stream.m3u8"));
    run(make);
    let server = LiveServer::start(0, Serve::Folder(&dir.0));
    let port = server.port;
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/stream.m3u8"));
    input.timeout = Duration::from_secs(5);
    let out = dir.join("hls.mp4");
    let mut job = band_job(input, &out);
    job.limits.frames = Some(50);
    let report = convert(&job).unwrap();
    drop(server);
    assert_eq!(report.frames, 50);
    let times = frame_times(&out);
    assert_eq!(times.len(), 50);
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
}

/// SRT: the ffmpeg CLI streams mpegts as an SRT listener on 127.0.0.1; we connect as the
/// caller and convert N frames.
#[test]
fn srt_stream_converts_n_frames() {
    let dir = TempDir::new("srt");
    let over = Over::Srt;
    let server = LiveServer::start(
        0,
        Serve::Stream {
            over,
            seconds: 20.0,
        },
    );
    let port = server.port;
    let mut input = VideoInput::new(format!("srt://127.0.0.1:{port}?mode=caller"));
    input.timeout = Duration::from_secs(5);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(10)
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(1));
    let out = dir.join("srt.mp4");
    let mut job = band_job(input, &out);
    job.limits.frames = Some(30);
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, 30);
    assert_eq!(frame_times(&out).len(), 30);
}
