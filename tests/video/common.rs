//! Helpers shared by the video tests: temporary folders, the ffmpeg/ffprobe CLIs, test
//! calibrations, views and mirror clips, I420 images and PSNR.

#![allow(dead_code)]

pub use std::io::Write;
pub use std::path::{Path, PathBuf};
pub use std::process::{Child, Command, Stdio};
pub use std::sync::{Arc, Mutex};
pub use std::time::{Duration, Instant};

pub use glam::DVec2;
pub use omnidewarp::model::{
    Calibration, CameraModel, CameraPath, Orientation, Projection, RingModel, View,
};
pub use omnidewarp::video::{
    EncoderSettings, Limits, OutputTarget, Reconnect, SourceOptions, VideoInput, VideoJob,
    VideoSource, convert, is_video_input,
};
pub use omnidewarp::{
    CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat, PlaneMut, render_mirror,
};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
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

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ffmpeg CLI flags for a small, nearly lossless H.264 test clip.
pub const X264_CRF10: [&str; 8] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-crf",
    "10",
    "-pix_fmt",
    "yuv420p",
];

pub fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    c
}

pub fn run(mut c: Command) {
    let out = c.output().expect("ffmpeg CLI must be installed");
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn ffprobe_json(path: &Path, args: &[&str]) -> serde_json::Value {
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
pub fn frame_times(path: &Path) -> Vec<f64> {
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

pub fn video_stream(path: &Path) -> serde_json::Value {
    let v = ffprobe_json(path, &["-show_streams", "-select_streams", "v:0"]);
    v["streams"][0].clone()
}

pub fn ring_calibration(size: u32, heading_at_top_deg: f64) -> Calibration {
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

pub fn band_view(width: u32, height: u32) -> View {
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
pub fn panorama(width: u32, height: u32) -> image::RgbImage {
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
pub fn make_mirror_clip(out: &Path, size: u32, frames: u32, fps: u32, extra: &[&str]) {
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
pub struct I420 {
    pub width: u32,
    pub height: u32,
    pub planes: [Vec<u8>; 3],
}

impl I420 {
    pub fn new(width: u32, height: u32) -> Self {
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

    pub fn from_frame(frame: &Frame<'_>) -> Self {
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

    pub fn frame_mut(&mut self) -> FrameMut<'_> {
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
    pub fn still_dewarp(&self, dewarper: &mut CpuDewarper) -> I420 {
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

pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
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
pub fn decode_all(path: &Path) -> Vec<(I420, f64)> {
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

/// A job converting `input` into the file `out`: the 240² ring calibration, a 320×80 band
/// view, fast x264.
pub fn band_job(input: VideoInput, out: &Path) -> VideoJob {
    let mut job = VideoJob::new(
        input,
        OutputTarget::File(out.to_owned()),
        ring_calibration(240, 0.0),
        band_view(320, 80),
    );
    job.encoder = fast_x264();
    job
}

/// Checks a conversion of 90 frames from a live stream that dropped once: every frame
/// written, at least one reconnection reported, the stream not lost, and output timestamps
/// that keep increasing with no gap bigger than a few frames at the join.
pub fn assert_rejoined(report: &omnidewarp::video::VideoReport, out: &Path) {
    assert_eq!(report.frames, 90);
    assert!(report.reconnects >= 1, "{report:?}");
    assert!(report.stream_lost.is_none(), "{report:?}");
    assert!(
        report.warnings.iter().any(|w| w.contains("reconnected")),
        "{:?}",
        report.warnings
    );
    let times = frame_times(out);
    assert_eq!(times.len(), 90);
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "timestamps keep increasing: {times:?}"
    );
    let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(gap < 0.2, "largest gap {gap} s");
}

/// ffmpeg CLI flags for a quick H.264 test clip.
/// Fast H.264 as one-second HLS segments of a VOD playlist (the output names the `.m3u8`).
pub const HLS_H264: [&str; 14] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "25",
    "-pix_fmt",
    "yuv420p",
    "-f",
    "hls",
    "-hls_time",
    "1",
    "-hls_playlist_type",
    "vod",
];

pub const X264_FAST: [&str; 6] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
];

pub fn fast_x264() -> EncoderSettings {
    EncoderSettings::default().with_preset("ultrafast".to_owned())
}

/// Video frames of a file as ffprobe decodes them (`-count_frames`).
pub fn decoded_frames(path: &Path) -> u64 {
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
