//! What each subcommand does.

use std::io::Write;
use std::path::Path;

use omnidewarp::calib::{self, ResolvedCalibration};
use omnidewarp::frame::with_image;
use omnidewarp::model::Calibration;
use omnidewarp::output::{AtomicFile, commit_all, frame_to_image};
use omnidewarp::{Backend, DetectOptions, Dewarper, Frame, FrameMut, PixelFormat, detect_ring};

use crate::Failure;
use crate::args::{
    Command, ConvertArgs, DetectArgs, ExportMapArgs, MAX_OUTPUT_SIDE, MapFormat, RenderMirrorArgs,
};
use crate::output::{check_not_input, load_image, output_error, output_format, save_image};

/// Runs one subcommand.
pub fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Convert(args) => convert(&args),
        Command::RenderMirror(args) => render_mirror(&args),
        Command::ExportMap(args) => export_map(&args),
        Command::Detect(args) => detect(&args),
        Command::Info { file } => {
            println!("{}", Calibration::load(&file)?.describe());
            Ok(())
        }
    }
}

fn channels(format: PixelFormat) -> usize {
    format.plane_shape(0, 1, 1).2
}

fn convert(args: &ConvertArgs) -> Result<(), Failure> {
    #[cfg(feature = "video")]
    if omnidewarp::video::is_video_input(&args.input.to_string_lossy()) {
        return crate::video::convert(args);
    }
    let video_flags = args.video.given();
    if !video_flags.is_empty() {
        return Err(Failure::usage(format!(
            "{} is not a video; {} apply to videos only",
            args.input.display(),
            video_flags.join(", ")
        )));
    }
    check_not_input(&args.input, &args.output)?;
    output_format(&args.output)?;
    let img = load_image(&args.input)?;
    let resolved = calib::resolve(args.calib.as_deref(), Some(&args.input), || {
        with_image(&img, |frame| {
            ResolvedCalibration::detect(frame, &DetectOptions::default())
        })
    })?;
    if args.calib.is_none() {
        log::info!("no --calib: using {}", resolved.origin);
    }
    let calibration = resolved.calibration;
    let view = args.view.build(&calibration)?;
    // One frame: `Backend::Auto` keeps a small still on the CPU without starting a GPU.
    let options = args
        .sampling
        .options()
        .with_backend(args.backend)
        .with_expected_frames(Some(1));
    let mut dewarper = Dewarper::new(calibration, view, options)?;
    log::debug!("dewarping on {}", dewarper.description());
    let out = with_image(&img, |frame| -> Result<_, Failure> {
        // The GPU writes RGBA8, as does a fill with transparency; otherwise the output keeps
        // the input's layout.
        let keep = frame.format();
        let format = if dewarper.backend() == Backend::Gpu || options.fill[3] < 255 {
            PixelFormat::Rgba8
        } else {
            keep
        };
        let mut data = vec![0u8; view.width as usize * view.height as usize * channels(format)];
        dewarper.dewarp(
            frame,
            &mut FrameMut::packed(format, view.width, view.height, &mut data)?,
        )?;
        let out = frame_to_image(&Frame::packed(format, view.width, view.height, &data)?)?;
        Ok(match (format, keep) {
            (PixelFormat::Rgba8, PixelFormat::Rgb8) if options.fill[3] == 255 => {
                image::DynamicImage::ImageRgb8(out.to_rgb8())
            }
            (PixelFormat::Rgba8, PixelFormat::Gray8) if options.fill[3] == 255 => {
                image::DynamicImage::ImageLuma8(out.to_luma8())
            }
            _ => out,
        })
    })?;
    save_image(&args.output, &out)
}

fn detect(args: &DetectArgs) -> Result<(), Failure> {
    if let Some(output) = &args.output {
        check_not_input(&args.frame, output)?;
    }
    let options = DetectOptions::default().with_elevations(
        args.elevation_inner.to_radians(),
        args.elevation_outer.to_radians(),
    );
    let img = load_image(&args.frame)?;
    let ring = with_image(&img, |frame| detect_ring(frame, &options))?;
    println!("{ring}");
    if let Some(output) = &args.output {
        ring.to_calibration(&options)?.save_toml(output)?;
    }
    Ok(())
}

fn render_mirror(args: &RenderMirrorArgs) -> Result<(), Failure> {
    check_not_input(&args.panorama, &args.output)?;
    output_format(&args.output)?;
    let calibration = Calibration::load(&args.calib)?;
    let (width, height) = args
        .size
        .map_or(calibration.image_size, |s| (s.width, s.height));
    if width > MAX_OUTPUT_SIDE || height > MAX_OUTPUT_SIDE {
        return Err(Failure::usage(format!(
            "{}: a {width}×{height} frame is larger than {MAX_OUTPUT_SIDE} pixels a side, the \
             limit for outputs; give a smaller --size",
            args.calib.display()
        )));
    }
    // Checks the output size (at most MAX_IMAGE_SIDE a side) before allocating it.
    let calibration = calibration.scaled_to(width, height)?;
    let options = args.sampling.options();
    let img = load_image(&args.panorama)?;
    let out = with_image(&img, |pano| -> Result<_, Failure> {
        let format = pano.format();
        let mut data = vec![0u8; width as usize * height as usize * channels(format)];
        omnidewarp::render_mirror(
            pano,
            &calibration,
            &mut FrameMut::packed(format, width, height, &mut data)?,
            &options,
        )?;
        Ok(frame_to_image(&Frame::packed(
            format, width, height, &data,
        )?)?)
    })?;
    save_image(&args.output, &out)
}

fn export_map(args: &ExportMapArgs) -> Result<(), Failure> {
    let calibration = Calibration::load(&args.calib)?;
    let frame_size = args
        .frame_size
        .map_or(calibration.image_size, |s| (s.width, s.height));
    let view = args.view.build(&calibration)?;
    let positions = omnidewarp::source_positions(&calibration, &view, frame_size)?;
    let prefix = args.output.to_string_lossy().into_owned();
    let (w, h) = (view.width as usize, view.height as usize);
    // Both tables or neither: each is written beside its path, and renamed only when both
    // are complete.
    let mut files = Vec::new();
    for (axis, index, limit) in [("x", 0, frame_size.0), ("y", 1, frame_size.1)] {
        let values = positions.iter().map(|p| p[index]);
        let ext = match args.format {
            MapFormat::Pgm16 => "pgm",
            MapFormat::Npy => "npy",
        };
        let path = format!("{prefix}_{axis}.{ext}");
        let mut out =
            AtomicFile::create(Path::new(&path)).map_err(|e| output_error(Path::new(&path), e))?;
        let io = |e: std::io::Error| Failure::runtime(format!("{path}: {e}"));
        match args.format {
            MapFormat::Pgm16 => {
                write!(out, "P5\n{w} {h}\n65535\n").map_err(io)?;
                for v in values {
                    let code = if v.is_nan() {
                        u16::MAX
                    } else {
                        v.round().clamp(0.0, (limit - 1) as f32) as u16
                    };
                    out.write_all(&code.to_be_bytes()).map_err(io)?;
                }
            }
            MapFormat::Npy => {
                out.write_all(&npy_header(h, w)).map_err(io)?;
                for v in values {
                    let v = if v.is_nan() { -1.0f32 } else { v };
                    out.write_all(&v.to_le_bytes()).map_err(io)?;
                }
            }
        }
        files.push(out);
    }
    commit_all(files).map_err(|e| output_error(&args.output, e))
}

/// A version 1.0 `.npy` header for a C-order little-endian float32 array of `rows × cols`.
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + dict.len() + 1;
    let padding = unpadded.div_ceil(64) * 64 - unpadded;
    let header_len = (dict.len() + padding + 1) as u16;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out
}
