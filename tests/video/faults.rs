//! Faults of live inputs: refused and unreachable addresses fail within seconds, an input
//! that sends nothing times out, and a cancel flag or a signal ends every phase (opening,
//! retrying, decoding) at once. The bounds are generous (loaded 2-core machines): they
//! tell "seconds" from "a minute or forever", nothing finer.

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::common::*;
use crate::live::*;

/// Runs `f` on a thread and returns its result and how long it took, or panics when it
/// takes longer than `limit` (instead of hanging the test run).
fn within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let out = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still running after {limit:?}"));
    (out, t.elapsed())
}

/// The error of opening `input` (which must fail), and how long it took.
fn open_error(input: VideoInput, limit: Duration) -> (String, Duration) {
    let (result, took) = within(limit, move || {
        VideoSource::open(&input, &SourceOptions::default()).map(|_| ())
    });
    (result.expect_err("opening must fail").to_string(), took)
}

/// A port on 127.0.0.1 that refuses connections (TCP) or has no listener (UDP).
fn refused_port() -> u16 {
    free_port()
}

/// With the default reconnect policy (5 retries, up to 8 s apart), an address where
/// nothing listens fails at once: not retried, whatever the protocol (it took 82 s for
/// HTTP, 16 s for RTSP and 34 s for SRT).
#[test]
fn refused_ports_fail_within_seconds_without_retrying() {
    let port = refused_port();
    for url in [
        format!("http://127.0.0.1:{port}/live.ts"),
        format!("https://127.0.0.1:{port}/live.m3u8"),
        format!("rtsp://127.0.0.1:{port}/live"),
        format!("rtmp://127.0.0.1:{port}/app/live"),
        format!("tcp://127.0.0.1:{port}"),
        // SRT runs over UDP and cannot tell "refused": it gives up after its 3 s handshake.
        format!("srt://127.0.0.1:{port}?mode=caller"),
    ] {
        let input = VideoInput::new(url.clone());
        assert!(input.reconnect.enabled && input.reconnect.max_attempts >= 5);
        let (e, took) = open_error(input, Duration::from_secs(120));
        eprintln!("{url}: {took:.1?}: {e}");
        assert!(e.contains("cannot open"), "{url}: {e}");
        assert!(!e.contains("retr"), "{url} was retried: {e}");
        assert!(took < Duration::from_secs(15), "{url} took {took:?}");
    }
}

/// A UDP port with no sender times out after the input's timeout, like a stalled stream
/// (it was read forever, deaf to SIGTERM).
#[test]
fn udp_with_no_sender_times_out() {
    let port = refused_port();
    let mut input = VideoInput::new(format!("udp://127.0.0.1:{port}"));
    input.timeout = Duration::from_secs(1);
    let (e, took) = open_error(input, Duration::from_secs(120));
    assert!(e.contains("nothing received for"), "{e}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
}

/// An HTTP server that answers every request with `status` (counting them).
fn answering(status: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (port, count)
}

/// A server that answers but fails (HTTP 503) may serve on the next attempt: that is
/// retried, per the policy; a 404 is not.
#[test]
fn server_errors_are_retried_and_missing_streams_are_not() {
    let quick = Reconnect::default()
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_millis(100));
    let (port, requests) = answering("503 Service Unavailable");
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/live.ts"));
    input.reconnect = quick;
    let (e, _) = open_error(input, Duration::from_secs(60));
    assert!(e.contains("after 2 retries"), "{e}");
    assert_eq!(requests.load(Ordering::SeqCst), 3, "{e}");

    let (port, requests) = answering("404 Not Found");
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/live.ts"));
    input.reconnect = quick;
    let (e, _) = open_error(input, Duration::from_secs(60));
    assert!(e.contains("404") && !e.contains("retr"), "{e}");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "{e}");
}

/// A cancel flag set while a connection hangs (a server that never answers, a 60 s
/// timeout) or while waiting between retries (30 s) ends the open at once with
/// `Error::Interrupted`.
#[test]
fn cancel_ends_opening_and_retrying_at_once() {
    let server = LiveServer::start(0, Serve::Stalled);
    let stalled = format!("http://127.0.0.1:{}/live.ts", server.port);
    let (failing, _) = answering("503 Service Unavailable");
    let failing = format!("http://127.0.0.1:{failing}/live.ts");
    for (url, phase) in [(stalled, "opening"), (failing, "retrying")] {
        let mut input = VideoInput::new(url);
        input.timeout = Duration::from_secs(60);
        input.reconnect = Reconnect::default()
            .with_initial_delay(Duration::from_secs(30))
            .with_max_delay(Duration::from_secs(30));
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            flag.store(true, Ordering::SeqCst);
        });
        let (result, took) = within(Duration::from_secs(120), move || {
            VideoSource::open_cancellable(&input, &SourceOptions::default(), Some(cancel))
                .map(|_| ())
        });
        let e = result.expect_err(phase);
        assert!(matches!(e, omnidewarp::Error::Interrupted), "{phase}: {e}");
        assert!(took < Duration::from_secs(15), "{phase}: {took:?}");
    }
}

/// The cancel flag of a conversion reaches the decoder: set while a live stream is being
/// read, the conversion ends promptly with its output finalised.
#[test]
fn cancel_while_decoding_a_live_stream_finalises_promptly() {
    let dir = TempDir::new("cancel-decoding");
    let server = http_stream(60.0);
    let out = dir.join("cancelled.mkv");
    let mut job = band_job(live_input(server.port), &out);
    let cancel = Arc::new(AtomicBool::new(false));
    job.cancel = Some(cancel.clone());
    let flag = cancel.clone();
    job.progress_interval = Duration::ZERO;
    job.progress = Some(Box::new(move |p| {
        if p.frames >= 10 {
            flag.store(true, Ordering::SeqCst);
        }
    }));
    let (report, took) = within(Duration::from_secs(120), move || convert(&job));
    let report = report.unwrap();
    assert!(report.interrupted);
    assert_eq!(frame_times(&out).len() as u64, report.frames);
    // 60 s of stream: it did not run to the end.
    assert!(took < Duration::from_secs(40), "{took:?}");
}

#[cfg(feature = "cli")]
mod cli {
    use super::*;

    fn spawn(dir: &TempDir, args: &[&str]) -> Killed {
        Killed(
            Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
                .args(args)
                .current_dir(&dir.0)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary runs"),
        )
    }

    /// Sends `signal` and returns the exit code, stderr and the time to exit.
    fn signal_and_wait(mut child: Killed, signal: &str) -> (Option<i32>, String, Duration) {
        let pid = child.0.id().to_string();
        let t = Instant::now();
        assert!(
            Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .status()
                .unwrap()
                .success()
        );
        let mut err = child.0.stderr.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "SIGNAL {signal} ignored for a minute"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = t.elapsed();
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        (status.code(), text, took)
    }

    /// SIGINT and SIGTERM while the input is being opened — a server that never answers,
    /// a UDP port with no sender — end the command at once with status 130 and no output,
    /// both when it calibrates from the first frame and when it converts.
    #[test]
    fn signals_while_opening_end_the_command_at_once() {
        let dir = TempDir::new("cli-open-signal");
        ring_calibration(240, 0.0)
            .save_toml(&dir.join("calib.toml"))
            .unwrap();
        let server = LiveServer::start(0, Serve::Stalled);
        let inputs = [
            format!("http://127.0.0.1:{}/live.ts", server.port),
            format!("udp://127.0.0.1:{}", free_port()),
        ];
        for input in &inputs {
            for (signal, calib) in [("TERM", true), ("INT", true), ("TERM", false)] {
                let mut args = vec!["convert", input.as_str(), "-o", "out.mp4"];
                if calib {
                    args.extend(["--calib", "calib.toml"]);
                }
                let child = spawn(&dir, &args);
                std::thread::sleep(Duration::from_millis(1500));
                let (code, err, took) = signal_and_wait(child, signal);
                let case = format!("{input} SIG{signal} calib={calib}");
                assert_eq!(code, Some(130), "{case}: {err}");
                assert!(err.contains("interrupted"), "{case}: {err}");
                assert!(!err.contains("panicked"), "{case}: {err}");
                assert!(took < Duration::from_secs(8), "{case}: {took:?}");
                let left: Vec<_> = std::fs::read_dir(&dir.0)
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "calib.toml")
                    .collect();
                assert!(left.is_empty(), "{case}: left {left:?}");
            }
        }
    }
}

/// The CI variant of `scripts/soak.sh`: 40 s of a live stream whose server is killed and
/// restarted every 10 s — memory, descriptors and threads bounded, each reconnection logged
/// once, the output finalised on SIGINT (the full run is 10 minutes, see BENCHMARKS.md).
#[cfg(feature = "cli")]
#[test]
fn soak_short() {
    crate::soak::short_soak(&[("OMNIDEWARP", env!("CARGO_BIN_EXE_omnidewarp"))]);
}
