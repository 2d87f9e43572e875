//! Times the CPU backend in-process on issue 11's workloads, for `scripts/compare_peers.py`
//! and BENCHMARKS.md: a 2880² ring frame (DESIGN.md's ring, −55°..+60°) →
//!
//! - W1: 4096×2048 equirect, full sphere (what `ffmpeg v360 … output=equirect` makes);
//! - W1b: 4096×1024 band panorama (+60°..−55°);
//! - W2: 1920×1080 perspective, 90° FOV, on the horizon;
//! - W3: W2 with the yaw turned +1° before every frame (the mapping is rebuilt each time).
//!
//! `cargo run --release --example cpu_workloads -- [--threads N] [--runs N] [--format rgb8|rgba8|gray8|i420]
//! [--output rgba8] [--antialias] [--level scalar|avx2] [--only W1,W2] [--psnr] [--export DIR]`
//!
//! The output is in the source's format unless `--output rgba8` (what the viewer draws).
//! Prints one line per workload: `NAME ms=MEDIAN mpx_s=… [psnr=… max=…]` (median of `runs`
//! calls after one warm-up call; `--psnr` compares one output with the exact per-pixel oracle,
//! `dewarp_reference`). `--export DIR` writes what peers need to do the same job, raw:
//! `frame.raw` (the source, packed), and per workload `NAME_map.f32` (the exact source
//! position of every output pixel, x and y interleaved, little-endian, NaN outside the
//! content) and `NAME_oracle.raw` (the oracle's output).

use std::time::Instant;

const USAGE: &str = "usage: cpu_workloads [--threads N] [--runs N] [--format rgb8|rgba8|gray8|i420] \
                     [--output rgba8] [--antialias] [--level scalar|avx2] [--only W1,W2] [--psnr] \
                     [--export DIR]";

use glam::DVec2;
use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
use omnidewarp::{CpuDewarper, DewarpOptions, FrameBuf, PixelFormat, dewarp_reference};

fn ring_2880() -> Calibration {
    let ring = RingModel::builder()
        .center(DVec2::splat(1439.5))
        .radii(492.5, 1411.2)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build()
        .expect("valid ring");
    Calibration::new((2880, 2880), CameraModel::Ring(ring), None).expect("valid calibration")
}

/// A frame with detail at every scale (so sampling is not flattered by flat areas).
fn frame(format: PixelFormat, size: u32) -> FrameBuf {
    let mut buf = FrameBuf::new(format, size, size).expect("frame");
    for (k, plane) in buf.frame_mut().planes_mut().iter_mut().enumerate() {
        for (j, row) in plane.rows_mut().enumerate() {
            for (i, v) in row.iter_mut().enumerate() {
                let (x, y) = (i as f64, j as f64);
                let s = (x * 0.013).sin() * (y * 0.021).cos() + ((x + y) * 0.11 + k as f64).sin();
                *v = (128.0 + 60.0 * s + ((i * 7 + j * 13) % 17) as f64).clamp(0.0, 255.0) as u8;
            }
        }
    }
    buf
}

fn parse_format(name: &str) -> Result<PixelFormat, String> {
    match name {
        "rgb8" => Ok(PixelFormat::Rgb8),
        "rgba8" => Ok(PixelFormat::Rgba8),
        "gray8" => Ok(PixelFormat::Gray8),
        "i420" => Ok(PixelFormat::I420),
        other => Err(format!("unknown format {other} (rgb8, rgba8, gray8, i420)")),
    }
}

fn workloads() -> Vec<(&'static str, View, bool)> {
    let deg = f64::to_radians;
    let view = |projection, w, h| View::new(projection, Orientation::default(), w, h).unwrap();
    let perspective = view(Projection::Perspective { fov: deg(90.0) }, 1920, 1080);
    vec![
        (
            "W1",
            view(
                Projection::Equirect {
                    top: deg(90.0),
                    bottom: deg(-90.0),
                },
                4096,
                2048,
            ),
            false,
        ),
        (
            "W1b",
            view(
                Projection::Equirect {
                    top: deg(60.0),
                    bottom: deg(-55.0),
                },
                4096,
                1024,
            ),
            false,
        ),
        ("W2", perspective, false),
        ("W3", perspective, true),
    ]
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpu_workloads: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut threads, mut runs, mut format) = (2usize, 21usize, PixelFormat::Rgb8);
    let (mut antialias, mut psnr, mut only) = (false, false, None::<String>);
    let mut level = None::<omnidewarp::cpu::CpuLevel>;
    let mut export = None::<std::path::PathBuf>;
    let mut output = None::<PixelFormat>;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => threads = number(&arg, &value()?)?,
            "--runs" => runs = number(&arg, &value()?)?,
            "--format" => format = parse_format(&value()?)?,
            "--output" => output = Some(parse_format(&value()?)?),
            "--antialias" => antialias = true,
            "--level" => level = Some(value()?.parse()?),
            "--psnr" => psnr = true,
            "--only" => only = Some(value()?),
            "--export" => export = Some(value()?.into()),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other} ({USAGE})").into()),
        }
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let calibration = ring_2880();
    let src = frame(format, 2880);
    let output = output.unwrap_or(format);
    let options = DewarpOptions::default()
        .with_antialias(antialias)
        .with_expected_frames(u64::MAX);
    for (name, view, panning) in workloads() {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|w| w == name))
        {
            continue;
        }
        let mut dewarper = CpuDewarper::new(calibration.clone(), view, options)?;
        if let Some(level) = level {
            dewarper.set_cpu_level(level)?;
        }
        let mut out = FrameBuf::new(output, view.width, view.height)?;
        dewarper.dewarp(&src.frame(), &mut out.frame_mut())?;
        if let Some(dir) = &export {
            std::fs::create_dir_all(dir)?;
            let frame: Vec<u8> = (0..format.plane_count())
                .flat_map(|k| src.plane(k).to_vec())
                .collect();
            std::fs::write(dir.join("frame.raw"), frame)?;
            let map = omnidewarp::source_positions(&calibration, &view, (2880, 2880))?;
            let bytes: Vec<u8> = map.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dir.join(format!("{name}_map.f32")), bytes)?;
            let mut exact = FrameBuf::new(output, view.width, view.height)?;
            dewarp_reference(
                &calibration,
                &view,
                &options,
                &src.frame(),
                &mut exact.frame_mut(),
            )?;
            let oracle: Vec<u8> = (0..output.plane_count())
                .flat_map(|k| exact.plane(k).to_vec())
                .collect();
            std::fs::write(dir.join(format!("{name}_oracle.raw")), oracle)?;
        }
        let mut times = Vec::with_capacity(runs);
        let mut yaw = 0.0;
        for _ in 0..runs {
            if panning {
                yaw += 1f64.to_radians();
                let mut v = view;
                v.orientation.yaw = yaw;
                dewarper.set_view(v)?;
            }
            let t = Instant::now();
            dewarper.dewarp(&src.frame(), &mut out.frame_mut())?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let mpx = f64::from(view.width * view.height) / 1e6;
        print!("{name} ms={:.2} mpx_s={:.1}", median * 1e3, mpx / median);
        if psnr {
            let mut exact = FrameBuf::new(output, view.width, view.height)?;
            let v = *dewarper.view();
            dewarp_reference(
                &calibration,
                &v,
                &options,
                &src.frame(),
                &mut exact.frame_mut(),
            )?;
            let (mut se, mut max, mut n) = (0f64, 0u8, 0usize);
            for k in 0..output.plane_count() {
                for (a, b) in out.plane(k).iter().zip(exact.plane(k)) {
                    let d = a.abs_diff(*b);
                    se += f64::from(d) * f64::from(d);
                    max = max.max(d);
                    n += 1;
                }
            }
            let mse = se / n as f64;
            let db = if mse == 0.0 {
                f64::INFINITY
            } else {
                10.0 * (255.0f64 * 255.0 / mse).log10()
            };
            print!(" psnr={db:.1} max={max}");
        }
        println!();
    }
    Ok(())
}

/// A whole number ≥ 1 for `flag`.
fn number(flag: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("{flag} takes a whole number ≥ 1, not `{text}`"))
}
