//! Video and live-stream conversion, end to end, with clips made here by the `ffmpeg` CLI.
#![cfg(feature = "video")]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glam::DVec2;
use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
use omnidewarp::video::{
    CameraPath, EncoderSettings, Limits, OutputTarget, Reconnect, SourceOptions, VideoInput,
    VideoJob, VideoSource, convert, is_video_input,
};
use omnidewarp::{
    CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat, PlaneMut, render_mirror,
};

// ---------------------------------------------------------------------------------------
// Helpers

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "omnidewarp-video-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ffmpeg CLI flags for a small, nearly lossless H.264 test clip.
const X264_CRF10: [&str; 8] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-crf",
    "10",
    "-pix_fmt",
    "yuv420p",
];

fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    c
}

fn run(mut c: Command) {
    let out = c.output().expect("ffmpeg CLI must be installed");
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ffprobe_json(path: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Presentation times (seconds) of the video frames of a file, per ffprobe.
fn frame_times(path: &Path) -> Vec<f64> {
    let v = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts_time,best_effort_timestamp_time",
        ],
    );
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["pts_time"]
                .as_str()
                .or(f["best_effort_timestamp_time"].as_str())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

fn video_stream(path: &Path) -> serde_json::Value {
    let v = ffprobe_json(path, &["-show_streams", "-select_streams", "v:0"]);
    v["streams"][0].clone()
}

fn ring_calibration(size: u32, heading_at_top_deg: f64) -> Calibration {
    let c = (f64::from(size) - 1.0) / 2.0;
    let s = f64::from(size) / 480.0;
    let ring = RingModel::builder()
        .center(DVec2::new(c, c))
        .radii(70.0 * s, 232.0 * s)
        .elevations((-50f64).to_radians(), 35f64.to_radians())
        .heading_at_top(heading_at_top_deg.to_radians())
        .build()
        .unwrap();
    Calibration::new((size, size), CameraModel::Ring(ring), None).unwrap()
}

fn band_view(width: u32, height: u32) -> View {
    View::new(
        Projection::Equirect {
            top: 35f64.to_radians(),
            bottom: (-50f64).to_radians(),
        },
        Orientation::default(),
        width,
        height,
    )
    .unwrap()
}

/// A procedural full-sphere panorama: smooth colour waves, a checker, a gradient.
fn panorama(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (
            f64::from(x) / f64::from(width),
            f64::from(y) / f64::from(height),
        );
        let tau = std::f64::consts::TAU;
        let r = 128.0 + 90.0 * (u * tau * 5.0).sin() * (v * tau * 2.0).cos();
        let checker = ((x / 24 + y / 24) % 2) as f64;
        let g = 60.0 + 130.0 * checker * (0.5 + 0.5 * (u * tau * 3.0).cos());
        let b = 40.0 + 180.0 * v;
        image::Rgb([r as u8, g as u8, b as u8])
    })
}

/// Renders `frames` mirror frames of `size`² (the camera turning 3° a frame) and encodes
/// them with the ffmpeg CLI into `out` with the given extra output arguments.
fn make_mirror_clip(out: &Path, size: u32, frames: u32, fps: u32, extra: &[&str]) {
    let pano = panorama(1024, 512);
    let pano_frame = Frame::from_rgb_image(&pano).unwrap();
    let mut child = ffmpeg()
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s"])
        .arg(format!("{size}x{size}"))
        .args(["-r", &fps.to_string(), "-i", "-"])
        .args(extra)
        .arg(out)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg CLI must be installed");
    let mut stdin = child.stdin.take().unwrap();
    let mut buf = vec![0u8; (size * size * 3) as usize];
    let options = DewarpOptions::default();
    for k in 0..frames {
        let calibration = ring_calibration(size, f64::from(k) * 3.0);
        let mut dst = FrameMut::packed(PixelFormat::Rgb8, size, size, &mut buf).unwrap();
        render_mirror(&pano_frame, &calibration, &mut dst, &options).unwrap();
        stdin.write_all(&buf).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "encoding the clip failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An owned I420 image.
struct I420 {
    width: u32,
    height: u32,
    planes: [Vec<u8>; 3],
}

impl I420 {
    fn new(width: u32, height: u32) -> Self {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Self {
            width,
            height,
            planes: [
                vec![0; (width * height) as usize],
                vec![0; (cw * ch) as usize],
                vec![0; (cw * ch) as usize],
            ],
        }
    }

    fn from_frame(frame: &Frame<'_>) -> Self {
        assert_eq!(frame.format(), PixelFormat::I420);
        let mut out = Self::new(frame.width(), frame.height());
        for k in 0..3 {
            let (w, h, _) = PixelFormat::I420.plane_shape(k, frame.width(), frame.height());
            let p = frame.plane(k);
            for y in 0..h as usize {
                out.planes[k][y * w as usize..(y + 1) * w as usize]
                    .copy_from_slice(&p.data[y * p.stride..y * p.stride + w as usize]);
            }
        }
        out
    }

    fn frame_mut(&mut self) -> FrameMut<'_> {
        let (w, cw) = (self.width as usize, self.width.div_ceil(2) as usize);
        let [y, u, v] = &mut self.planes;
        FrameMut::new(
            PixelFormat::I420,
            self.width,
            self.height,
            vec![
                PlaneMut::new(y, w),
                PlaneMut::new(u, cw),
                PlaneMut::new(v, cw),
            ],
        )
        .unwrap()
    }

    /// The still-image dewarp of this frame (BT.601 limited, as decoded) by `dewarper`.
    fn still_dewarp(&self, dewarper: &mut CpuDewarper) -> I420 {
        let (w, cw) = (self.width as usize, self.width.div_ceil(2) as usize);
        let planes = [(0, w), (1, cw), (2, cw)].map(|(k, stride)| omnidewarp::Plane {
            data: &self.planes[k],
            stride,
        });
        let src = Frame::new(
            PixelFormat::I420,
            self.width,
            self.height,
            &planes,
            omnidewarp::YuvColor::default(),
        )
        .unwrap();
        let view = *dewarper.view();
        let mut out = I420::new(view.width, view.height);
        dewarper.dewarp(&src, &mut out.frame_mut()).unwrap();
        out
    }
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// All frames of a file, decoded with our own source (I420 copies + pts).
fn decode_all(path: &Path) -> Vec<(I420, f64)> {
    let mut source = VideoSource::open(
        &VideoInput::new(path.to_string_lossy()),
        &SourceOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(f) = source.next_frame().unwrap() {
        out.push((I420::from_frame(&f.frame()), f.pts()));
    }
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ffmpeg -re` serving a moving test pattern as live mpegts over HTTP (one client).
fn serve_live(port: u16, seconds: f64, size: u32) -> Killed {
    let child = ffmpeg()
        .args(["-re", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}x{size}:rate=25"))
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mpegts",
            "-listen",
            "1",
        ])
        .arg(format!("http://127.0.0.1:{port}/live.ts"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg CLI must be installed");
    Killed(child)
}

fn live_input(port: u16) -> VideoInput {
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/live.ts"));
    input.timeout = Duration::from_secs(5);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(6)
        .with_initial_delay(Duration::from_millis(300))
        .with_max_delay(Duration::from_secs(2));
    input
}

fn fast_x264() -> EncoderSettings {
    EncoderSettings::default().with_preset("ultrafast".to_owned())
}

// ---------------------------------------------------------------------------------------
// Files

#[test]
fn h264_clip_to_equirect_mp4_matches_still_dewarp() {
    let dir = TempDir::new("clip");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(
        &clip,
        480,
        60,
        30,
        &[
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p",
        ],
    );
    let out = dir.join("equirect.mp4");
    let calibration = ring_calibration(480, 0.0);
    let view = band_view(960, 228);
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        view,
    );
    job.encoder.crf = Some(10.0);
    job.encoder.preset = Some("veryfast".into());
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    job.progress = Some(Box::new(move |p| seen.lock().unwrap().push(*p)));
    job.progress_interval = Duration::ZERO;
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, 60);
    assert_eq!(report.encoder.as_deref(), Some("libx264"));
    let progress = progress.lock().unwrap();
    let last = progress.last().unwrap();
    assert!(last.done && last.frames == 60 && last.total == Some(60));

    // Same frame count, frame rate and timestamps as the input.
    let (tin, tout) = (frame_times(&clip), frame_times(&out));
    assert_eq!(tout.len(), 60);
    assert_eq!(tin.len(), tout.len());
    for (a, b) in tin.iter().zip(&tout) {
        assert!((a - b).abs() < 1e-3, "timestamps differ: {a} vs {b}");
    }
    let stream = video_stream(&out);
    assert_eq!(stream["r_frame_rate"], "30/1");
    assert_eq!(stream["avg_frame_rate"], "30/1");
    assert_eq!(stream["width"], 960);
    assert_eq!(stream["height"], 228);

    // Spherical metadata as ffprobe reports it.
    let side = stream["side_data_list"].as_array().expect("side data");
    let sph = side
        .iter()
        .find(|s| s["side_data_type"] == "Spherical Mapping")
        .expect("spherical mapping side data");
    assert!(
        sph["projection"]
            .as_str()
            .unwrap()
            .starts_with("tiled equirectangular")
            || sph["projection"] == "equirectangular",
        "{sph}"
    );

    // Frame k of the output = the still-image dewarp of decoded input frame k.
    let inputs = decode_all(&clip);
    let outputs = decode_all(&out);
    assert_eq!(inputs.len(), 60);
    assert_eq!(outputs.len(), 60);
    let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default()).unwrap();
    let mut worst = f64::INFINITY;
    for (k, ((input, _), (output, _))) in inputs.iter().zip(&outputs).enumerate() {
        let reference = input.still_dewarp(&mut dewarper);
        let p = psnr(&reference.planes[0], &output.planes[0]);
        let pu = psnr(&reference.planes[1], &output.planes[1]);
        let pv = psnr(&reference.planes[2], &output.planes[2]);
        worst = worst.min(p).min(pu).min(pv);
        assert!(
            p >= 40.0 && pu >= 40.0 && pv >= 40.0,
            "frame {k}: PSNR Y {p:.1} U {pu:.1} V {pv:.1} dB"
        );
        // And not merely similar to a neighbour: the camera turns 3° a frame.
        if k > 0 {
            let neighbour = psnr(&reference.planes[0], &outputs[k - 1].0.planes[0]);
            assert!(neighbour < p - 3.0, "frame {k} looks like frame {}", k - 1);
        }
    }
    eprintln!(
        "h264 clip: 60/60 frames, worst plane PSNR {worst:.1} dB, {:.1} fps",
        report.fps
    );
}

#[test]
fn containers_codecs_and_images() {
    let dir = TempDir::new("containers");
    let clip = dir.join("mirror.mkv");
    // Audio too, to be copied through.
    make_mirror_clip(
        &clip,
        240,
        12,
        24,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=0.5",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(320, 80);
    let job = |out: OutputTarget, encoder: EncoderSettings| {
        let mut j = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            out,
            calibration.clone(),
            view,
        );
        j.encoder = encoder;
        j
    };
    // Matroska keeps the audio and gets a Projection element.
    let mkv = dir.join("out.mkv");
    let r = convert(&job(OutputTarget::File(mkv.clone()), fast_x264())).unwrap();
    assert_eq!(r.frames, 12);
    let streams = ffprobe_json(&mkv, &["-show_streams"]);
    let kinds: Vec<&str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["video", "audio"], "{streams}");
    let side = &streams["streams"][0]["side_data_list"];
    assert!(
        side.as_array()
            .is_some_and(|l| l.iter().any(|s| s["side_data_type"] == "Spherical Mapping")),
        "mkv projection missing: {side}"
    );
    // MOV with mpeg4, NUT, Y4M (raw, no audio).
    for (name, codec, expect) in [
        ("out.mov", Some("mpeg4"), "mpeg4"),
        ("out.nut", None, "h264"),
        ("out.y4m", None, "rawvideo"),
    ] {
        let path = dir.join(name);
        let settings = fast_x264().with_codec(codec.map(Into::into));
        let r = convert(&job(OutputTarget::File(path.clone()), settings)).unwrap();
        assert_eq!(r.frames, 12, "{name}");
        assert_eq!(frame_times(&path).len(), 12, "{name}");
        assert_eq!(video_stream(&path)["codec_name"], expect, "{name}");
    }
    // A bit rate instead of a crf.
    let path = dir.join("bitrate.mp4");
    let settings = fast_x264().with_bitrate(Some(400_000));
    assert_eq!(
        convert(&job(OutputTarget::File(path), settings))
            .unwrap()
            .frames,
        12
    );
    // crf and bit rate together are refused.
    let settings = fast_x264().with_bitrate(Some(400_000)).with_crf(Some(20.0));
    let e = convert(&job(OutputTarget::File(dir.join("x.mp4")), settings)).unwrap_err();
    assert!(e.to_string().contains("crf"), "{e}");
    // Image sequence.
    let pattern = dir.join("img_%03d.png");
    let r = convert(&job(OutputTarget::from_arg(&pattern), fast_x264())).unwrap();
    assert_eq!(r.frames, 12);
    let first = image::open(dir.join("img_001.png")).unwrap();
    assert_eq!((first.width(), first.height()), (320, 80));
    assert!(dir.join("img_012.png").exists() && !dir.join("img_013.png").exists());
    // Null output, with limits.
    let mut j = job(OutputTarget::Null, fast_x264());
    j.limits = Limits::default()
        .with_frames(Some(5))
        .with_start(None)
        .with_duration(None);
    assert_eq!(convert(&j).unwrap().frames, 5);
    j.limits = Limits::default()
        .with_frames(None)
        .with_start(Some(0.25))
        .with_duration(Some(0.125));
    assert_eq!(convert(&j).unwrap().frames, 3);
}

#[test]
fn camera_path_sets_the_view_per_frame() {
    let dir = TempDir::new("path");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(&clip, 240, 20, 10, &X264_CRF10);
    let calibration = ring_calibration(240, 0.0);
    let view = View::new(
        Projection::Perspective {
            fov: 80f64.to_radians(),
        },
        Orientation::default(),
        160,
        120,
    )
    .unwrap();
    let csv = dir.join("path.csv");
    std::fs::write(&csv, "time,yaw,pitch,fov\n0,170,-10,90\n1.9,-100,0,50\n").unwrap();
    let path = CameraPath::load(&csv).unwrap();
    let out = dir.join("ptz.mp4");
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        view,
    );
    job.path = Some(path.clone());
    job.encoder.crf = Some(8.0);
    job.encoder.preset = Some("ultrafast".into());
    assert_eq!(convert(&job).unwrap().frames, 20);
    assert!(
        video_stream(&out)["side_data_list"].is_null(),
        "no spherical data for PTZ"
    );
    let inputs = decode_all(&clip);
    let outputs = decode_all(&out);
    for k in [0usize, 7, 19] {
        let t = outputs[k].1 - outputs[0].1;
        let v = path.view_at(&view, t);
        let reference = inputs[k].0.still_dewarp(
            &mut CpuDewarper::new(calibration.clone(), v, DewarpOptions::default()).unwrap(),
        );
        let p = psnr(&reference.planes[0], &outputs[k].0.planes[0]);
        assert!(p >= 35.0, "frame {k} at t = {t}: PSNR {p:.1} dB");
    }
}

/// The GPU backend in the video pipeline (lavapipe here): one clip and camera path
/// converted on the CPU and on the GPU into raw y4m (lossless), compared plane by plane with
/// the CPU–GPU tolerance (max |Δ| ≤ 2, ≥ 99.9 % within 1).
#[cfg(feature = "gpu")]
#[test]
fn gpu_backend_converts_video_like_the_cpu() {
    if std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() == Ok("1") {
        eprintln!("skipping a GPU test (OMNIDEWARP_SKIP_GPU_TESTS=1)");
        return;
    }
    let dir = TempDir::new("gpu");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(&clip, 240, 12, 10, &X264_CRF10);
    let view = View::new(
        Projection::Perspective {
            fov: 80f64.to_radians(),
        },
        Orientation::default(),
        161,
        97,
    )
    .unwrap();
    let csv = dir.join("path.csv");
    std::fs::write(&csv, "time,yaw,pitch,fov\n0,170,-10,90\n1.1,-100,0,50\n").unwrap();
    let convert_on = |backend: omnidewarp::Backend| {
        let out = dir.join(&format!("{backend}.y4m"));
        let mut job = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            OutputTarget::File(out.clone()),
            ring_calibration(240, 0.0),
            view,
        );
        job.path = Some(CameraPath::load(&csv).unwrap());
        job.options.antialias = false;
        job.options = job.options.with_backend(backend);
        let report = convert(&job).unwrap();
        assert_eq!(report.frames, 12);
        (report.backend, decode_all(&out))
    };
    let (cpu_backend, cpu) = convert_on(omnidewarp::Backend::Cpu);
    let (gpu_backend, gpu) = convert_on(omnidewarp::Backend::Gpu);
    assert!(cpu_backend.starts_with("CPU"), "{cpu_backend}");
    assert!(gpu_backend.starts_with("GPU"), "{gpu_backend}");
    assert_eq!(gpu.len(), 12);
    for (k, ((a, ta), (b, tb))) in cpu.iter().zip(&gpu).enumerate() {
        assert!((ta - tb).abs() < 1e-6, "frame {k}: timestamps {ta} vs {tb}");
        for plane in 0..3 {
            let (pa, pb) = (&a.planes[plane], &b.planes[plane]);
            let max = pa
                .iter()
                .zip(pb)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            let close = pa
                .iter()
                .zip(pb)
                .filter(|(x, y)| x.abs_diff(**y) <= 1)
                .count();
            let within_1 = close as f64 / pa.len() as f64;
            assert!(
                max <= 2 && within_1 >= 0.999,
                "frame {k} plane {plane}: max |Δ| {max}, within 1: {:.3} %",
                100.0 * within_1
            );
        }
    }
    eprintln!("video on {gpu_backend}: 12 frames agree with {cpu_backend}");
}

#[test]
fn truncated_and_corrupt_inputs_fail_cleanly() {
    let dir = TempDir::new("corrupt");
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(320, 80);
    let job = |input: &Path, out: &Path| {
        let mut j = VideoJob::new(
            VideoInput::new(input.to_string_lossy()),
            OutputTarget::File(out.to_owned()),
            calibration.clone(),
            view,
        );
        j.encoder.preset = Some("ultrafast".into());
        j
    };
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "5",
        "-pix_fmt",
        "yuv420p",
    ];
    // moov at the end, cut in half: nothing can be opened, nothing is written.
    let plain = dir.join("plain.mp4");
    make_mirror_clip(&plain, 240, 30, 25, &x264);
    let bytes = std::fs::read(&plain).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.join("cut_out.mp4");
    let e = convert(&job(&cut, &out)).unwrap_err().to_string();
    assert!(e.contains("cut.mp4") && e.contains("cannot open"), "{e}");
    assert!(!out.exists(), "no output for an unopenable input");

    // moov first, data cut: the decodable frames are written, then a clear error.
    let fast = dir.join("fast.mp4");
    let mut args = x264.to_vec();
    args.extend(["-movflags", "+faststart"]);
    make_mirror_clip(&fast, 240, 30, 25, &args);
    let bytes = std::fs::read(&fast).unwrap();
    let cut = dir.join("fast_cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let out = dir.join("fast_cut_out.mp4");
    let e = convert(&job(&cut, &out)).unwrap_err().to_string();
    assert!(
        e.contains("corrupt or truncated") && e.contains("written to"),
        "{e}"
    );
    let n = frame_times(&out).len();
    assert!(n > 5 && n < 30, "{n} frames in the finalised output");

    // Garbage bytes in the middle of a transport stream: converted around the damage,
    // reported, output valid.
    let ts = dir.join("clip.ts");
    make_mirror_clip(&ts, 240, 30, 25, &x264);
    let mut bytes = std::fs::read(&ts).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 20_000].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let bad = dir.join("bad.ts");
    std::fs::write(&bad, &bytes).unwrap();
    let out = dir.join("bad_out.mp4");
    match convert(&job(&bad, &out)) {
        Ok(r) => {
            eprintln!("damaged ts: converted {} frames", r.frames);
            assert!(r.frames > 0);
        }
        Err(e) => {
            eprintln!("damaged ts: {e}");
            assert!(e.to_string().contains("bad.ts"), "{e}");
        }
    }
    if out.exists() {
        assert!(!frame_times(&out).is_empty());
    }

    // Not a video at all.
    let junk = dir.join("junk.mp4");
    std::fs::write(
        &junk,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = dir.join("junk_out.mp4");
    let e = convert(&job(&junk, &out)).unwrap_err().to_string();
    assert!(e.contains("junk.mp4"), "{e}");
    assert!(!out.exists());
    // Missing file.
    let e = convert(&job(&dir.join("missing.mp4"), &out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.mp4"), "{e}");
}

// ---------------------------------------------------------------------------------------
// QuickTime spherical metadata; cut files without a frame count

/// Video frames of a file as ffprobe decodes them (`-count_frames`).
fn decoded_frames(path: &Path) -> u64 {
    let v = ffprobe_json(
        path,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
        ],
    );
    v["streams"][0]["nb_read_frames"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count for {}: {v}", path.display()))
}

#[test]
fn mov_output_carries_spherical_v1_metadata() {
    let dir = TempDir::new("mov");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(
        &clip,
        240,
        12,
        24,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let calibration = ring_calibration(240, 0.0);
    let full = View::new(
        Projection::Equirect {
            top: std::f64::consts::FRAC_PI_2,
            bottom: -std::f64::consts::FRAC_PI_2,
        },
        Orientation::default(),
        256,
        128,
    )
    .unwrap();
    for (name, view, cropped) in [
        ("band.mov", band_view(320, 80), true),
        ("full.mov", full, false),
    ] {
        let out = dir.join(name);
        let mut job = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            OutputTarget::File(out.clone()),
            calibration.clone(),
            view,
        );
        job.encoder = fast_x264();
        let report = convert(&job).unwrap();
        assert_eq!(report.frames, 12, "{name}");
        assert!(
            !report.warnings.iter().any(|w| w.contains("spherical")),
            "{name}: {:?}",
            report.warnings
        );
        let stream = video_stream(&out);
        let side = stream["side_data_list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let sph = side
            .iter()
            .find(|s| s["side_data_type"] == "Spherical Mapping")
            .unwrap_or_else(|| panic!("{name}: no spherical mapping in {stream}"));
        assert_eq!(sph["projection"], "equirectangular", "{name}: {sph}");
        assert_eq!(decoded_frames(&out), 12, "{name}");
        let bytes = std::fs::read(&out).unwrap();
        let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(has("<GSpherical:StitchingSoftware>omnidewarp<"), "{name}");
        assert_eq!(has("CroppedAreaTopPixels"), cropped, "{name}");
    }
    // The rewrite leaves no temporary file behind.
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Without spherical metadata asked for, the file has none.
    let out = dir.join("plain.mov");
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        full,
    );
    job.encoder = fast_x264().with_spherical(false);
    assert_eq!(convert(&job).unwrap().frames, 12);
    assert!(video_stream(&out)["side_data_list"].is_null());
}

/// The frame count a conversion error says it wrote (0 when it says nothing was).
fn frames_written(message: &str) -> u64 {
    if message.contains("nothing was written") {
        return 0;
    }
    let before = message
        .split(" frames that decoded were written")
        .next()
        .filter(|b| b.len() < message.len())
        .unwrap_or_else(|| panic!("no frame count in: {message}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in: {message}"))
}

/// Checks a conversion of a cut file: an error naming the damage, and an output that is
/// either absent or holds exactly the frames the error says were written.
fn assert_reported_cut(result: omnidewarp::Result<omnidewarp::video::VideoReport>, out: &Path) {
    let e = match result {
        Ok(r) => panic!("a cut file converted without error ({} frames)", r.frames),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("corrupt or truncated"), "{e}");
    let n = frames_written(&e);
    if n == 0 {
        assert!(!out.exists(), "{e}");
    } else {
        assert_eq!(decoded_frames(out), n, "{e}");
    }
    eprintln!("{e}");
}

#[test]
fn cut_mkv_and_ts_without_frame_counts_are_reported() {
    let dir = TempDir::new("cut");
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(160, 40);
    let job = |input: &Path, out: &Path| {
        let mut j = VideoJob::new(
            VideoInput::new(input.to_string_lossy()),
            OutputTarget::File(out.to_owned()),
            calibration.clone(),
            view,
        );
        j.encoder = fast_x264();
        j.encoder.copy_audio = false;
        j
    };
    // 40 frames at 25 fps (1.6 s), audio running on to 2.5 s.
    let args = [
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=2.5",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "5",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
    ];
    let mkv = dir.join("clip.mkv");
    make_mirror_clip(&mkv, 240, 40, 25, &args);
    let ts = dir.join("clip.ts");
    make_mirror_clip(&ts, 240, 40, 25, &args);
    // Matroska written to a pipe: the segment size is unknown, no statistics tags.
    let piped = dir.join("piped.mkv");
    let mut c = ffmpeg();
    c.arg("-i")
        .arg(&mkv)
        .args(["-c", "copy", "-f", "matroska", "pipe:1"])
        .stdout(std::fs::File::create(&piped).unwrap());
    run(c);

    // Whole files convert without complaint: no false positives.
    for whole in [&mkv, &ts, &piped] {
        let out = dir.join("whole_out.mp4");
        let r = convert(&job(whole, &out)).unwrap_or_else(|e| panic!("{}: {e}", whole.display()));
        assert_eq!(r.frames, 40, "{}", whole.display());
        assert_eq!(decoded_frames(&out), 40);
    }

    // Cut files are errors, their decodable frames written.
    let cut = |src: &Path, name: &str, len: usize| {
        let bytes = std::fs::read(src).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &bytes[..len]).unwrap();
        (path, bytes.len())
    };
    let mkv_len = std::fs::metadata(&mkv).unwrap().len() as usize;
    let ts_len = std::fs::metadata(&ts).unwrap().len() as usize;
    assert_eq!(ts_len % 188, 0);
    let cases = [
        cut(&mkv, "cut40.mkv", mkv_len * 4 / 10),
        cut(&mkv, "cut70.mkv", mkv_len * 7 / 10),
        cut(&mkv, "cut_end.mkv", mkv_len - 30),
        cut(&ts, "cut40.ts", ts_len * 4 / 10 / 188 * 188 + 100),
        cut(&ts, "cut70.ts", ts_len * 7 / 10 / 188 * 188 + 17),
        cut(&ts, "cut_end.ts", ts_len - 100),
    ];
    for (path, _) in &cases {
        let out = dir.join(&format!(
            "{}_out.mp4",
            path.file_stem().unwrap().to_string_lossy()
        ));
        assert_reported_cut(convert(&job(path, &out)), &out);
    }

    // Matroska written live but with mkvmerge-style statistics tags: a cut shows against
    // the frame count, or against the duration.
    for (name, tag, expect) in [
        ("frames.mkv", "NUMBER_OF_FRAMES-eng=40", "of its 40 frames"),
        (
            "duration.mkv",
            "DURATION-eng=00:00:01.600000000",
            "of its 1.600 s",
        ),
    ] {
        let tagged = dir.join(name);
        let mut c = ffmpeg();
        c.arg("-i")
            .arg(&mkv)
            .args(["-map", "0", "-c", "copy", "-metadata:s:v:0", tag])
            .args(["-f", "matroska", "pipe:1"])
            .stdout(std::fs::File::create(&tagged).unwrap());
        run(c);
        let out = dir.join("tagged_out.mp4");
        let r = convert(&job(&tagged, &out)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.frames, 40, "{name}");
        let len = std::fs::metadata(&tagged).unwrap().len() as usize;
        let (path, _) = cut(&tagged, &format!("cut_{name}"), len * 6 / 10);
        let out = dir.join("tagged_cut_out.mp4");
        let result = convert(&job(&path, &out));
        if let Err(e) = &result {
            assert!(e.to_string().contains(expect), "{name}: {e}");
        }
        assert_reported_cut(result, &out);
    }

    // A transport stream cut on a packet boundary is not always knowable: whatever the
    // outcome, the output is valid.
    let (boundary, _) = cut(&ts, "boundary.ts", ts_len * 7 / 10 / 188 * 188);
    let out = dir.join("boundary_out.mp4");
    match convert(&job(&boundary, &out)) {
        Ok(r) => {
            eprintln!("ts cut between packets: {} frames, no error", r.frames);
            assert_eq!(decoded_frames(&out), r.frames);
        }
        Err(e) => {
            let e = e.to_string();
            eprintln!("ts cut between packets: {e}");
            assert!(e.contains("corrupt or truncated"), "{e}");
        }
    }

    // The command line: exit status 1, one line naming the damage, a valid output.
    #[cfg(feature = "cli")]
    {
        calibration.save_toml(&dir.join("calib.toml")).unwrap();
        for (input, output) in [("cut70.mkv", "cli_mkv.mp4"), ("cut40.ts", "cli_ts.mkv")] {
            let out = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
                .args(["convert", input, "--calib", "calib.toml", "-o", output])
                .args(["--band", "--size", "160x40", "--preset", "ultrafast"])
                .current_dir(&dir.0)
                .output()
                .unwrap();
            let e = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{input}: {e}");
            assert!(e.contains("corrupt or truncated"), "{input}: {e}");
            assert!(!e.contains("panicked"), "{e}");
            let n = frames_written(&e);
            let path = dir.join(output);
            if n == 0 {
                assert!(!path.exists());
            } else {
                assert_eq!(decoded_frames(&path), n, "{e}");
            }
        }
        let whole = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .args([
                "convert",
                "clip.mkv",
                "--calib",
                "calib.toml",
                "-o",
                "cli_whole.mp4",
            ])
            .args(["--band", "--size", "160x40", "--preset", "ultrafast"])
            .current_dir(&dir.0)
            .output()
            .unwrap();
        assert_eq!(
            whole.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&whole.stderr)
        );
    }
}

#[test]
fn routes_inputs() {
    assert!(is_video_input("rtsp://cam/stream"));
    assert!(is_video_input("/dev/video0"));
    assert!(is_video_input("clip.MP4"));
    assert!(!is_video_input("still.png"));
    let dir = TempDir::new("route");
    let png = dir.join("frame.dat");
    image::RgbImage::new(8, 8)
        .save_with_format(&png, image::ImageFormat::Png)
        .unwrap();
    assert!(
        !is_video_input(&png.to_string_lossy()),
        "probed PNG is a still"
    );
    let vid = dir.join("clip.bin");
    let mut c = ffmpeg();
    c.args([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64:rate=10",
        "-t",
        "0.5",
        "-f",
        "mpegts",
    ])
    .arg(&vid);
    run(c);
    assert!(
        is_video_input(&vid.to_string_lossy()),
        "probed mpegts is a video"
    );
}

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
    assert!(e.contains("***@127.0.0.1") && e.contains("retries"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Live streams

#[test]
fn live_http_stream_converts_n_frames() {
    let dir = TempDir::new("live");
    let port = free_port();
    let _server = serve_live(port, 30.0, 240);
    let out = dir.join("live.mp4");
    let mut job = VideoJob::new(
        live_input(port),
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
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
    let port = free_port();
    let _server = serve_live(port, 30.0, 240);
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
    assert!(times[times.len() - 1] - times[0] >= 2.0, "{times:?}");
    // Kept up: without dropping, these frames would take several times the stream's length.
    assert!(took < Duration::from_secs(12), "{took:?}");
}

#[test]
fn live_stream_reconnects_after_the_server_restarts() {
    let dir = TempDir::new("reconnect");
    let port = free_port();
    // The first server sends 2 s and exits; a second one comes up on the same port.
    let first = serve_live(port, 2.0, 240);
    let restarter = std::thread::spawn(move || {
        let mut first = first;
        let deadline = Instant::now() + Duration::from_secs(20);
        while first.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        serve_live(port, 20.0, 240)
    });
    let out = dir.join("reconnected.mp4");
    let mut job = VideoJob::new(
        live_input(port),
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
    job.limits.frames = Some(90);
    let report = convert(&job).unwrap();
    let _second = restarter.join().unwrap();
    assert_eq!(report.frames, 90);
    assert!(report.reconnects >= 1, "{report:?}");
    assert!(report.stream_lost.is_none());
    assert!(
        report.warnings.iter().any(|w| w.contains("reconnected")),
        "{:?}",
        report.warnings
    );
    let times = frame_times(&out);
    assert_eq!(times.len(), 90);
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "timestamps keep increasing"
    );
    // No gap bigger than a few frames at the join.
    let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(gap < 0.2, "largest gap {gap} s");
}

#[test]
fn live_stream_that_dies_ends_with_a_valid_output() {
    let dir = TempDir::new("lost");
    let port = free_port();
    let _server = serve_live(port, 1.5, 240);
    let out = dir.join("lost.mp4");
    let mut input = live_input(port);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_millis(400));
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
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

// ---------------------------------------------------------------------------------------
// Memory

/// Environment variable that turns `memory_probe_child` into a conversion run.
const PROBE: &str = "OMNIDEWARP_MEMORY_PROBE";

/// Not a test of its own: run by `memory_stays_flat_with_video_length` in a child process.
#[test]
fn memory_probe_child() {
    let Ok(spec) = std::env::var(PROBE) else {
        return;
    };
    let (clip, frames, size) = {
        let mut it = spec.split('|');
        (
            it.next().unwrap().to_owned(),
            it.next().unwrap().parse::<u64>().unwrap(),
            it.next().unwrap().parse::<u32>().unwrap(),
        )
    };
    let out = PathBuf::from(format!("{clip}.{frames}.mp4"));
    let mut job = VideoJob::new(
        VideoInput::new(clip),
        OutputTarget::File(out.clone()),
        ring_calibration(size, 0.0),
        // A small output keeps the run short; the input size is what fills the queues.
        band_view(size / 2, size / 8),
    );
    job.encoder = fast_x264();
    job.limits.frames = Some(frames);
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, frames);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    println!("VMHWM_KB={hwm} FPS={:.1}", report.fps);
    let _ = std::fs::remove_file(out);
}

#[test]
fn memory_stays_flat_with_video_length() {
    let size: u32 = 1440;
    let dir = TempDir::new("memory");
    let clip = dir.join("big.mp4");
    let mut c = ffmpeg();
    c.args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}x{size}:rate=30"))
        .args([
            "-frames:v",
            "300",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&clip);
    run(c);
    let probe = |frames: u64| -> (u64, f64) {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "memory_probe_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(PROBE, format!("{}|{frames}|{size}", clip.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let at = text.find("VMHWM_KB=").expect("probe output");
        let mut parts = text[at..].split_whitespace();
        let kb = parts.next().unwrap()["VMHWM_KB=".len()..].parse().unwrap();
        let fps = parts.next().unwrap()["FPS=".len()..].parse().unwrap();
        (kb, fps)
    };
    let (short, fps_short) = probe(30);
    let (long, fps_long) = probe(300);
    eprintln!(
        "peak RSS {size}²: 30 frames {} MiB ({fps_short:.1} fps), 300 frames {} MiB ({fps_long:.1} fps)",
        short / 1024,
        long / 1024
    );
    assert!(
        (long as f64) <= 1.5 * short as f64,
        "peak RSS grows with length: {short} kB for 30 frames, {long} kB for 300"
    );
}

#[test]
fn cancel_finalises_the_output() {
    let dir = TempDir::new("cancel");
    let port = free_port();
    let _server = serve_live(port, 30.0, 240);
    let out = dir.join("cancelled.mp4");
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let mut job = VideoJob::new(
        live_input(port),
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
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

#[test]
fn stalled_server_times_out_and_gives_up() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().take(8).flatten() {
            keep.lock().unwrap().push(s);
        }
    });
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
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(e.contains("after 2 retries"), "{e}");
    assert!(held.lock().unwrap().len() >= 2, "it did retry");
}

#[test]
fn udp_mpegts_stream_and_missing_device() {
    let dir = TempDir::new("udp");
    let port = free_port();
    let url = format!("udp://127.0.0.1:{port}");
    // The sender starts first and keeps sending; the receiver joins mid-stream.
    let _sender = Killed(
        ffmpeg()
            .args([
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=240x240:rate=25",
                "-t",
                "30",
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "10",
            ])
            .args(["-pix_fmt", "yuv420p", "-f", "mpegts"])
            .arg(format!("{url}?pkt_size=1316"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = dir.join("udp.mkv");
    let mut input = VideoInput::new(url);
    input.timeout = Duration::from_secs(5);
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
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

// ---------------------------------------------------------------------------------------
// The command line

#[cfg(feature = "cli")]
mod cli {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::Output;

    const CALIB_240: &str = r#"format = "omnidewarp-calibration"
version = 1
image_size = [240, 240]

[model]
type = "ring"
center = [119.5, 119.5]
radius_inner = 35.0
radius_outer = 116.0
elevation_inner_deg = -50.0
elevation_outer_deg = 35.0
heading_at_top_deg = 0.0
mirrored = true
"#;

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
        std::fs::write(dir.join("calib.toml"), CALIB_240).unwrap();
        make_mirror_clip(
            &dir.join("clip.mp4"),
            240,
            frames,
            25,
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
        );
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
        if cfg!(feature = "gpu") && std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() != Ok("1")
        {
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
        std::fs::write(dir.join("calib.toml"), CALIB_240).unwrap();
        let port = free_port();
        let _server = serve_live(port, 60.0, 240);
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
}

/// A minimal HTTP/1.1 file server with byte ranges whose first response is cut off after
/// `cut` body bytes (a connection dropped mid-transfer). Returns the port and a request
/// counter; the server stops after `lifetime`.
fn serve_file_dropping_once(
    data: Vec<u8>,
    cut: usize,
    lifetime: Duration,
) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let data = Arc::new(data);
    std::thread::spawn(move || {
        let end = Instant::now() + lifetime;
        while Instant::now() < end {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let (data, counter) = (data.clone(), counter.clone());
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
    (port, requests)
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
        let mut j = VideoJob::new(
            input,
            OutputTarget::File(out.to_owned()),
            ring_calibration(240, 0.0),
            band_view(320, 80),
        );
        j.encoder = fast_x264();
        j
    };
    // Reconnect on (the default): the transfer resumes where it broke, nothing is lost.
    let (port, requests) = serve_file_dropping_once(data.clone(), cut, Duration::from_secs(60));
    let out = dir.join("resumed.mp4");
    let report = convert(&job(port, Reconnect::default(), &out)).unwrap();
    assert!(!report.input.live);
    assert_eq!(report.frames, 40, "{report:?}");
    assert!(requests.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    assert_eq!(frame_times(&out).len(), 40);
    // Reconnect off: a clear error naming the loss, and the frames before it written.
    let (port, _) = serve_file_dropping_once(data, cut, Duration::from_secs(60));
    let out = dir.join("cut.mp4");
    let e = convert(&job(port, Reconnect::disabled(), &out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("vod.mp4") && e.contains("written to"), "{e}");
    let n = frame_times(&out).len();
    assert!(n > 0 && n < 40, "{n}");
}

#[test]
fn other_pixel_formats_arrive_as_i420_or_nv12() {
    let dir = TempDir::new("formats");
    // Format, colour and tightly packed luma of a file's first frame.
    let first_frame = |path: &Path| {
        let mut source = VideoSource::open(
            &VideoInput::new(path.to_string_lossy()),
            &SourceOptions::default(),
        )
        .unwrap();
        let f = source.next_frame().unwrap().expect("a frame");
        let p = f.frame().plane(0);
        let luma: Vec<u8> = (0..240)
            .flat_map(|y| p.data[y * p.stride..y * p.stride + 240].to_vec())
            .collect();
        (f.format(), f.color(), luma)
    };
    let reference = dir.join("ref.nut");
    make_mirror_clip(
        &reference,
        240,
        2,
        25,
        &["-c:v", "rawvideo", "-pix_fmt", "yuv420p"],
    );
    let (format, color, luma_ref) = first_frame(&reference);
    assert_eq!(format, PixelFormat::I420);
    assert_eq!(color.range, omnidewarp::YuvRange::Limited);
    for (name, args, expect, range) in [
        (
            "nv12.nut",
            &["-c:v", "rawvideo", "-pix_fmt", "nv12"][..],
            PixelFormat::Nv12,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "yuv422.mkv",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-qp",
                "0",
                "-pix_fmt",
                "yuv422p",
            ][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "rgb.mkv",
            &["-c:v", "ffv1", "-pix_fmt", "bgr0"][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "jpeg.avi",
            &["-c:v", "mjpeg", "-q:v", "1", "-pix_fmt", "yuvj420p"][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Full,
        ),
    ] {
        let path = dir.join(name);
        make_mirror_clip(&path, 240, 2, 25, args);
        let (format, color, luma) = first_frame(&path);
        assert_eq!(format, expect, "{name}");
        assert_eq!(color.range, range, "{name}");
        if range == omnidewarp::YuvRange::Limited {
            let p = psnr(&luma_ref, &luma);
            assert!(
                p > 35.0,
                "{name}: luma PSNR {p:.1} dB against the yuv420p reference"
            );
        }
        // And the pipeline takes it.
        let mut job = VideoJob::new(
            VideoInput::new(path.to_string_lossy()),
            OutputTarget::Null,
            ring_calibration(240, 0.0),
            band_view(320, 80),
        );
        job.limits.frames = Some(2);
        assert_eq!(convert(&job).unwrap().frames, 2, "{name}");
    }
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
    .args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
    ])
    .args(["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"])
    .arg(dir.join("stream.m3u8"));
    run(make);
    let port = free_port();
    let server = Killed(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&dir.0)
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
    let mut input = VideoInput::new(format!("http://127.0.0.1:{port}/stream.m3u8"));
    input.timeout = Duration::from_secs(5);
    let out = dir.join("hls.mp4");
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
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
    let port = free_port();
    let url = format!("srt://127.0.0.1:{port}?mode=listener");
    let _server = Killed(
        ffmpeg()
            .args([
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=240x240:rate=25",
                "-t",
                "20",
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "10",
            ])
            .args(["-pix_fmt", "yuv420p", "-f", "mpegts"])
            .arg(&url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg CLI must be installed"),
    );
    let mut input = VideoInput::new(format!("srt://127.0.0.1:{port}?mode=caller"));
    input.timeout = Duration::from_secs(5);
    input.reconnect = Reconnect::default()
        .with_enabled(true)
        .with_max_attempts(10)
        .with_initial_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(1));
    let out = dir.join("srt.mp4");
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.clone()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
    job.limits.frames = Some(30);
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, 30);
    assert_eq!(frame_times(&out).len(), 30);
}

// ---------------------------------------------------------------------------------------
// RTSP: GStreamer's gst-rtsp-server on 127.0.0.1 (tests/fixtures/rtsp_server.py) serves a
// mirror clip made here; the ffmpeg CLI cannot serve RTSP playback itself.

mod rtsp {
    use super::*;
    use std::io::{BufRead, BufReader, Read};

    const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rtsp_server.py");
    /// Debian's python3, which has `gi` (python3-gi); a pyenv python3 on PATH has not.
    const PYTHON: &str = "/usr/bin/python3";
    const USER: &str = "camuser";
    const PASSWORD: &str = "s3cretPa55";

    /// A running server; killed on drop.
    struct Server {
        _child: Killed,
        port: u16,
    }

    /// Starts the server on `port` (0: a free one) with extra script flags and waits (at
    /// most 15 s) for its `ready PORT` line. Its stderr goes to a log in `dir`.
    fn serve(dir: &TempDir, clip: &Path, port: u16, extra: &[&str]) -> Server {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(&format!("rtsp-server-{n}.log"));
        let mut child = Command::new(PYTHON)
            .arg(SERVER)
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
            Some(port) => Server {
                _child: child,
                port,
            },
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
        let mut job = VideoJob::new(
            input,
            OutputTarget::File(out.to_path_buf()),
            ring_calibration(240, 0.0),
            band_view(320, 80),
        );
        job.encoder = fast_x264();
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
        assert_eq!(report.frames, 90);
        assert!(report.reconnects >= 1, "{report:?}");
        assert!(report.stream_lost.is_none(), "{report:?}");
        assert!(
            report.warnings.iter().any(|w| w.contains("reconnected")),
            "{:?}",
            report.warnings
        );
        let times = frame_times(&out);
        assert_eq!(times.len(), 90);
        assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
        let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        assert!(gap < 0.2, "largest gap {gap} s");
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
}
