//! Command-line flags.

use std::path::PathBuf;

use clap::Parser;

/// The desktop viewer: look around inside a mirror camera's frames, files or live streams.
///
/// With no SOURCE it opens the shipped samples. Keys: press h in the window.
#[derive(Debug, Parser)]
#[command(name = "omniview", version)]
pub struct Args {
    /// Images, video files, URLs (http(s), HLS, RTSP, SRT, UDP) or V4L2 devices
    /// (/dev/video0); Tab switches between them.
    pub sources: Vec<String>,
    /// Calibration file for each source, in order (a single one serves every source)
    /// [default: NAME.omnidewarp.toml beside the file, else the ring auto-detected].
    #[arg(long)]
    pub calib: Vec<PathBuf>,
    /// Window size, WxH (physical pixels).
    #[arg(long, value_parser = parse_size, default_value = "1280x720")]
    pub size: (u32, u32),
    /// Print one line per second: fps, p50/p99 frame time, dropped frames, backend, view,
    /// and the last frame's dewarp / upload / present times.
    #[arg(long)]
    pub stats: bool,
    /// Forget the remembered views, modes and calibration edits.
    #[arg(long)]
    pub reset: bool,
    /// While recording (r), also encode the view as H.264 into this file.
    #[arg(long, value_name = "FILE")]
    pub record_video: Option<PathBuf>,
    /// Where `s` saves screenshots and `r` camera paths.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// Where Ctrl+S saves a calibration [default: NAME.omnidewarp.toml beside the source].
    #[arg(long, value_name = "FILE")]
    pub save_calib: Option<PathBuf>,
    /// Renderer: auto (the GPU on a hardware adapter, the CPU dewarper on a software one),
    /// cpu or gpu.
    #[arg(long, value_enum, default_value_t = RendererArg::Auto)]
    pub renderer: RendererArg,
    /// Inertia after a drag: speed decay per second (0 = no inertia).
    #[arg(long, default_value_t = 4.0, value_parser = parse_non_negative)]
    pub friction: f64,
    /// Zoom factor per wheel click or + / - press.
    #[arg(long, default_value_t = 1.15, value_parser = parse_zoom_step)]
    pub zoom_step: f64,
    /// Narrowest PTZ field of view, degrees.
    #[arg(long, default_value_t = 15.0)]
    pub fov_min: f64,
    /// Widest PTZ field of view, degrees.
    #[arg(long, default_value_t = 120.0)]
    pub fov_max: f64,
    /// Start with this mode (0 raw, 1 PTZ, 2 panorama, 3 cylinder, 4 little planet,
    /// 5 double panorama, 6 quad) instead of the remembered one.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=6))]
    pub mode: Option<u8>,
}

/// `--renderer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RendererArg {
    /// Choose by adapter.
    Auto,
    /// The CPU dewarper and a texture upload.
    Cpu,
    /// The GPU dewarper drawing into the window's pass.
    Gpu,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WxH, got `{s}`"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| (16..=16384).contains(&n))
            .ok_or_else(|| format!("`{v}` is not a size from 16 to 16384"))
    };
    Ok((parse(w)?, parse(h)?))
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{s}` is not a number ≥ 0"))
}

fn parse_zoom_step(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 1.0 && *v <= 4.0)
        .ok_or_else(|| format!("`{s}` is not a factor above 1 (at most 4)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_steps_parse_or_say_why() {
        assert_eq!(parse_size("640x360"), Ok((640, 360)));
        assert!(parse_size("640").unwrap_err().contains("WxH"));
        assert!(parse_size("0x10").is_err());
        assert!(parse_zoom_step("1").is_err());
        assert!(parse_non_negative("-1").is_err());
        let args =
            Args::try_parse_from(["omniview", "a.jpg", "--calib", "a.toml", "--stats"]).unwrap();
        assert_eq!(args.sources, ["a.jpg"]);
        assert!(args.stats);
        assert_eq!(args.size, (1280, 720));
    }
}
