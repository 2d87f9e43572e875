//! `convert` for videos, live streams and capture devices.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use omnidewarp::DetectOptions;
use omnidewarp::calib::{self, CalibrationOrigin};
use omnidewarp::model::CameraPath;
use omnidewarp::video::{
    EncoderSettings, Limits, OutputTarget, Progress, ProgressFn, Reconnect, VideoInput, VideoJob,
    convert as convert_job, detect_in_first_frame, interrupt_flag,
};

use crate::Failure;
use crate::args::ConvertArgs;
use crate::output::check_not_input;

/// Video containers the output may name.
const CONTAINERS: [&str; 10] = [
    "mp4", "m4v", "mov", "mkv", "y4m", "nut", "avi", "ts", "mts", "m2ts",
];

/// Exit status after Ctrl-C (128 + SIGINT), as shells report it.
const INTERRUPTED: u8 = 130;

/// Converts a video input per the flags: one call into the library, with a progress bar on
/// a terminal, a line every few seconds otherwise, nothing with `--quiet`.
pub fn convert(args: &ConvertArgs) -> Result<(), Failure> {
    let quiet = log::max_level() < log::LevelFilter::Info;
    let output = output_target(args)?;
    let video = &args.video;
    let mut input = VideoInput::new(args.input.to_string_lossy());
    for line in &video.headers {
        input
            .add_header_line(line)
            .map_err(|e| Failure::usage(format!("--header: {e}")))?;
    }
    input.options.extend(video.input_options.iter().cloned());
    input.drop_late = video.realtime;
    if video.no_reconnect {
        input.reconnect = Reconnect::disabled();
    }
    // The input is opened once to detect the ring (when no file serves), then again for
    // the conversion.
    let resolved = calib::resolve(args.calib.as_deref(), Some(&args.input), || {
        detect_in_first_frame(&input, video.start, &DetectOptions::default())
    })?;
    match &resolved.origin {
        CalibrationOrigin::Detected(ring) => {
            log::info!("no --calib: using the ring detected in the first frame, {ring}");
        }
        origin if args.calib.is_none() => log::info!("no --calib: using {origin}"),
        _ => {}
    }
    let calibration = resolved.calibration;
    let view = args.view.build(&calibration)?;
    let path = match &video.path {
        Some(p) => Some(CameraPath::load(p).map_err(|e| Failure::usage(e.to_string()))?),
        None => None,
    };
    let mut job = VideoJob::new(input, output.clone(), calibration, view);
    job.options = args.sampling.options().with_backend(args.backend);
    job.path = path;
    job.limits = Limits::default()
        .with_frames(video.frames)
        .with_start(video.start)
        .with_duration(video.duration);
    if video.duration == Some(0.0) {
        return Err(Failure::usage("--duration must be positive"));
    }
    job.encoder = EncoderSettings::default()
        .with_codec(video.codec.clone())
        .with_crf(video.crf)
        .with_bitrate(video.bitrate)
        .with_preset(video.preset.clone());
    job.cancel = Some(interrupt_flag()?);
    let bar = (!quiet && std::io::stderr().is_terminal()).then(new_bar);
    job.progress = (!quiet).then(|| reporter(bar.clone()));
    let result = convert_job(&job);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if let Some(lost) = &report.stream_lost {
        log::warn!("{lost}");
    }
    let target = output.display();
    let encoder = report
        .encoder
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    let mut summary = format!(
        "{} frames to {target}{encoder}: {:.1} s of video in {:.1} s ({:.1} fps)",
        report.frames,
        report.media_duration,
        report.elapsed.as_secs_f64(),
        report.fps
    );
    if report.dropped > 0 {
        summary.push_str(&format!(
            ", {} live frames dropped to keep up",
            report.dropped
        ));
    }
    if report.interrupted {
        return Err(Failure {
            code: INTERRUPTED,
            message: format!("interrupted; wrote {summary} and finalised it"),
        });
    }
    log::info!("wrote {summary}, dewarped on the {}", report.backend);
    Ok(())
}

fn output_target(args: &ConvertArgs) -> Result<OutputTarget, Failure> {
    let target = OutputTarget::from_arg(&args.output);
    if let OutputTarget::File(path) = &target {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if !CONTAINERS.contains(&ext.as_str()) {
            return Err(Failure::usage(format!(
                "{}: unsupported video output (use .mp4, .mkv, .mov, .y4m, .nut, .avi, .ts, \
                 an image sequence such as out_%05d.png, or null)",
                path.display()
            )));
        }
        check_not_input(&args.input, path)?;
    }
    Ok(target)
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::no_length();
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `12.3 s` / `4 min 05 s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn describe(p: &Progress) -> String {
    let mut text = match p.total {
        Some(total) => format!("{}/{total} frames, {:.1} fps", p.frames, p.fps),
        None => format!(
            "{} frames ({:.1} s of video), {:.1} fps",
            p.frames, p.media_time, p.fps
        ),
    };
    if let Some(eta) = p.eta {
        text.push_str(&format!(", ETA {}", human(eta)));
    }
    if p.reconnects > 0 {
        text.push_str(&format!(", {} reconnects", p.reconnects));
    }
    text
}

/// Progress shown on the bar (a terminal) or as a plain line every 2 s (logs, pipes).
fn reporter(bar: Option<ProgressBar>) -> ProgressFn {
    match bar {
        Some(bar) => {
            let counted = ProgressStyle::with_template(
                "{spinner} [{bar:40.cyan/blue}] {pos}/{len} frames  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let open = ProgressStyle::with_template("{spinner} {pos} frames  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let styled = Mutex::new(false);
            Box::new(move |p: &Progress| {
                let mut done = styled.lock().unwrap_or_else(|e| e.into_inner());
                if !*done {
                    *done = true;
                    match p.total {
                        Some(total) => {
                            bar.set_style(counted.clone());
                            bar.set_length(total);
                        }
                        None => bar.set_style(open.clone()),
                    }
                }
                bar.set_position(p.frames);
                let mut msg = format!("{:.1} fps", p.fps);
                if let Some(eta) = p.eta {
                    msg.push_str(&format!(", ETA {}", human(eta)));
                }
                if p.total.is_none() {
                    msg.push_str(&format!(", {:.1} s of video", p.media_time));
                }
                if p.reconnects > 0 {
                    msg.push_str(&format!(", {} reconnects", p.reconnects));
                }
                bar.set_message(msg);
            })
        }
        None => {
            let last = Mutex::new(Instant::now());
            Box::new(move |p: &Progress| {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if !p.done && last.elapsed() >= Duration::from_secs(2) {
                    *last = Instant::now();
                    eprintln!("omnidewarp: {}", crate::output::clean(&describe(p)));
                }
            })
        }
    }
}
