//! Every kernel level of the CPU backend against the scalar kernel (bit for bit) and the
//! scalar kernel against the f32 oracle (`dewarp_reference`): every source format (RGBA8,
//! RGB8, Gray8, I420, NV12) × every projection × every interpolation, on outputs of 1×1,
//! one-pixel strips and odd sizes, with padded strides in and out, band panoramas whose
//! edges are the ring's and a full 360° seam.

mod common;

use common::{mirror_frame, test_calibrations, test_views, textured_panorama};
use omnidewarp::cpu::CpuLevel;
use omnidewarp::model::{Calibration, Orientation, Projection, View};
use omnidewarp::{
    CpuDewarper, DewarpOptions, Frame, FrameMut, Interpolation, PixelFormat, Plane, PlaneMut,
    YuvColor, dewarp_reference,
};

/// A source in `format` with every plane's stride padded by 7 bytes.
struct Source {
    format: PixelFormat,
    size: (u32, u32),
    planes: Vec<(Vec<u8>, usize)>,
}

impl Source {
    fn new(format: PixelFormat, rgba: &image::RgbaImage) -> Self {
        let (w, h) = rgba.dimensions();
        let planes = (0..format.plane_count())
            .map(|k| {
                let (pw, ph, c) = format.plane_shape(k, w, h);
                let stride = pw as usize * c + 7;
                let mut data = vec![0u8; stride * ph as usize];
                for y in 0..ph {
                    for x in 0..pw {
                        for ch in 0..c {
                            // Luma and packed planes from the image, chroma from its other
                            // channels at the plane's own resolution.
                            let (sx, sy) = (x * w / pw, y * h / ph);
                            let p = rgba.get_pixel(sx, sy).0;
                            let v = match (format, k) {
                                (PixelFormat::Gray8, _) | (_, 0) if c == 1 => p[1],
                                (_, 0) => p[ch],
                                (PixelFormat::Nv12, _) => p[2 - ch],
                                _ => p[2 * k - 2],
                            };
                            data[y as usize * stride + x as usize * c + ch] = v;
                        }
                    }
                }
                (data, stride)
            })
            .collect();
        Self {
            format,
            size: (w, h),
            planes,
        }
    }

    fn frame(&self) -> Frame<'_> {
        let planes: Vec<Plane<'_>> = self
            .planes
            .iter()
            .map(|(data, stride)| Plane {
                data,
                stride: *stride,
            })
            .collect();
        Frame::new(
            self.format,
            self.size.0,
            self.size.1,
            &planes,
            YuvColor::default(),
        )
        .unwrap()
    }
}

/// The output formats a source format is dewarped into here (YUV into I420, the video
/// path, and into RGBA8, the viewer's).
fn output_formats(format: PixelFormat) -> Vec<PixelFormat> {
    if format.is_yuv() {
        vec![PixelFormat::I420, PixelFormat::Rgba8]
    } else {
        vec![format]
    }
}

/// Dewarps into a `format` output with strides padded by 5 bytes (padding preset to 0xA5) and
/// returns each plane's rows, padding dropped; checks the padding is untouched.
fn dewarp(
    src: &Source,
    format: PixelFormat,
    view: View,
    run: impl FnOnce(&Frame<'_>, &mut FrameMut<'_>),
) -> Vec<Vec<u8>> {
    let shapes: Vec<_> = (0..format.plane_count())
        .map(|k| format.plane_shape(k, view.width, view.height))
        .collect();
    let mut buffers: Vec<(Vec<u8>, usize)> = shapes
        .iter()
        .map(|&(w, h, c)| {
            let stride = w as usize * c + 5;
            (vec![0xA5u8; stride * h as usize], stride)
        })
        .collect();
    {
        let planes = buffers
            .iter_mut()
            .map(|(data, stride)| PlaneMut::new(data, *stride));
        let mut dst = FrameMut::new(format, view.width, view.height, planes).unwrap();
        run(&src.frame(), &mut dst);
    }
    buffers
        .iter()
        .zip(&shapes)
        .map(|((data, stride), &(w, _, c))| {
            let row = w as usize * c;
            data.chunks(*stride)
                .flat_map(|r| {
                    assert!(r[row..].iter().all(|&b| b == 0xA5), "padding written");
                    r[..row].to_vec()
                })
                .collect()
        })
        .collect()
}

fn views(base: &[(&'static str, View)]) -> Vec<(String, View)> {
    let deg = f64::to_radians;
    let mut out = Vec::new();
    let mut with = |name: &str, projection: Projection, orientation: Orientation| {
        let min = if matches!(projection, Projection::Quad { .. }) {
            2
        } else {
            1
        };
        let min_h = if matches!(projection, Projection::DoublePanorama { .. }) {
            2
        } else {
            min
        };
        for (w, h) in [(min, min_h), (min, 23), (29, min_h), (97, 53), (64, 32)] {
            out.push((
                format!("{name} {w}×{h}"),
                View::new(projection, orientation, w, h).unwrap(),
            ));
        }
    };
    for (name, view) in base {
        with(name, view.projection, view.orientation);
    }
    // Horizon panoramas (the separable tables): a band whose edges are the ring's, and the
    // full sphere with the 360° seam inside the output.
    with(
        "band",
        Projection::Equirect {
            top: deg(60.0),
            bottom: deg(-55.0),
        },
        Orientation::default(),
    );
    with(
        "sphere, seam inside",
        Projection::Equirect {
            top: deg(90.0),
            bottom: deg(-90.0),
        },
        Orientation {
            yaw: deg(123.0),
            ..Orientation::default()
        },
    );
    out
}

fn check_calibration(model: &str, calibration: &Calibration) {
    let pano = textured_panorama(512, 256);
    let rgba = mirror_frame(&pano, calibration);
    let levels: Vec<CpuLevel> = CpuLevel::ALL
        .into_iter()
        .filter(|l| l.supported())
        .collect();
    println!("{model}: levels {levels:?}");
    for format in [
        PixelFormat::Rgba8,
        PixelFormat::Rgb8,
        PixelFormat::Gray8,
        PixelFormat::I420,
        PixelFormat::Nv12,
    ] {
        let src = Source::new(format, &rgba);
        for (output, (name, view)) in output_formats(format)
            .into_iter()
            .flat_map(|o| views(&test_views()).into_iter().map(move |v| (o, v)))
        {
            for interpolation in Interpolation::ALL {
                let options = DewarpOptions::default()
                    .with_interpolation(interpolation)
                    .with_antialias(false)
                    .with_fill([10, 200, 30, 255]);
                let label = format!("{model} {format:?}→{output:?} {name} {interpolation:?}");
                let run_level = |level: CpuLevel| {
                    dewarp(&src, output, view, |s, d| {
                        let mut dewarper =
                            CpuDewarper::new(calibration.clone(), view, options).unwrap();
                        dewarper.set_cpu_level(level).unwrap();
                        dewarper.dewarp(s, d).unwrap();
                    })
                };
                let scalar = run_level(CpuLevel::Scalar);
                for &level in &levels[1..] {
                    assert!(run_level(level) == scalar, "{label}: {level} ≠ scalar");
                }
                if interpolation != Interpolation::Bilinear {
                    // The kernels serve bilinear only; the others are the f32 samplers on
                    // the fast path's positions (tests/cpu_fast_path.rs bounds those).
                    continue;
                }
                let oracle = dewarp(&src, output, view, |s, d| {
                    dewarp_reference(calibration, &view, &options, s, d).unwrap();
                });
                // Where the mapping is exact (the separable tables), every plane is within
                // the kernels' bound of the oracle. On the grid, positions carry the grid's
                // error and validity near the content's edge can differ (a fast-path
                // matter that tests/cpu_fast_path.rs bounds), so there only nearly all luma
                // or packed bytes must be within 1, and chroma planes are not compared.
                let separable = name.starts_with("band") || name.starts_with("sphere");
                for (k, (a, b)) in scalar.iter().zip(&oracle).enumerate() {
                    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max();
                    let within = a
                        .iter()
                        .zip(b)
                        .filter(|(x, y)| x.abs_diff(**y) <= 1)
                        .count();
                    let share = within as f64 / a.len().max(1) as f64;
                    if separable {
                        assert!(
                            max.unwrap_or(0) <= 1,
                            "{label}: plane {k}, scalar vs oracle max |Δ| {max:?}"
                        );
                    } else if k == 0 && a.len() >= 1000 {
                        assert!(
                            share >= 0.99,
                            "{label}: plane {k}, {:.2} % within 1 of the oracle",
                            share * 100.0
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_level_matches_scalar_and_the_oracle_ring() {
    let calibrations = test_calibrations();
    let (model, calibration) = &calibrations[0];
    check_calibration(model, calibration);
}

#[test]
fn every_level_matches_scalar_and_the_oracle_other_models() {
    for (model, calibration) in test_calibrations().iter().skip(1) {
        check_calibration(model, calibration);
    }
}

#[test]
fn levels_parse_and_unsupported_ones_are_refused() {
    for level in CpuLevel::ALL {
        assert_eq!(level.name().parse::<CpuLevel>().unwrap(), level);
        assert_eq!(level.check().is_ok(), level.supported());
    }
    assert!("avx9".parse::<CpuLevel>().is_err());
    assert!(CpuLevel::Scalar.supported());
    assert!(CpuLevel::detect().supported());
}

/// Minified panorama rows share one lod: with anti-aliasing on, one-channel planes (Gray8,
/// I420's) are sampled trilinearly by two kernel rows and a blend. Every level agrees bit
/// for bit, and every byte is within 1 of the f32 oracle's.
#[test]
fn trilinear_rows_of_minified_panoramas_match_scalar_and_the_oracle() {
    let deg = f64::to_radians;
    let calibrations = test_calibrations();
    let (_, calibration) = &calibrations[0];
    let pano = textured_panorama(512, 256);
    let rgba = mirror_frame(&pano, calibration);
    let band = Projection::Equirect {
        top: deg(60.0),
        bottom: deg(-55.0),
    };
    let sphere = Projection::Equirect {
        top: deg(90.0),
        bottom: deg(-90.0),
    };
    let options = DewarpOptions::default()
        .with_antialias(true)
        .with_fill([10, 200, 30, 255]);
    let mut compared = 0;
    for format in [PixelFormat::Gray8, PixelFormat::I420] {
        let src = Source::new(format, &rgba);
        // Several times minified (a few px per output px), odd sizes, the seam inside.
        for (projection, size) in [(band, (61, 9)), (band, (128, 20)), (sphere, (97, 33))] {
            let orientation = Orientation {
                yaw: deg(123.0),
                ..Orientation::default()
            };
            let view = View::new(projection, orientation, size.0, size.1).unwrap();
            let run_level = |level: CpuLevel| {
                dewarp(&src, output_formats(format)[0], view, |s, d| {
                    let mut dewarper =
                        CpuDewarper::new(calibration.clone(), view, options).unwrap();
                    dewarper.set_cpu_level(level).unwrap();
                    dewarper.dewarp(s, d).unwrap();
                })
            };
            let scalar = run_level(CpuLevel::Scalar);
            for level in CpuLevel::ALL.into_iter().filter(|l| l.supported()) {
                assert!(
                    run_level(level) == scalar,
                    "{format:?} {size:?}: {level} ≠ scalar"
                );
            }
            let oracle = dewarp(&src, output_formats(format)[0], view, |s, d| {
                dewarp_reference(calibration, &view, &options, s, d).unwrap();
            });
            for (k, (a, b)) in scalar.iter().zip(&oracle).enumerate() {
                let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max();
                assert!(
                    max.unwrap_or(0) <= 1,
                    "{format:?} {size:?}: plane {k}, max |Δ| {max:?} vs the oracle"
                );
                compared += a.len();
            }
        }
    }
    assert!(compared > 10_000, "{compared} bytes compared");
}
