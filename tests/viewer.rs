//! The viewer as a user meets it: the real `omniview` binary in a virtual X display
//! (Xvfb, software Vulkan), driven with xdotool, looked at with its own `s` screenshots and
//! ImageMagick's `import -window`. Needs `xvfb xdotool imagemagick` and the X client
//! libraries (scripts/setup.sh installs them); without them the tests fail, naming them.
//!
//! Waits poll the viewer's `--stats` lines (one per second) and files, never fixed sleeps.
#![cfg(feature = "viewer")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/fake_v4l2.rs"]
mod fake_v4l2;
#[path = "support/soak.rs"]
mod soak;

use omnidewarp::model::{Calibration, CameraModel, ProjectionKind, View, ViewRequest};
use omnidewarp::{CpuDewarper, DewarpOptions, Frame, FrameBuf, PixelFormat};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_omniview");
/// Generous: the CI machine has 2 cores shared by software rendering and decoding.
const TIMEOUT: Duration = Duration::from_secs(40);
const W: u32 = 640;
const H: u32 = 360;

fn asset(path: &str) -> PathBuf {
    Path::new(ROOT).join("assets").join(path)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("omniview-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn need(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` not found: install {package} (scripts/setup.sh installs xvfb xdotool imagemagick)"
    );
}

/// A virtual display, killed on drop.
struct Display {
    number: u32,
    server: Child,
}

impl Display {
    /// A new Xvfb server on a display number it picks itself (`-displayfd`): the server
    /// takes the number atomically, so tests running at once never share one.
    fn start() -> Self {
        need("Xvfb", "xvfb");
        need("xdotool", "xdotool");
        need("import", "imagemagick");
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read Xvfb's display number");
        let Ok(number) = line.trim().parse() else {
            let _ = server.kill();
            panic!("Xvfb gave no display number (got {line:?})");
        };
        Self { number, server }
    }

    fn name(&self) -> String {
        format!(":{}", self.number)
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM: Xvfb removes its lock file and socket (SIGKILL would leave them).
        let _ = Command::new("kill")
            .arg(self.server.id().to_string())
            .status();
        let _ = self.server.wait();
    }
}

/// One parsed `--stats` line.
#[derive(Debug, Clone, Default)]
struct Stats {
    fields: Vec<(String, String)>,
}

impl Stats {
    fn parse(line: &str) -> Option<Self> {
        if !line.starts_with("fps=") {
            return None;
        }
        let fields = line
            .split(' ')
            .filter_map(|f| f.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Self { fields })
    }

    fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn num(&self, key: &str) -> f64 {
        self.get(key)
            .trim_end_matches("ms")
            .parse()
            .unwrap_or(f64::NAN)
    }
}

/// A running viewer, killed on drop.
struct Viewer {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    display: String,
    window: String,
    runtime: PathBuf,
    out: PathBuf,
}

impl Viewer {
    fn start(display: &Display, name: &str, args: &[&str]) -> Self {
        Self::start_with_env(display, name, args, Vec::new())
    }

    fn start_with_env(
        display: &Display,
        name: &str,
        args: &[&str],
        env: Vec<(String, String)>,
    ) -> Self {
        let out = temp_dir(name);
        let runtime = out.join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let size = format!("{W}x{H}");
        let mut child = Command::new(BIN)
            .args([
                "--stats",
                "--size",
                &size,
                "--friction",
                "0",
                "--output-dir",
            ])
            .arg(&out)
            .args(args)
            .env("DISPLAY", display.name())
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("OMNIVIEW_CONFIG_DIR", out.join("config"))
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start omniview");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("omniview> {line}");
                sink.lock().unwrap().push(line);
            }
        });
        let mut viewer = Self {
            child,
            lines,
            display: display.name(),
            window: String::new(),
            runtime,
            out,
        };
        let found = viewer.xdotool_output(&["search", "--sync", "--name", "^omniview"]);
        viewer.window = found.lines().next().unwrap_or_default().trim().to_owned();
        assert!(!viewer.window.is_empty(), "no omniview window appeared");
        // No window manager: focus must be given before keys reach the window.
        viewer.xdotool(&["windowfocus", "--sync", &viewer.window.clone()]);
        viewer
    }

    fn xdotool_output(&self, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .arg(TIMEOUT.as_secs().to_string())
            .arg("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("run xdotool");
        assert!(
            out.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn xdotool(&self, args: &[&str]) {
        self.xdotool_output(args);
    }

    fn key(&self, key: &str) {
        self.xdotool(&["key", "--clearmodifiers", key]);
    }

    /// Lines printed after the first `skip`.
    fn lines_from(&self, skip: usize) -> Vec<String> {
        self.lines.lock().unwrap()[skip..].to_vec()
    }

    fn line_count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits for a stats line printed after `skip` lines that satisfies `ok`.
    fn wait_stats(&mut self, skip: usize, what: &str, ok: impl Fn(&Stats) -> bool) -> Stats {
        let start = Instant::now();
        loop {
            if let Some(s) = self
                .lines_from(skip)
                .iter()
                .filter_map(|l| Stats::parse(l))
                .find(|s| ok(s))
            {
                return s;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("omniview exited ({status}) while waiting for {what}");
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "timed out waiting for {what}; output:\n{}",
                self.lines_from(0).join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The next stats line after every line so far.
    fn next_stats(&mut self) -> Stats {
        // A line already being written may predate the input: take the second one.
        let skip = self.line_count();
        self.wait_stats(skip, "a stats line", |_| true);
        let skip = self.line_count();
        self.wait_stats(skip, "a stats line", |_| true)
    }

    /// Presses `s` and returns the screenshot's path.
    fn screenshot(&mut self) -> PathBuf {
        let skip = self.line_count();
        self.key("s");
        let start = Instant::now();
        loop {
            if let Some(path) = self
                .lines_from(skip)
                .iter()
                .find_map(|l| l.strip_prefix("screenshot: ").map(PathBuf::from))
            {
                assert!(
                    path.is_file(),
                    "{} was announced but is missing",
                    path.display()
                );
                return path;
            }
            assert!(start.elapsed() < TIMEOUT, "no screenshot announced");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The window's pixels as X shows them.
    fn import(&self, name: &str) -> image::RgbaImage {
        let path = self.out.join(format!("{name}.png"));
        let status = Command::new("timeout")
            .arg(TIMEOUT.as_secs().to_string())
            .args(["import", "-window", &self.window])
            .arg(&path)
            .env("DISPLAY", &self.display)
            .status()
            .expect("run import");
        assert!(status.success(), "import -window failed");
        image::open(&path).unwrap().to_rgba8()
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}

/// PSNR (dB) of the RGB channels over rows `rows` (all columns).
fn psnr(a: &image::RgbaImage, b: &image::RgbaImage, rows: std::ops::Range<u32>) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut sum = 0f64;
    let mut n = 0f64;
    for y in rows {
        for x in 0..a.width() {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            for c in 0..3 {
                let d = f64::from(p[c]) - f64::from(q[c]);
                sum += d * d;
                n += 1.0;
            }
        }
    }
    let mse = sum / n;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// The CPU dewarp of `view` of `image`: what the window should show.
fn reference(image: &str, calib: &str, view: View) -> image::RgbaImage {
    let calibration = Calibration::load(&asset(calib)).unwrap();
    let frame = image::open(asset(image)).unwrap().to_rgba8();
    let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default()).unwrap();
    let mut out = FrameBuf::new(PixelFormat::Rgba8, view.width, view.height).unwrap();
    dewarper
        .dewarp(
            &Frame::from_rgba_image(&frame).unwrap(),
            &mut out.frame_mut(),
        )
        .unwrap();
    image::RgbaImage::from_raw(view.width, view.height, out.plane(0).to_vec()).unwrap()
}

fn view(kind: ProjectionKind, yaw_deg: f64, fov_deg: Option<f64>, calib: &str) -> View {
    let calibration = Calibration::load(&asset(calib)).unwrap();
    let request = ViewRequest::new(kind)
        .with_size(W, H)
        .with_yaw(yaw_deg.to_radians());
    let request = match fov_deg {
        Some(f) => request.with_fov(f.to_radians()),
        None => request,
    };
    request.build(&calibration).unwrap()
}

/// The shift (pixels, −max..=max) that best maps rows `rows` of `before` onto `after`.
/// The CPU dewarp of the ring sample as omniview first shows it: the default PTZ view,
/// window-sized.
fn first_view_reference() -> image::RgbaImage {
    reference(
        RING,
        RING_CALIB,
        view(ProjectionKind::Perspective, 0.0, None, RING_CALIB),
    )
}

/// The CPU dewarp of the ring sample as key 4's little planet at `yaw_deg`, window-sized.
fn planet_reference(yaw_deg: f64) -> image::RgbaImage {
    let calibration = Calibration::load(&asset(RING_CALIB)).unwrap();
    let planet_view = ViewRequest::new(ProjectionKind::Stereographic)
        .with_size(W, H)
        .with_yaw(yaw_deg.to_radians())
        .build(&calibration)
        .unwrap();
    reference(RING, RING_CALIB, planet_view)
}

/// omniview on the ring sample with its calibration and the GPU renderer, `env` added.
fn start_on_ring_with_gpu(display: &Display, name: &str, env: Vec<(String, String)>) -> Viewer {
    let ring = asset(RING).display().to_string();
    let calib = asset(RING_CALIB).display().to_string();
    Viewer::start_with_env(
        display,
        name,
        &[&ring, "--calib", &calib, "--renderer", "gpu"],
        env,
    )
}

fn best_shift(
    before: &image::RgbaImage,
    after: &image::RgbaImage,
    rows: std::ops::Range<u32>,
    max: i32,
) -> i32 {
    let w = before.width() as i32;
    let mut best = (f64::INFINITY, 0);
    for s in -max..=max {
        let mut sum = 0f64;
        let mut n = 0f64;
        for y in rows.clone() {
            for x in (max..w - max).step_by(2) {
                let (p, q) = (
                    before.get_pixel(x as u32, y),
                    after.get_pixel((x + s) as u32, y),
                );
                for c in 0..3 {
                    let d = f64::from(p[c]) - f64::from(q[c]);
                    sum += d * d;
                    n += 1.0;
                }
            }
        }
        if sum / n < best.0 {
            best = (sum / n, s);
        }
    }
    best.1
}

const RING: &str = "synthetic_ring/ring_1440.jpg";
const RING_CALIB: &str = "synthetic_ring/ring_1440.toml";
const MEI: &str = "opencv_sample/sample.jpg";
const MEI_CALIB: &str = "opencv_sample/sample_mei_calib.toml";

/// The status bar sits over the bottom rows, messages over the top ones: compare between.
const VIEW_ROWS: std::ops::Range<u32> = 40..H - 48;

#[test]
fn a_still_looks_right_and_answers_drag_wheel_keys_and_screenshots() {
    let display = Display::start();
    let ring = asset(RING).display().to_string();
    let calib = asset(RING_CALIB).display().to_string();
    let mut viewer = Viewer::start(&display, "still", &[&ring, "--calib", &calib]);
    let first = viewer.wait_stats(0, "the first frame", |s| {
        s.num("frames") >= 1.0 && s.get("status") == "still"
    });
    assert_eq!(first.get("mode"), "perspective");
    assert_eq!(
        first.get("backend"),
        "cpu",
        "a software adapter renders with the CPU dewarper"
    );

    // The first view is the CPU dewarp of the default PTZ view at the window's size.
    let window = viewer.import("first");
    assert_eq!(window.dimensions(), (W, H));
    let expected = first_view_reference();
    let db = psnr(&window, &expected, VIEW_ROWS);
    assert!(db >= 35.0, "first view vs CPU dewarp: {db:.1} dB");

    // `s` writes a PNG of the window's size, the view without overlays.
    let shot = image::open(viewer.screenshot()).unwrap().to_rgba8();
    assert_eq!(shot.dimensions(), (W, H));
    assert!(psnr(&shot, &expected, 0..H) >= 40.0);

    // Drag 100 px to the right from the centre: the scene follows the cursor, so the view
    // turns left (west) by atan(100 / F), F = (W/2) / tan(45°).
    let win = viewer.window.clone();
    viewer.xdotool(&[
        "mousemove",
        "--window",
        &win,
        "320",
        "180",
        "mousedown",
        "1",
    ]);
    for x in [340, 360, 380, 400, 420] {
        viewer.xdotool(&["mousemove", "--window", &win, &x.to_string(), "180"]);
    }
    viewer.xdotool(&["mouseup", "1"]);
    let stats = viewer.next_stats();
    let expected_yaw = -(100f64 / 320.0).atan().to_degrees();
    let yaw = stats.num("yaw");
    assert!(
        (yaw - expected_yaw).abs() <= 0.1 * expected_yaw.abs(),
        "drag of 100 px turned to yaw {yaw:.2}°, expected {expected_yaw:.2}° ± 10 %"
    );
    // On screen the horizon moved right with the cursor by about 100 px.
    let after = viewer.import("dragged");
    let shift = best_shift(&window, &after, 170..190, 140);
    assert!(
        (90..=110).contains(&shift),
        "the scene moved {shift} px for a 100 px drag"
    );
    // And the window shows the view at that yaw.
    let turned = reference(
        RING,
        RING_CALIB,
        view(ProjectionKind::Perspective, yaw, None, RING_CALIB),
    );
    let db = psnr(&after, &turned, VIEW_ROWS);
    assert!(
        db >= 35.0,
        "dragged view vs CPU dewarp at yaw {yaw:.2}: {db:.1} dB"
    );

    // One wheel step up narrows the field of view.
    viewer.xdotool(&["mousemove", "--window", &win, "320", "180", "click", "4"]);
    let stats = viewer.next_stats();
    assert!(
        stats.num("fov") < 89.0,
        "wheel up left the fov at {}",
        stats.num("fov")
    );

    // Key 4: a little planet, as the CPU renders it.
    viewer.key("4");
    let stats = viewer.next_stats();
    assert_eq!(stats.get("mode"), "stereographic");
    let planet = image::open(viewer.screenshot()).unwrap().to_rgba8();
    let expected = planet_reference(stats.num("yaw"));
    let db = psnr(&planet, &expected, 0..H);
    assert!(db >= 35.0, "little planet vs CPU dewarp: {db:.1} dB");
    let window = viewer.import("planet");
    assert!(psnr(&window, &expected, VIEW_ROWS) >= 30.0);
    assert!(
        psnr(&window, &turned, VIEW_ROWS) < 20.0,
        "key 4 did not change the picture"
    );
}

#[test]
fn tab_switches_between_sources_each_keeping_its_view() {
    let display = Display::start();
    let ring = asset(RING).display().to_string();
    let mei = asset(MEI).display().to_string();
    let (c1, c2) = (
        asset(RING_CALIB).display().to_string(),
        asset(MEI_CALIB).display().to_string(),
    );
    let mut viewer = Viewer::start(
        &display,
        "tab",
        &[&ring, &mei, "--calib", &c1, "--calib", &c2],
    );
    viewer.wait_stats(0, "the first frame", |s| {
        s.num("frames") >= 1.0 && s.get("source") == "1/2"
    });
    viewer.key("Right");
    let before = viewer.next_stats();
    assert!(before.num("yaw") > 1.0, "the arrow key did not pan");
    viewer.key("Tab");
    let second = viewer.next_stats();
    assert_eq!(second.get("source"), "2/2");
    assert_eq!(second.num("yaw"), 0.0, "the second source has its own view");
    let window = viewer.import("second");
    let mei_ref = reference(
        MEI,
        MEI_CALIB,
        view(ProjectionKind::Perspective, 0.0, None, MEI_CALIB),
    );
    let ring_ref = reference(
        RING,
        RING_CALIB,
        view(
            ProjectionKind::Perspective,
            before.num("yaw"),
            None,
            RING_CALIB,
        ),
    );
    let (db_mei, db_ring) = (
        psnr(&window, &mei_ref, VIEW_ROWS),
        psnr(&window, &ring_ref, VIEW_ROWS),
    );
    assert!(
        db_mei >= 35.0 && db_ring < 25.0,
        "after Tab: {db_mei:.1} dB vs the second source, {db_ring:.1} dB vs the first"
    );
    viewer.xdotool(&["key", "--clearmodifiers", "shift+Tab"]);
    let back = viewer.next_stats();
    assert_eq!(back.get("source"), "1/2");
    assert_eq!(
        back.num("yaw"),
        before.num("yaw"),
        "the first source kept its view"
    );
}

/// A live MPEG-TS stream over HTTP from ffmpeg on 127.0.0.1, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_live_stream_plays_and_a_dead_one_shows_reconnecting_while_keys_answer() {
    need("ffmpeg", "ffmpeg");
    let display = Display::start();
    let port = 20000 + (std::process::id() % 20000) as u16;
    let url = format!("http://127.0.0.1:{port}/live.ts");
    let server = Server(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-loop",
                "1",
                "-framerate",
                "15",
                "-i",
            ])
            .arg(asset(RING))
            .args([
                "-vf",
                "scale=720:720",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "15",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "mpegts",
                "-listen",
                "1",
            ])
            .arg(&url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ffmpeg"),
    );
    // A refused first connection is an error at once: start the viewer once the server
    // listens (read from /proc, as a test connection would use up its one client).
    let listening = format!(":{port:04X} ");
    let start = Instant::now();
    while !["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| (a.to_owned() + " ").ends_with(&listening))
                    && l.split_whitespace().nth(3) == Some("0A")
            })
        })
    }) {
        assert!(
            start.elapsed() < TIMEOUT,
            "ffmpeg never listened on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let calib = asset(RING_CALIB).display().to_string();
    let mut viewer = Viewer::start(&display, "live", &[&url, "--calib", &calib]);
    let playing = viewer.wait_stats(0, "the stream to play", |s| {
        s.num("frames") >= 3.0 && s.get("status") == "playing"
    });
    let later = viewer.wait_stats(viewer.line_count(), "more frames", |s| {
        s.num("frames") > playing.num("frames")
    });
    assert_eq!(later.get("status"), "playing");
    drop(server);
    let skip = viewer.line_count();
    viewer.wait_stats(skip, "reconnecting… after the server died", |s| {
        s.get("status") == "reconnecting…"
    });
    // The window still answers keys.
    viewer.key("4");
    let skip = viewer.line_count();
    let stats = viewer.wait_stats(skip, "key 4 while reconnecting", |s| {
        s.get("mode") == "stereographic"
    });
    assert_eq!(stats.get("status"), "reconnecting…");
}

#[test]
fn the_gpu_renderer_draws_the_same_view_inside_egui_pass() {
    let display = Display::start();
    let mut viewer = start_on_ring_with_gpu(&display, "gpu", Vec::new());
    let first = viewer.wait_stats(0, "the first frame", |s| {
        s.num("frames") >= 1.0 && s.get("status") == "still"
    });
    assert_eq!(first.get("backend"), "gpu");
    let window = viewer.import("gpu");
    let expected = first_view_reference();
    let db = psnr(&window, &expected, VIEW_ROWS);
    assert!(db >= 35.0, "GPU-drawn first view vs CPU dewarp: {db:.1} dB");
}

/// A device lost mid-run (destroyed after the first frame, through the viewer's test
/// switch) is replaced in the same window: the viewer says so once, and keys, the window
/// and screenshots work on the new device, the GPU renderer's dewarper included.
#[test]
fn a_lost_graphics_device_is_replaced_and_the_viewer_goes_on() {
    let display = Display::start();
    let lose = vec![("OMNIVIEW_TEST_LOSE_DEVICE".into(), "1".into())];
    let mut viewer = start_on_ring_with_gpu(&display, "device-lost", lose);
    let start = Instant::now();
    let replaced = loop {
        let lines = viewer.lines_from(0);
        if let Some(at) = lines
            .iter()
            .position(|l| l.starts_with("graphics device lost"))
        {
            break at;
        }
        if let Some(status) = viewer.child.try_wait().unwrap() {
            panic!("omniview exited ({status}) instead of replacing its lost device");
        }
        assert!(start.elapsed() < TIMEOUT, "no device replacement announced");
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines = viewer.lines_from(0);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("graphics device lost"))
            .count(),
        1,
        "the loss is said once: {lines:?}"
    );
    let after = viewer.wait_stats(replaced + 1, "a frame on the new device", |s| {
        s.num("frames") >= 1.0 && s.get("backend") == "gpu"
    });
    assert_eq!(after.get("status"), "still");

    viewer.key("4");
    let stats = viewer.next_stats();
    assert_eq!(stats.get("mode"), "stereographic");
    let expected = planet_reference(stats.num("yaw"));
    let shot = image::open(viewer.screenshot()).unwrap().to_rgba8();
    let db = psnr(&shot, &expected, 0..H);
    assert!(db >= 35.0, "screenshot on the new device: {db:.1} dB");
    let window = viewer.import("after-loss");
    let db = psnr(&window, &expected, VIEW_ROWS);
    assert!(db >= 30.0, "the window after the loss: {db:.1} dB");
    let perspective = first_view_reference();
    assert!(
        psnr(&window, &perspective, VIEW_ROWS) < 20.0,
        "key 4 did not change the picture after the loss"
    );
}

/// Width and top-left corner of the live calibration preview in the window: 60 % of the
/// window's width, centred, its bottom 40 px above the window's (`ui::preview_*`).
fn preview_place(calibration: &Calibration) -> (View, (u32, u32)) {
    let width = W * 3 / 5;
    let view = ViewRequest::new(ProjectionKind::Equirect)
        .with_band(true)
        .with_width(width)
        .build(calibration)
        .unwrap();
    let origin = ((W - view.width) / 2, H - view.height - 40);
    (view, origin)
}

/// Where the raw frame's centre is in the window while its calibration is edited
/// (`ui::raw_area`): the frame is fitted into, and centred in, the part left of the
/// 330-point panel (and its 30 points of margin) and above the preview (whose top is
/// `preview_top`, 8 px apart).
fn raw_frame_centre_while_editing(preview_top: u32) -> (i32, i32) {
    let (width, height) = (f64::from(W) - 360.0, f64::from(preview_top) - 8.0);
    ((width / 2.0).round() as i32, (height / 2.0).round() as i32)
}

/// Starts the viewer on the asset `image` with the asset calibration `calib` in the raw
/// mode (0), saving edits to a fresh file, and waits for the frame; returns the viewer and
/// that file's path.
fn start_calibrating(
    display: &Display,
    name: &str,
    (image, calib): (&str, &str),
) -> (Viewer, PathBuf) {
    let image = asset(image).display().to_string();
    let calib = asset(calib).display().to_string();
    let saved = temp_dir(&format!("saved-{name}")).join("edited.omnidewarp.toml");
    let saved_arg = saved.display().to_string();
    let args = [
        &image,
        "--calib",
        &calib,
        "--mode",
        "0",
        "--save-calib",
        &saved_arg,
    ];
    let mut viewer = Viewer::start(display, name, &args);
    viewer.wait_stats(0, "the raw frame", |s| {
        s.num("frames") >= 1.0 && s.get("mode") == "raw"
    });
    (viewer, saved)
}

/// Drags the calibration's centre handle at `(x, y)` 12 px right, then saves with Ctrl+S
/// and waits for `saved` to appear. The press, the moves and the release each reach a
/// frame of their own (a stats line apart), and the cursor comes onto the handle from
/// elsewhere, as a hand brings it (a move to where the pointer already is sends the window
/// no motion).
fn drag_centre_and_save(viewer: &mut Viewer, (x, y): (i32, i32), saved: &Path) {
    let win = viewer.window.clone();
    let at = |x: i32| x.to_string();
    viewer.xdotool(&["mousemove", "--window", &win, &at(x - 20), &at(y)]);
    viewer.next_stats();
    viewer.xdotool(&[
        "mousemove",
        "--window",
        &win,
        &at(x),
        &at(y),
        "mousedown",
        "1",
    ]);
    viewer.next_stats();
    for dx in [4, 8, 12] {
        viewer.xdotool(&["mousemove", "--window", &win, &at(x + dx), &at(y)]);
    }
    viewer.next_stats();
    viewer.xdotool(&["mouseup", "1"]);
    viewer.next_stats();
    viewer.key("ctrl+s");
    let start = Instant::now();
    while !saved.is_file() {
        assert!(start.elapsed() < TIMEOUT, "Ctrl+S saved nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
    viewer.next_stats();
}

/// The `size` pixels of `window` at `origin`.
fn crop(window: &image::RgbaImage, origin: (u32, u32), size: (u32, u32)) -> image::RgbaImage {
    image::imageops::crop_imm(window, origin.0, origin.1, size.0, size.1).to_image()
}

#[test]
fn calibrating_by_eye_shows_a_live_panorama_of_the_edit_and_saves_it() {
    let display = Display::start();
    let (mut viewer, saved) = start_calibrating(&display, "calibrate", (RING, RING_CALIB));
    let plain = viewer.import("raw");

    // `c` starts editing: the band panorama of the calibration appears under the frame.
    viewer.key("c");
    viewer.next_stats();
    let original = Calibration::load(&asset(RING_CALIB)).unwrap();
    let (view, origin) = preview_place(&original);
    let size = (view.width, view.height);
    let expected = reference(RING, RING_CALIB, view);
    let editing = viewer.import("editing");
    let shown = crop(&editing, origin, size);
    let db = psnr(&shown, &expected, 0..size.1);
    assert!(db >= 30.0, "preview vs CPU panorama: {db:.1} dB");
    assert!(
        psnr(&crop(&plain, origin, size), &expected, 0..size.1) < 20.0,
        "the preview was there before editing"
    );

    // Drag the centre handle: the preview follows at once, and Ctrl+S saves what it shows.
    // Neither the panel nor the preview covers the frame.
    drag_centre_and_save(
        &mut viewer,
        raw_frame_centre_while_editing(origin.1),
        &saved,
    );
    let edited = Calibration::load(&saved).unwrap();
    let centre_x = |c: &Calibration| match &c.model {
        CameraModel::Ring(ring) => ring.center.x,
        other => panic!("the edit saved a {} model", other.name()),
    };
    // 12 px on screen at the frame's scale in the area beside the panel (±2 px).
    let scale = (f64::from(W) - 360.0).min(f64::from(origin.1) - 8.0) / 1440.0;
    let moved = (centre_x(&edited) - centre_x(&original)) * scale;
    assert!(
        (moved - 12.0).abs() <= 2.0,
        "the centre moved {moved:.1} px"
    );
    let (view, origin) = preview_place(&edited);
    let size = (view.width, view.height);
    let expected_edit = reference(RING, &saved.display().to_string(), view);
    let shown = crop(&viewer.import("edited"), origin, size);
    let db = psnr(&shown, &expected_edit, 0..size.1);
    assert!(
        db >= 30.0,
        "preview vs panorama of the saved edit: {db:.1} dB"
    );
    if expected.dimensions() == size {
        let stale = psnr(&shown, &expected, 0..size.1);
        assert!(
            stale < db - 3.0,
            "the preview did not change with the edit ({stale:.1} dB vs the original)"
        );
    }
}

#[test]
fn a_mei_calibration_is_edited_by_eye_and_keeps_its_lens() {
    let display = Display::start();
    let (mut viewer, saved) = start_calibrating(&display, "calibrate-mei", (MEI, MEI_CALIB));
    viewer.key("c");
    viewer.next_stats();
    let original = Calibration::load(&asset(MEI_CALIB)).unwrap();
    let (_, origin) = preview_place(&original);
    drag_centre_and_save(
        &mut viewer,
        raw_frame_centre_while_editing(origin.1),
        &saved,
    );

    // Saved in the frame's pixels (640×480, the file's are 1280×960): the principal point
    // moved right by 12 px at the frame's scale, the lens and its band as they were.
    let edited = Calibration::load(&saved).unwrap();
    let original = original.scaled_to(640, 480).unwrap();
    assert_eq!(edited.image_size, (640, 480));
    let (CameraModel::Mei { lens: a, mount: ma }, CameraModel::Mei { lens: b, mount: mb }) =
        (&original.model, &edited.model)
    else {
        panic!("the edit saved a {} model", edited.model.name());
    };
    let scale = ((f64::from(W) - 360.0) / 640.0).min((f64::from(origin.1) - 8.0) / 480.0);
    let moved = (b.cx - a.cx) * scale;
    assert!(
        (moved - 12.0).abs() <= 2.0,
        "the principal point moved {moved:.1} px"
    );
    assert!(
        (b.cy - a.cy).abs() * scale <= 2.0,
        "it moved {:.1} down",
        b.cy - a.cy
    );
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
    assert!(close(a.fx, b.fx) && close(a.fy, b.fy) && close(a.xi, b.xi) && close(a.k1, b.k1));
    assert_eq!(ma, mb);
    let (band_a, band_b) = (original.band.unwrap(), edited.band.unwrap());
    assert!(close(band_a.min, band_b.min) && close(band_a.max, band_b.max));
}

#[test]
fn r_records_the_camera_path_and_the_view_as_video() {
    need("ffprobe", "ffmpeg");
    let display = Display::start();
    let ring = asset(RING).display().to_string();
    let calib = asset(RING_CALIB).display().to_string();
    let video = temp_dir("recorded-view").join("view.mp4");
    let video_arg = video.display().to_string();
    let mut viewer = Viewer::start(
        &display,
        "record",
        &[&ring, "--calib", &calib, "--record-video", &video_arg],
    );
    let first = viewer.wait_stats(0, "the first frame", |s| s.num("frames") >= 1.0);
    let skip = viewer.line_count();
    viewer.key("r");
    // Drag 100 px left: the view turns right (east).
    let win = viewer.window.clone();
    viewer.xdotool(&[
        "mousemove",
        "--window",
        &win,
        "420",
        "180",
        "mousedown",
        "1",
    ]);
    for x in [400, 380, 360, 340, 320] {
        viewer.xdotool(&["mousemove", "--window", &win, &x.to_string(), "180"]);
    }
    viewer.xdotool(&["mouseup", "1"]);
    let turned = viewer.next_stats();
    viewer.key("r");
    let start = Instant::now();
    let (csv, frames) = loop {
        let lines = viewer.lines_from(skip);
        let csv = lines.iter().find_map(|l| {
            l.strip_prefix("camera path: ")
                .and_then(|rest| rest.split(" (").next())
                .map(PathBuf::from)
        });
        let frames = lines.iter().find_map(|l| {
            l.strip_prefix("view video: ")
                .and_then(|rest| rest.rsplit_once(" (")?.1.strip_suffix(" frames)"))
                .and_then(|n| n.parse::<u64>().ok())
        });
        if let (Some(csv), Some(frames)) = (csv, frames) {
            break (csv, frames);
        }
        assert!(start.elapsed() < TIMEOUT, "r announced no recording");
        std::thread::sleep(Duration::from_millis(50));
    };

    // The CSV is a camera path that `omnidewarp convert --path` reads: it starts at the
    // view before the drag and ends at the turned one.
    let path =
        omnidewarp::model::CameraPath::from_csv(&std::fs::read_to_string(&csv).unwrap()).unwrap();
    let keys = path.keyframes();
    assert!(keys.len() >= 2, "{} keyframes", keys.len());
    let (yaw0, yaw1) = (
        keys[0].yaw.to_degrees(),
        keys[keys.len() - 1].yaw.to_degrees(),
    );
    assert!(
        (yaw0 - first.num("yaw")).abs() < 0.5 && (yaw1 - turned.num("yaw")).abs() < 0.5,
        "path from {yaw0:.2}° to {yaw1:.2}°, the viewer went from {} to {}",
        first.num("yaw"),
        turned.num("yaw")
    );
    assert!(
        yaw1 > yaw0 + 5.0,
        "a left drag turned {yaw0:.2}° → {yaw1:.2}°"
    );

    // The view video is a finished H.264 file with the frames the viewer counted.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&video)
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.status.success(), "ffprobe: {text}");
    let (codec, read) = text.trim().split_once(',').unwrap_or_default();
    assert_eq!(codec, "h264");
    assert_eq!(
        read.parse::<u64>().ok(),
        Some(frames),
        "ffprobe read {read} frames"
    );
    assert!(frames >= 2, "{frames} frames recorded");
}

#[test]
fn without_a_graphics_adapter_it_says_in_one_line_what_to_install() {
    let display = Display::start();
    let out = temp_dir("no-adapter");
    let runtime = out.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // The Vulkan loader finds no driver, and wgpu may use Vulkan only.
    let run = Command::new("timeout")
        .arg(TIMEOUT.as_secs().to_string())
        .arg(BIN)
        .args(["--size", "320x180"])
        .arg(asset(RING))
        .arg("--calib")
        .arg(asset(RING_CALIB))
        .env("DISPLAY", display.name())
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("OMNIVIEW_CONFIG_DIR", out.join("config"))
        .env("VK_DRIVER_FILES", out.join("none.json"))
        .env("VK_ICD_FILENAMES", out.join("none.json"))
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("run omniview");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("omniview:"))
        .collect();
    assert_eq!(ours.len(), 1, "stderr: {stderr}");
    assert!(
        ours[0].contains("no graphics adapter") && ours[0].contains("mesa-vulkan-drivers"),
        "{}",
        ours[0]
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// A V4L2 camera (the LD_PRELOAD stand-in of `support/fake_v4l2.rs`, serving the ring
/// sample) plays: frames keep coming and the first view is the CPU dewarp of its picture.
#[test]
fn a_v4l2_camera_plays() {
    need("ffmpeg", "ffmpeg");
    let display = Display::start();
    let dir = temp_dir("v4l2-camera");
    let picture = dir.join("ring.yuv");
    let converted = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(asset(RING))
        .args(["-pix_fmt", "yuv420p", "-f", "rawvideo"])
        .arg(&picture)
        .status()
        .unwrap();
    assert!(
        converted.success(),
        "ffmpeg could not make the camera's picture"
    );
    let env = fake_v4l2::camera_env(&dir, &picture, (1440, 1440));
    let calib = asset(RING_CALIB).display().to_string();
    let mut viewer = Viewer::start_with_env(
        &display,
        "v4l2",
        &[fake_v4l2::DEVICE, "--calib", &calib],
        env,
    );
    let first = viewer.wait_stats(0, "frames from the camera", |s| {
        s.num("frames") >= 10.0 && s.get("status") == "playing"
    });
    let later = viewer.next_stats();
    assert!(
        later.num("frames") > first.num("frames"),
        "the camera stopped"
    );
    let window = viewer.import("v4l2");
    let expected = first_view_reference();
    let db = psnr(&window, &expected, VIEW_ROWS);
    // The camera's picture went through 4:2:0 chroma: a little below a still's figure.
    assert!(
        db >= 30.0,
        "camera view vs CPU dewarp of the still: {db:.1} dB"
    );
}

/// The CI variant of `SOAK_CLIENT=viewer scripts/soak.sh`: the viewer plays a live stream
/// for 40 s whose server is killed and restarted every 10 s — memory, descriptors and
/// threads bounded, each reconnection logged once, frames shown after the last restart,
/// `q` quits at once (the full run is 10 minutes, see BENCHMARKS.md).
#[test]
fn soak_short() {
    need("ffmpeg", "ffmpeg");
    let display = Display::start();
    let name = format!(":{}", display.number);
    soak::short_soak(&[
        ("SOAK_CLIENT", "viewer"),
        ("OMNIVIEW", BIN),
        ("SOAK_DISPLAY", &name),
    ]);
}
