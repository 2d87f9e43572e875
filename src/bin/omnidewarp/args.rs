//! Command-line syntax.

use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use omnidewarp::model::{Calibration, ProjectionKind, View, ViewRequest};
use omnidewarp::{Backend, DewarpOptions, Interpolation};

use crate::Failure;

/// Dewarp catadioptric (mirror) 360° camera frames into panoramas and virtual PTZ views.
#[derive(Debug, Parser)]
#[command(name = "omnidewarp", version, about, propagate_version = true)]
pub struct Cli {
    /// Print errors only.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert a mirror frame into a panorama or a perspective view.
    Convert(Box<ConvertArgs>),
    /// Render the mirror frame a calibrated camera would see of an equirectangular panorama.
    RenderMirror(RenderMirrorArgs),
    /// Write the per-pixel source coordinates of a view (FFmpeg remap PGM or numpy .npy).
    ExportMap(ExportMapArgs),
    /// Summarise a calibration file (our TOML, OpenCV omnidir YAML/XML, OCamCalib txt).
    Info {
        /// The calibration file.
        file: PathBuf,
    },
    /// Find the mirror ring in a frame (no chessboard needed) and print or save a calibration.
    Detect(DetectArgs),
}

/// `detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The frame (PNG, JPEG).
    pub frame: PathBuf,
    /// Write the calibration here (our TOML).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Elevation seen at the inner edge (the camera's reflection), degrees.
    #[arg(long, value_parser = parse_angle, default_value = "-55", allow_hyphen_values = true)]
    pub elevation_inner: f64,
    /// Elevation seen at the mirror's rim, degrees.
    #[arg(long, value_parser = parse_angle, default_value = "60", allow_hyphen_values = true)]
    pub elevation_outer: f64,
}

/// Anti-aliasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AntialiasArg {
    /// Filter where the view minifies the frame.
    Auto,
    /// Plain interpolation everywhere.
    Off,
}

/// `WxH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Largest side of any image the CLI writes (`--size`, `--frame-size`, or a calibration's
/// image size for `render-mirror`): 16384 px, so an output is at most 1 GiB of RGBA.
pub const MAX_OUTPUT_SIDE: u32 = 16384;

fn parse_size(s: &str) -> Result<Size, String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}` is not WIDTHxHEIGHT"))?;
    let parse = |v: &str| -> Result<u32, String> {
        match v.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_OUTPUT_SIDE).contains(&n) => Ok(n),
            _ => Err(format!("`{v}` is not a size in 1..={MAX_OUTPUT_SIDE}")),
        }
    };
    Ok(Size {
        width: parse(w)?,
        height: parse(h)?,
    })
}

fn parse_fill(s: &str) -> Result<[u8; 4], String> {
    let hex = s.trim_start_matches('#');
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>();
    match (hex.len(), bytes) {
        (6, Some(b)) => Ok([b[0], b[1], b[2], 255]),
        (8, Some(b)) => Ok([b[0], b[1], b[2], b[3]]),
        _ => Err(format!("`{s}` is not RRGGBB or RRGGBBAA hex")),
    }
}

fn parse_angle(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not an angle in degrees")),
    }
}

/// A flag taking one of the library's names (`NAMES`), each with its one-line summary for
/// `--help`, parsed by the library's `FromStr`.
fn library_names<T>(
    values: impl IntoIterator<Item = (&'static str, &'static str)>,
) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = omnidewarp::Error> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(
        values
            .into_iter()
            .map(|(name, summary)| PossibleValue::new(name).help(summary)),
    )
    .try_map(|name| name.parse::<T>())
}

fn projection_parser() -> impl TypedValueParser<Value = ProjectionKind> {
    library_names(ProjectionKind::ALL.map(|k| (k.name(), k.summary())))
}

fn interpolation_parser() -> impl TypedValueParser<Value = Interpolation> {
    library_names(Interpolation::ALL.map(|v| (v.name(), v.summary())))
}

fn backend_parser() -> impl TypedValueParser<Value = Backend> {
    library_names(Backend::ALL.map(|v| (v.name(), v.summary())))
}

/// What to show, shared by `convert` and `export-map`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Output projection.
    #[arg(long, value_parser = projection_parser(), default_value = "equirect")]
    pub projection: ProjectionKind,
    /// Output size WxH [default: equirect 4096x2048, perspective/quad 1920x1080, ...].
    #[arg(long, value_parser = parse_size)]
    pub size: Option<Size>,
    /// Heading of the view centre (degrees, clockwise from north).
    #[arg(long, value_parser = parse_angle, default_value = "0", allow_hyphen_values = true)]
    pub yaw: f64,
    /// Elevation of the view centre (degrees) [default: 0; stereographic: -90].
    #[arg(long, value_parser = parse_angle, allow_hyphen_values = true)]
    pub pitch: Option<f64>,
    /// Rotation about the view axis (degrees).
    #[arg(long, value_parser = parse_angle, default_value = "0", allow_hyphen_values = true)]
    pub roll: f64,
    /// Horizontal field of view (degrees) [default: 90; stereographic: 240].
    #[arg(long, value_parser = parse_angle)]
    pub fov: Option<f64>,
    /// Limit panoramas to the mirror's elevation range instead of the full sphere.
    #[arg(long)]
    pub band: bool,
}

impl ViewArgs {
    /// The library's view request these flags make (degrees become radians).
    pub fn request(&self) -> ViewRequest {
        let mut request = ViewRequest::new(self.projection)
            .with_band(self.band)
            .with_yaw(self.yaw.to_radians())
            .with_roll(self.roll.to_radians());
        if let Some(fov) = self.fov {
            request = request.with_fov(fov.to_radians());
        }
        if let Some(pitch) = self.pitch {
            request = request.with_pitch(pitch.to_radians());
        }
        if let Some(size) = self.size {
            request = request.with_size(size.width, size.height);
        }
        request
    }

    /// The view for `calibration`; a view the flags make impossible is a usage error.
    pub fn build(&self, calibration: &Calibration) -> Result<View, Failure> {
        self.request()
            .build(calibration)
            .map_err(|e| Failure::usage(e.to_string()))
    }
}

/// Sampling flags.
#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Interpolation.
    #[arg(long, value_parser = interpolation_parser(), default_value = "bilinear")]
    pub interp: Interpolation,
    /// Anti-aliasing where the view minifies the frame.
    #[arg(long, value_enum, default_value_t = AntialiasArg::Auto)]
    pub antialias: AntialiasArg,
    /// Colour outside the mirror's content, RRGGBB or RRGGBBAA (alpha 00 = transparent).
    #[arg(long, value_parser = parse_fill, default_value = "000000")]
    pub fill: [u8; 4],
}

impl SamplingArgs {
    /// The library's sampling options these flags make.
    pub fn options(&self) -> DewarpOptions {
        DewarpOptions::default()
            .with_interpolation(self.interp)
            .with_antialias(self.antialias == AntialiasArg::Auto)
            .with_fill(self.fill)
    }
}

/// `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input: a frame (PNG, JPEG), a video file, a URL (http(s), HLS, RTSP, RTMP, SRT, UDP)
    /// or a capture device (/dev/video0).
    pub input: PathBuf,
    /// Output: an image (png, jpg) for a frame; for a video, a video file (mp4, mkv, mov,
    /// y4m, nut, avi, ts), an image sequence (out_%05d.png) or `null` (discard, for timing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Calibration file (our TOML, OpenCV YAML/XML, OCamCalib txt) [default: NAME.omnidewarp.toml
    /// beside the input NAME.EXT when there is one, else the mirror ring detected in the
    /// (first) frame, as `omnidewarp detect` does].
    #[arg(long)]
    pub calib: Option<PathBuf>,
    /// View flags.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Sampling flags.
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Processing backend, for stills and videos alike.
    #[arg(long, value_parser = backend_parser(), default_value = "auto")]
    pub backend: Backend,
    /// Video flags.
    #[command(flatten)]
    pub video: VideoArgs,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err("expected KEY=VALUE, e.g. rtsp_transport=tcp".to_owned()),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a time in seconds")),
    }
}

fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    match digits.parse::<f64>() {
        Ok(v) if v.is_finite() && v * scale >= 1000.0 && v * scale <= 1e11 => {
            Ok((v * scale).round() as u64)
        }
        _ => Err(format!(
            "`{s}` is not a bit rate (bits per second, e.g. 8M or 2500k)"
        )),
    }
}

fn parse_crf(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=63.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a crf in 0..63")),
    }
}

/// Flags for video inputs, live streams and devices.
#[derive(Debug, Args)]
#[command(next_help_heading = "Video")]
pub struct VideoArgs {
    /// Convert at most N frames.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: Option<u64>,
    /// Start this many seconds into the input.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub start: Option<f64>,
    /// Convert at most this many seconds of the input.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Encoder or codec: libx264, h264, hevc, mpeg4, ffv1, … [default: libx264 when the
    /// system FFmpeg has it, else mpeg4].
    #[arg(long)]
    pub codec: Option<String>,
    /// Constant rate factor: lower is better and larger [default: 23].
    #[arg(long, value_parser = parse_crf, conflicts_with = "bitrate")]
    pub crf: Option<f32>,
    /// Target bit rate instead of a crf: 8M, 2500k, or bits per second.
    #[arg(long, value_parser = parse_bitrate)]
    pub bitrate: Option<u64>,
    /// Encoder preset (libx264: ultrafast, veryfast, fast, medium, slow, …).
    #[arg(long)]
    pub preset: Option<String>,
    /// Extra HTTP header for URL inputs, "Name: value"; repeatable. Never printed.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// FFmpeg demuxer or protocol option for the input, KEY=VALUE; repeatable (e.g.
    /// rtsp_transport=tcp for a camera behind NAT, probesize=32768). Values are never printed.
    #[arg(long = "input-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub input_options: Vec<(String, String)>,
    /// Do not reconnect when a network stream drops or stalls.
    #[arg(long)]
    pub no_reconnect: bool,
    /// Live inputs: drop frames when dewarping falls behind the stream, rather than read the
    /// stream more slowly than it comes (real-time conversion).
    #[arg(long)]
    pub realtime: bool,
    /// Virtual camera path: CSV `time,yaw,pitch,fov[,roll]` or JSON
    /// `[{"t":0,"yaw":0,"pitch":0,"fov":90}, …]` (seconds, degrees), interpolated per frame.
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl VideoArgs {
    /// The flags that only make sense for videos, named, when given.
    pub fn given(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let flags = [
            (self.frames.is_some(), "--frames"),
            (self.start.is_some(), "--start"),
            (self.duration.is_some(), "--duration"),
            (self.codec.is_some(), "--codec"),
            (self.crf.is_some(), "--crf"),
            (self.bitrate.is_some(), "--bitrate"),
            (self.preset.is_some(), "--preset"),
            (!self.headers.is_empty(), "--header"),
            (!self.input_options.is_empty(), "--input-option"),
            (self.no_reconnect, "--no-reconnect"),
            (self.realtime, "--realtime"),
            (self.path.is_some(), "--path"),
        ];
        for (set, name) in flags {
            if set {
                out.push(name);
            }
        }
        out
    }
}

/// `render-mirror`.
#[derive(Debug, Args)]
pub struct RenderMirrorArgs {
    /// Full-sphere equirectangular panorama (left edge heading -180°, top +90°).
    pub panorama: PathBuf,
    /// Calibration of the camera to simulate.
    #[arg(long)]
    pub calib: PathBuf,
    /// Frame size WxH [default: the calibration's image size].
    #[arg(long, value_parser = parse_size)]
    pub size: Option<Size>,
    /// Output frame (png, jpg).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Sampling flags.
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// Remap table format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapFormat {
    /// 16-bit PGM xmap/ymap for FFmpeg's `remap` filter (nearest pixel; 65535 = no content).
    Pgm16,
    /// float32 .npy arrays for OpenCV `cv2.remap` (-1 = no content).
    Npy,
}

/// `export-map`.
#[derive(Debug, Args)]
pub struct ExportMapArgs {
    /// Calibration file.
    #[arg(long)]
    pub calib: PathBuf,
    /// Frame size WxH the map is for [default: the calibration's image size].
    #[arg(long, value_parser = parse_size)]
    pub frame_size: Option<Size>,
    /// View flags.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Output prefix: writes PREFIX_x.EXT and PREFIX_y.EXT.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Table format.
    #[arg(long, value_enum, default_value_t = MapFormat::Pgm16)]
    pub format: MapFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_fills_parse() {
        assert_eq!(
            parse_size("640x480"),
            Ok(Size {
                width: 640,
                height: 480
            })
        );
        assert!(parse_size("0x480").is_err());
        assert!(parse_size("640").is_err());
        assert_eq!(parse_fill("ff8000"), Ok([255, 128, 0, 255]));
        assert_eq!(parse_fill("#00000000"), Ok([0, 0, 0, 0]));
        assert!(parse_fill("red").is_err());
        assert!(parse_angle("nan").is_err());
        assert_eq!(parse_bitrate("8M"), Ok(8_000_000));
        assert_eq!(parse_bitrate("2500k"), Ok(2_500_000));
        assert_eq!(parse_bitrate("400000"), Ok(400_000));
        assert!(parse_bitrate("fast").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_crf("70").is_err());
    }
}
