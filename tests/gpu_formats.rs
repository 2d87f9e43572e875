//! Every input format on the GPU against the CPU oracle: RGB8 (expanded to RGBA on upload),
//! Gray8, and I420 / NV12 planes converted in the shader with each YUV matrix and range,
//! chroma sampled at its own resolution exactly as the CPU's `yuv_to_rgba` does.
#![cfg(feature = "gpu")]

mod gpu_common;

use omnidewarp::{
    DewarpOptions, Frame, FrameMut, GpuDewarper, Interpolation, PixelFormat, Plane, YuvColor,
    YuvMatrix, YuvRange,
};

/// Owned planes of a frame: data and stride per plane.
struct Planes {
    format: PixelFormat,
    size: (u32, u32),
    planes: Vec<(Vec<u8>, usize)>,
    color: YuvColor,
}

impl Planes {
    fn frame(&self) -> Frame<'_> {
        let planes: Vec<Plane<'_>> = self
            .planes
            .iter()
            .map(|(data, stride)| Plane {
                data,
                stride: *stride,
            })
            .collect();
        Frame::new(self.format, self.size.0, self.size.1, &planes, self.color).unwrap()
    }
}

/// A frame of `format` from an RGBA image: grey and YUV by the colour's matrix (chroma from
/// the top-left pixel of each 2×2 block), rows padded by `pad` bytes.
fn convert(
    rgba: &[u8],
    (w, h): (u32, u32),
    format: PixelFormat,
    color: YuvColor,
    pad: usize,
) -> Planes {
    let (wu, hu) = (w as usize, h as usize);
    let px = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * wu + x) * 4;
        [rgba[i], rgba[i + 1], rgba[i + 2]]
    };
    let plane = |pw: usize, ph: usize, c: usize, f: &dyn Fn(usize, usize) -> Vec<u8>| {
        let stride = pw * c + pad;
        let mut data = vec![0u8; stride * ph];
        for y in 0..ph {
            for x in 0..pw {
                data[y * stride + x * c..y * stride + (x + 1) * c].copy_from_slice(&f(x, y));
            }
        }
        (data, stride)
    };
    let (cw, ch) = (wu.div_ceil(2), hu.div_ceil(2));
    let planes = match format {
        PixelFormat::Rgb8 => vec![plane(wu, hu, 3, &|x, y| px(x, y).to_vec())],
        PixelFormat::Gray8 => vec![plane(wu, hu, 1, &|x, y| vec![color.from_rgb(px(x, y))[0]])],
        PixelFormat::I420 => vec![
            plane(wu, hu, 1, &|x, y| vec![color.from_rgb(px(x, y))[0]]),
            plane(cw, ch, 1, &|x, y| vec![color.from_rgb(px(2 * x, 2 * y))[1]]),
            plane(cw, ch, 1, &|x, y| vec![color.from_rgb(px(2 * x, 2 * y))[2]]),
        ],
        PixelFormat::Nv12 => vec![
            plane(wu, hu, 1, &|x, y| vec![color.from_rgb(px(x, y))[0]]),
            plane(cw, ch, 2, &|x, y| {
                color.from_rgb(px(2 * x, 2 * y))[1..].to_vec()
            }),
        ],
        PixelFormat::Rgba8 => vec![plane(wu, hu, 4, &|x, y| {
            rgba[(y * wu + x) * 4..][..4].to_vec()
        })],
    };
    Planes {
        format,
        size: (w, h),
        planes,
        color,
    }
}

/// The CPU–GPU tolerance for these settings: max |Δ| ≤ 2 and ≥ 99.9 % within 1; with
/// nearest only the latter (pick-boundary flips, see gpu_parity.rs, in luma and chroma);
/// with anti-aliasing (trilinear blends of rounded levels) PSNR ≥ 40 dB.
fn assert_agrees(d: &gpu_common::Diff, options: &DewarpOptions, what: &str) {
    if options.antialias {
        assert!(d.psnr >= 40.0, "{what}: {d:?}");
    } else if options.interpolation == Interpolation::Nearest {
        assert!(d.within_1 >= 0.999, "{what}: {d:?}");
    } else {
        assert!(d.max <= 2 && d.within_1 >= 0.999, "{what}: {d:?}");
    }
}

fn check(format: PixelFormat, color: YuvColor, pad: usize) {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    for case in [gpu_common::ring(), gpu_common::mei()] {
        let rgba = gpu_common::mirror_frame(&case);
        let planes = convert(&rgba, case.frame, format, color, pad);
        let frame = planes.frame();
        let views = gpu_common::views(&case);
        let mut gpu = GpuDewarper::with_device(
            &device,
            &queue,
            case.calibration.clone(),
            views[0].1,
            DewarpOptions::default(),
        )
        .unwrap();
        for (name, view) in views.iter().step_by(2) {
            for antialias in [false, true] {
                for interpolation in gpu_common::INTERPOLATIONS {
                    let options = DewarpOptions::default()
                        .with_interpolation(interpolation)
                        .with_antialias(antialias)
                        .with_fill([200, 100, 50, 255]);
                    gpu.set_view(*view).unwrap();
                    gpu.set_options(options);
                    let mut out = vec![0u8; (view.width * view.height * 4) as usize];
                    gpu.dewarp(
                        &frame,
                        &mut FrameMut::packed(
                            PixelFormat::Rgba8,
                            view.width,
                            view.height,
                            &mut out,
                        )
                        .unwrap(),
                    )
                    .unwrap();
                    let expected = gpu_common::reference(&case, view, &options, &frame);
                    let d = gpu_common::diff(&out, &expected, 4);
                    eprintln!(
                        "{format:?} {color:?} {} {name} {interpolation:?} aa={antialias}: max |Δ| {}, \
                         within 1: {:.3} %, PSNR {:.1} dB",
                        case.name,
                        d.max,
                        100.0 * d.within_1,
                        d.psnr
                    );
                    assert_agrees(&d, &options, &format!("{format:?} {name}"));
                }
            }
        }
    }
}

#[test]
fn rgb8_is_expanded_on_upload() {
    check(PixelFormat::Rgb8, YuvColor::default(), 5);
}

#[test]
fn gray8() {
    check(PixelFormat::Gray8, YuvColor::default(), 0);
}

#[test]
fn i420_bt601_limited() {
    check(
        PixelFormat::I420,
        YuvColor {
            matrix: YuvMatrix::Bt601,
            range: YuvRange::Limited,
        },
        3,
    );
}

#[test]
fn i420_bt709_full() {
    check(
        PixelFormat::I420,
        YuvColor {
            matrix: YuvMatrix::Bt709,
            range: YuvRange::Full,
        },
        0,
    );
}

#[test]
fn nv12_bt709_limited() {
    check(
        PixelFormat::Nv12,
        YuvColor {
            matrix: YuvMatrix::Bt709,
            range: YuvRange::Limited,
        },
        2,
    );
}

#[test]
fn nv12_bt601_full() {
    check(
        PixelFormat::Nv12,
        YuvColor {
            matrix: YuvMatrix::Bt601,
            range: YuvRange::Full,
        },
        0,
    );
}

/// Owned I420 output planes, each row padded by `pad` bytes.
struct I420Out {
    size: (u32, u32),
    planes: [(Vec<u8>, usize); 3],
}

impl I420Out {
    fn new((w, h): (u32, u32), pad: usize) -> Self {
        let plane = |pw: u32, ph: u32| {
            let stride = pw as usize + pad;
            (vec![0u8; stride * ph as usize], stride)
        };
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        Self {
            size: (w, h),
            planes: [plane(w, h), plane(cw, ch), plane(cw, ch)],
        }
    }

    fn frame_mut(&mut self) -> FrameMut<'_> {
        let planes = self
            .planes
            .iter_mut()
            .map(|(data, stride)| omnidewarp::PlaneMut::new(data, *stride));
        FrameMut::new(PixelFormat::I420, self.size.0, self.size.1, planes).unwrap()
    }

    /// Plane `k` without its row padding.
    fn packed(&self, k: usize) -> Vec<u8> {
        let (w, h) = if k == 0 {
            self.size
        } else {
            (self.size.0.div_ceil(2), self.size.1.div_ceil(2))
        };
        let (data, stride) = &self.planes[k];
        (0..h as usize)
            .flat_map(|j| data[j * stride..][..w as usize].iter().copied())
            .collect()
    }
}

/// YUV frames dewarped into I420 on the GPU (Y and UV drawn at their own resolutions, the
/// fill in the frame's YUV) against the CPU oracle writing I420, plane by plane: every
/// projection and layout, odd view sizes, each interpolation, anti-aliasing off and on.
fn check_i420_output(format: PixelFormat, color: YuvColor) {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    for case in [gpu_common::ring(), gpu_common::mei()] {
        let rgba = gpu_common::mirror_frame(&case);
        let planes = convert(&rgba, case.frame, format, color, 1);
        let frame = planes.frame();
        let views = gpu_common::views(&case);
        let mut gpu = GpuDewarper::with_device(
            &device,
            &queue,
            case.calibration.clone(),
            views[0].1,
            DewarpOptions::default(),
        )
        .unwrap();
        for (name, view) in &views {
            for antialias in [false, true] {
                for interpolation in gpu_common::INTERPOLATIONS {
                    let options = DewarpOptions::default()
                        .with_interpolation(interpolation)
                        .with_antialias(antialias)
                        .with_fill([200, 100, 50, 255]);
                    gpu.set_view(*view).unwrap();
                    gpu.set_options(options);
                    let size = (view.width, view.height);
                    let mut out = I420Out::new(size, 3);
                    gpu.dewarp(&frame, &mut out.frame_mut()).unwrap();
                    let mut expected = I420Out::new(size, 0);
                    omnidewarp::dewarp_reference(
                        &case.calibration,
                        view,
                        &options,
                        &frame,
                        &mut expected.frame_mut(),
                    )
                    .unwrap();
                    for (k, plane) in ["Y", "U", "V"].iter().enumerate() {
                        let d = gpu_common::diff(&out.packed(k), &expected.packed(k), 1);
                        eprintln!(
                            "{format:?} → I420 {} {name} {plane} {interpolation:?} \
                             aa={antialias}: max |Δ| {}, within 1: {:.3} %, PSNR {:.1} dB",
                            case.name,
                            d.max,
                            100.0 * d.within_1,
                            d.psnr
                        );
                        assert_agrees(&d, &options, &format!("{name} {plane}"));
                    }
                }
            }
        }
    }
}

#[test]
fn i420_into_i420() {
    check_i420_output(
        PixelFormat::I420,
        YuvColor {
            matrix: YuvMatrix::Bt709,
            range: YuvRange::Limited,
        },
    );
}

#[test]
fn nv12_into_i420() {
    check_i420_output(
        PixelFormat::Nv12,
        YuvColor {
            matrix: YuvMatrix::Bt601,
            range: YuvRange::Full,
        },
    );
}

#[test]
fn i420_output_needs_a_yuv_frame() {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let case = gpu_common::ring();
    let rgba = gpu_common::mirror_frame(&case);
    let frame = Frame::packed(PixelFormat::Rgba8, case.frame.0, case.frame.1, &rgba).unwrap();
    let view = gpu_common::views(&case)[0].1;
    let mut gpu = GpuDewarper::with_device(
        &device,
        &queue,
        case.calibration.clone(),
        view,
        DewarpOptions::default(),
    )
    .unwrap();
    let mut out = I420Out::new((view.width, view.height), 0);
    let err = gpu.dewarp(&frame, &mut out.frame_mut()).unwrap_err();
    assert!(matches!(err, omnidewarp::Error::OutputLayout(_)), "{err}");
}
