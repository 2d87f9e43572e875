//! Recording what was looked at: the camera path as CSV (`time,yaw,pitch,fov`, degrees,
//! which `omnidewarp convert --path` replays) and, with `--record-video`, the view itself
//! as H.264 through the library's `VideoWriter`.

use std::io::Write;
use std::path::{Path, PathBuf};

use omnidewarp::model::{Calibration, Projection, View};
use omnidewarp::output::AtomicFile;
use omnidewarp::video::{EncoderSettings, OutputTarget, VideoWriter, WriterConfig};
use omnidewarp::{CpuDewarper, DewarpOptions, FrameBuf, PixelFormat, YuvColor};

use crate::media::Picture;

/// A path keyframe: seconds, then yaw, pitch, fov in degrees.
type Row = (f64, f64, f64, f64);

/// The view encoder of a recording.
struct ViewVideo {
    path: PathBuf,
    writer: Option<VideoWriter>,
    dewarper: Option<CpuDewarper>,
    rgba: Option<FrameBuf>,
    yuv: Option<FrameBuf>,
    size: Option<(u32, u32)>,
    error: Option<String>,
}

/// A recording in progress.
pub struct Recorder {
    csv: PathBuf,
    rows: Vec<Row>,
    started: Option<f64>,
    media_start: f64,
    video: Option<ViewVideo>,
}

impl Recorder {
    /// Starts recording into `dir` (and the view into `video`); `media_start` is the
    /// source's time when it starts, for the replay command.
    pub fn start(dir: &Path, video: Option<&Path>, media_start: f64) -> omnidewarp::Result<Self> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Self {
            csv: dir.join(format!("omniview-path-{stamp}.csv")),
            rows: Vec::new(),
            started: None,
            media_start,
            video: video.map(|p| ViewVideo {
                path: p.to_owned(),
                writer: None,
                dewarper: None,
                rgba: None,
                yuv: None,
                size: None,
                error: None,
            }),
        })
    }

    /// What is being recorded, for the status message.
    pub fn describe(&self) -> String {
        match &self.video {
            Some(v) => format!("{} and {}", self.csv.display(), v.path.display()),
            None => self.csv.display().to_string(),
        }
    }

    /// Notes the view shown at app time `now` (a keyframe when it changed) and encodes it.
    pub fn sample(&mut self, now: f64, view: &View, calibration: &Calibration, picture: &Picture) {
        let t0 = *self.started.get_or_insert(now);
        let t = now - t0;
        let fov = match view.projection {
            Projection::Perspective { fov }
            | Projection::Quad { fov }
            | Projection::Stereographic { fov } => fov,
            _ => 0.0,
        };
        let row = (
            t,
            view.orientation.yaw.to_degrees(),
            view.orientation.pitch.to_degrees(),
            fov.to_degrees(),
        );
        let changed = self
            .rows
            .last()
            .is_none_or(|last| (last.1, last.2, last.3) != (row.1, row.2, row.3));
        if changed {
            self.rows.push(row);
        }
        if let Some(video) = &mut self.video {
            if video.error.is_none() {
                if let Err(e) = video.encode(t, view, calibration, picture) {
                    video.error = Some(e.to_string());
                }
            }
        }
    }

    /// Stops: writes the CSV (atomically) and finishes the video; returns the lines to
    /// print (paths and the replay command).
    pub fn finish(mut self) -> omnidewarp::Result<Vec<String>> {
        if let Some(last) = self.rows.last().copied() {
            // A path of one keyframe holds still: give it a second one so that it reads as
            // a path.
            if self.rows.len() == 1 {
                self.rows
                    .push((last.0 + 1.0 / 30.0, last.1, last.2, last.3));
            }
        }
        let mut text = String::from("time,yaw,pitch,fov\n");
        for (t, yaw, pitch, fov) in &self.rows {
            text.push_str(&format!("{t:.4},{yaw:.4},{pitch:.4},{fov:.4}\n"));
        }
        let mut file = AtomicFile::create(&self.csv)?;
        file.write_all(text.as_bytes())
            .map_err(|source| omnidewarp::Error::Io {
                path: self.csv.clone(),
                source,
            })?;
        file.commit()?;
        let mut lines = vec![format!(
            "camera path: {} ({} keyframes; replay: omnidewarp convert INPUT --start {:.2} --path {} -o OUT.mp4)",
            self.csv.display(),
            self.rows.len(),
            self.media_start,
            self.csv.display()
        )];
        if let Some(video) = self.video.take() {
            if let Some(e) = video.error {
                lines.push(format!("view recording failed: {e}"));
            } else if let Some(writer) = video.writer {
                let frames = writer.finish()?;
                lines.push(format!(
                    "view video: {} ({frames} frames)",
                    video.path.display()
                ));
            }
        }
        Ok(lines)
    }
}

impl ViewVideo {
    /// Renders `view` (at an even size, as H.264's 4:2:0 needs) as I420 and writes it.
    fn encode(
        &mut self,
        t: f64,
        view: &View,
        calibration: &Calibration,
        picture: &Picture,
    ) -> omnidewarp::Result<()> {
        let mut view = *view;
        view.width = (view.width & !1).max(2);
        view.height = (view.height & !1).max(2);
        let size = (view.width, view.height);
        if self.size.is_some_and(|s| s != size) {
            // The first size stays: the window changed size, the recording does not.
            return Ok(());
        }
        let dewarper = match &mut self.dewarper {
            Some(d) => {
                d.set_view(view)?;
                d
            }
            slot => slot.insert(CpuDewarper::new(
                calibration.clone(),
                view,
                DewarpOptions::default(),
            )?),
        };
        let color = YuvColor::default();
        let yuv = match &mut self.yuv {
            Some(b) => b,
            slot => slot.insert(FrameBuf::new(PixelFormat::I420, size.0, size.1)?),
        };
        let frame = picture.frame()?;
        if frame.format().is_yuv() {
            dewarper.dewarp(&frame, &mut yuv.frame_mut())?;
            yuv.set_color(frame.color());
        } else {
            let rgba = match &mut self.rgba {
                Some(b) => b,
                slot => slot.insert(FrameBuf::new(PixelFormat::Rgba8, size.0, size.1)?),
            };
            dewarper.dewarp(&frame, &mut rgba.frame_mut())?;
            rgba_to_i420(rgba, yuv, color)?;
            yuv.set_color(color);
        }
        if self.writer.is_none() {
            let config = WriterConfig {
                width: size.0,
                height: size.1,
                frame_rate: (30, 1),
                time_base: (1, 1000),
                color: yuv.color(),
                spherical: None,
            };
            let settings = EncoderSettings::default().with_preset("veryfast".to_string());
            self.writer = Some(VideoWriter::create(
                &OutputTarget::File(self.path.clone()),
                &settings,
                &config,
            )?);
            self.size = Some(size);
        }
        if let Some(writer) = &mut self.writer {
            writer.write(&yuv.frame(), t)?;
        }
        Ok(())
    }
}

/// RGBA → I420 (chroma averaged over 2×2) in `color`'s matrix and range.
fn rgba_to_i420(rgba: &FrameBuf, yuv: &mut FrameBuf, color: YuvColor) -> omnidewarp::Result<()> {
    let src = rgba.frame();
    let (w, h) = (src.width() as usize, src.height() as usize);
    let data = rgba.plane(0);
    let stride = src.plane(0).stride;
    let mut out = yuv.frame_mut();
    let planes = out.planes_mut();
    let (ys, us, vs) = (planes[0].stride(), planes[1].stride(), planes[2].stride());
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let mut sum = [0u32; 2];
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let (px, py) = ((x + dx).min(w - 1), (y + dy).min(h - 1));
                let i = py * stride + px * 4;
                let [yy, u, v] = color.from_rgb([data[i], data[i + 1], data[i + 2]]);
                planes[0].data_mut()[py * ys + px] = yy;
                sum[0] += u32::from(u);
                sum[1] += u32::from(v);
            }
            planes[1].data_mut()[(y / 2) * us + x / 2] = ((sum[0] + 2) / 4) as u8;
            planes[2].data_mut()[(y / 2) * vs + x / 2] = ((sum[1] + 2) / 4) as u8;
        }
    }
    Ok(())
}
