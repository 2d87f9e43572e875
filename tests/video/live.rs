//! The live servers of the network tests, all on 127.0.0.1 and all started by one helper,
//! [`LiveServer::start`]: test streams from the ffmpeg CLI (HTTP, UDP, SRT), a folder over
//! HTTP (HLS), GStreamer's RTSP server, and small HTTP servers that misbehave on purpose.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

/// The RTSP server script (GStreamer's gst-rtsp-server through python3-gi).
const RTSP_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rtsp_server.py");
/// Debian's python3, which has `gi` (python3-gi); a pyenv python3 on PATH has not.
const PYTHON: &str = "/usr/bin/python3";

/// How an ffmpeg test stream reaches its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// `http://127.0.0.1:PORT/live.ts`, served to one client (`-listen 1`).
    Http,
    /// Sent to `udp://127.0.0.1:PORT` whether anyone listens or not.
    Udp,
    /// An SRT listener on the port (clients connect with `mode=caller`).
    Srt,
}

/// What a [`LiveServer`] serves.
pub enum Serve<'a> {
    /// `ffmpeg -re` streaming `seconds` of a moving 240² test pattern (`testsrc2`, 25 fps) as
    /// low-latency H.264 (a key frame every 10 frames) in MPEG-TS.
    Stream { over: Over, seconds: f64 },
    /// Python's `http.server` serving a folder (an HLS playlist and its segments).
    Folder(&'a Path),
    /// GStreamer's RTSP server playing `clip` at `/live`, with extra script flags
    /// (`--user`, `--password`, `--tcp-only`); its log goes to a file in `log_dir`.
    Rtsp {
        clip: &'a Path,
        log_dir: &'a Path,
        extra: &'a [&'a str],
    },
    /// An HTTP/1.1 file server with byte ranges whose first response is cut off after `cut`
    /// body bytes (a connection dropped mid-transfer); it stops after `lifetime`.
    FileDroppingOnce {
        data: Vec<u8>,
        cut: usize,
        lifetime: Duration,
    },
    /// Accepts connections (up to 8) and never answers.
    Stalled,
}

/// A test stream over HTTP for `seconds` (see [`Serve::Stream`]), on a free port.
pub fn http_stream(seconds: f64) -> LiveServer {
    LiveServer::start(
        0,
        Serve::Stream {
            over: Over::Http,
            seconds,
        },
    )
}

/// A running server, stopped (its process killed and reaped) when dropped.
pub struct LiveServer {
    /// The port it serves on.
    pub port: u16,
    process: Option<Killed>,
    /// Requests (HTTP file server) or connections (stalled server) so far.
    requests: Arc<AtomicUsize>,
    /// Connections the stalled server holds open, closed with it.
    _held: Held,
}

/// Connections held open by a server thread.
type Held = Arc<Mutex<Vec<std::net::TcpStream>>>;

/// A port free on 127.0.0.1 just now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl LiveServer {
    /// Starts `what` on `port` (0: a free one). Waits until it serves (the folder server
    /// accepts connections, the RTSP server says it is ready, the ffmpeg HTTP and SRT
    /// streams listen).
    pub fn start(port: u16, what: Serve<'_>) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let held = Held::default();
        let pick = |port: u16| if port == 0 { free_port() } else { port };
        let (port, process) = match what {
            Serve::Stream { over, seconds } => {
                let port = pick(port);
                (port, Some(stream(over, port, seconds)))
            }
            Serve::Folder(dir) => {
                let port = pick(port);
                (port, Some(folder(dir, port)))
            }
            Serve::Rtsp {
                clip,
                log_dir,
                extra,
            } => {
                let (port, child) = rtsp(clip, log_dir, port, extra);
                (port, Some(child))
            }
            Serve::FileDroppingOnce {
                data,
                cut,
                lifetime,
            } => (
                file_dropping_once(port, data, cut, lifetime, requests.clone()),
                None,
            ),
            Serve::Stalled => (stalled(port, requests.clone(), held.clone()), None),
        };
        Self {
            port,
            process,
            requests,
            _held: held,
        }
    }

    /// Requests (HTTP file server) or connections (stalled server) served so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Whether the server's process has ended (an ffmpeg stream after its `seconds`).
    pub fn exited(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.0.try_wait().unwrap().is_some())
    }
}

/// The input for [`Serve::Stream`] over HTTP on `port`, with a 5 s stall timeout and a
/// quick reconnection policy.
pub fn live_input(port: u16) -> VideoInput {
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/live.ts"));
    input.timeout = Duration::from_secs(5);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(6)
        .with_initial_delay(Duration::from_millis(300))
        .with_max_delay(Duration::from_secs(2));
    input
}

fn stream(over: Over, port: u16, seconds: f64) -> Killed {
    let mut c = ffmpeg();
    c.args(["-re", "-f", "lavfi", "-i", "testsrc2=size=240x240:rate=25"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-g", "10", "-pix_fmt", "yuv420p", "-f", "mpegts"]);
    match over {
        Over::Http => c
            .args(["-listen", "1"])
            .arg(format!("http://127.0.0.1:{port}/live.ts")),
        Over::Udp => c.arg(format!("udp://127.0.0.1:{port}?pkt_size=1316")),
        Over::Srt => c.arg(format!("srt://127.0.0.1:{port}?mode=listener")),
    };
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg CLI must be installed");
    let mut child = Killed(child);
    // A refused first connection is not retried: wait until the listener is there. (A
    // probe connection would take the HTTP server's one client.)
    match over {
        Over::Http => wait_bound(&mut child, "tcp", port),
        Over::Srt => wait_bound(&mut child, "udp", port),
        Over::Udp => {}
    }
    child
}

/// Waits (at most 30 s) until `child` has a socket bound to `port` on 127.0.0.1 (a TCP
/// listener, or a UDP socket), as `/proc/net/{proto}` lists it.
fn wait_bound(child: &mut Killed, proto: &str, port: u16) {
    let wanted = format!("0100007F:{port:04X}");
    let bound = || {
        std::fs::read_to_string(format!("/proc/net/{proto}"))
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[1] == wanted && (proto != "tcp" || f[3] == "0A")
            })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bound() {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the ffmpeg test server exited before listening on {proto} port {port}"
        );
        assert!(
            Instant::now() < deadline,
            "the ffmpeg test server is not listening on {proto} port {port} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn folder(dir: &Path, port: u16) -> Killed {
    let server = Killed(
        Command::new("python3")
            .args(["-m", "http.server", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed"),
    );
    // Wait (bounded) until the server accepts connections.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Starts the RTSP server on `port` (0: a free one) and waits (at most 15 s) for its
/// `ready PORT` line.
fn rtsp(clip: &Path, log_dir: &Path, port: u16, extra: &[&str]) -> (u16, Killed) {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let log = log_dir.join(format!("rtsp-server-{n}.log"));
    let mut child = Command::new(PYTHON)
        .arg(RTSP_SERVER)
        .arg(clip)
        .args(["--port", &port.to_string()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("/usr/bin/python3 must be installed (scripts/setup.sh)");
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let port = rx
        .recv_timeout(Duration::from_secs(15))
        .ok()
        .and_then(|l| l.strip_prefix("ready ")?.trim().parse().ok());
    match port {
        Some(port) => (port, child),
        None => {
            drop(child);
            let mut err = String::new();
            let _ = std::fs::File::open(&log).map(|mut f| f.read_to_string(&mut err));
            panic!(
                "the RTSP server did not start (GStreamer's RTSP server for python3, see \
                 scripts/setup.sh): {err}"
            );
        }
    }
}

fn file_dropping_once(
    port: u16,
    data: Vec<u8>,
    cut: usize,
    lifetime: Duration,
    requests: Arc<AtomicUsize>,
) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = Arc::new(data);
    std::thread::spawn(move || {
        let end = Instant::now() + lifetime;
        while Instant::now() < end {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let (data, counter) = (data.clone(), requests.clone());
            std::thread::spawn(move || {
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut start = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(r) = lower.strip_prefix("range: bytes=") {
                        start = r.split('-').next().unwrap().trim().parse().unwrap_or(0);
                    }
                }
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let total = data.len();
                let start = start.min(total);
                let head = if start > 0 {
                    format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{total}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                        total - start,
                        total - 1
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nAccept-Ranges: bytes\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n"
                    )
                };
                let mut stream = stream;
                let body = if n == 0 {
                    &data[start..cut.max(start)]
                } else {
                    &data[start..]
                };
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

/// Accepts 8 connections (then closes the listener, so later ones are refused) and keeps
/// them open, unanswered, in `held`.
fn stalled(port: u16, connections: Arc<AtomicUsize>, held: Held) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().take(8).flatten() {
            connections.fetch_add(1, Ordering::SeqCst);
            held.lock().unwrap().push(s);
        }
    });
    port
}
