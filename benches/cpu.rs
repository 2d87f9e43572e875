//! CPU backend throughput: static views, a view that pans every frame, YUV planes, and
//! `memcpy` of the output size as the memory-bandwidth yardstick.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::DVec2;
use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
use omnidewarp::{
    CpuDewarper, DewarpOptions, Frame, FrameMut, PixelFormat, Plane, PlaneMut, YuvColor,
};

fn calibration(size: u32) -> Calibration {
    let s = f64::from(size) / 2880.0;
    let ring = RingModel::builder()
        .center(DVec2::splat(f64::from(size) / 2.0 - 0.5))
        .radii(492.5 * s, 1411.2 * s)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build()
        .expect("valid ring");
    Calibration::new((size, size), CameraModel::Ring(ring), None).expect("valid calibration")
}

fn texture(width: u32, height: u32, channels: usize) -> Vec<u8> {
    (0..width as usize * height as usize * channels)
        .map(|i| ((i * 7919) ^ (i >> 5)) as u8)
        .collect()
}

fn views() -> Vec<(&'static str, View)> {
    let band = |w, h| {
        View::new(
            Projection::Equirect {
                top: 60f64.to_radians(),
                bottom: (-55f64).to_radians(),
            },
            Orientation::default(),
            w,
            h,
        )
        .expect("valid view")
    };
    vec![
        ("equirect_4096x1308", band(4096, 1308)),
        (
            "perspective_1920x1080",
            View::new(
                Projection::Perspective {
                    fov: 90f64.to_radians(),
                },
                Orientation {
                    yaw: 0.5,
                    pitch: 0.1,
                    roll: 0.0,
                },
                1920,
                1080,
            )
            .expect("valid view"),
        ),
    ]
}

fn rgba(c: &mut Criterion) {
    let size = 2880;
    let src = texture(size, size, 4);
    let frame = Frame::packed(PixelFormat::Rgba8, size, size, &src).expect("frame");
    let mut group = c.benchmark_group("cpu_rgba_2880");
    group.sample_size(10);
    for (name, view) in views() {
        let pixels = u64::from(view.width * view.height);
        group.throughput(Throughput::Elements(pixels));
        let mut out = vec![0u8; pixels as usize * 4];
        for (aa, label) in [(false, "bilinear"), (true, "bilinear_aa")] {
            let options = DewarpOptions::default().with_antialias(aa);
            let mut dewarper = CpuDewarper::new(calibration(size), view, options).unwrap();
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    let mut dst =
                        FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out)
                            .expect("output");
                    dewarper
                        .dewarp(black_box(&frame), &mut dst)
                        .expect("dewarp");
                });
            });
        }
        // The interactive case: a new yaw every frame (grid rebuilt each time).
        let options = DewarpOptions::default().with_antialias(false);
        let mut dewarper = CpuDewarper::new(calibration(size), view, options).unwrap();
        let mut yaw = 0.0;
        group.bench_function(format!("{name}/bilinear_panning"), |b| {
            b.iter(|| {
                yaw += 0.01;
                let mut v = view;
                v.orientation.yaw = yaw;
                dewarper.set_view(v).expect("view");
                let mut dst =
                    FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out)
                        .expect("output");
                dewarper
                    .dewarp(black_box(&frame), &mut dst)
                    .expect("dewarp");
            });
        });
        let copy_src = vec![1u8; pixels as usize * 4];
        group.bench_function(format!("{name}/memcpy_of_output"), |b| {
            b.iter(|| out.copy_from_slice(black_box(&copy_src)));
        });
    }
    group.finish();
}

fn i420(c: &mut Criterion) {
    let size = 2880u32;
    let chroma = size.div_ceil(2);
    let (y, u, v) = (
        texture(size, size, 1),
        texture(chroma, chroma, 1),
        texture(chroma, chroma, 1),
    );
    let frame = Frame::new(
        PixelFormat::I420,
        size,
        size,
        &[
            Plane {
                data: &y,
                stride: size as usize,
            },
            Plane {
                data: &u,
                stride: chroma as usize,
            },
            Plane {
                data: &v,
                stride: chroma as usize,
            },
        ],
        YuvColor::default(),
    )
    .expect("frame");
    let mut group = c.benchmark_group("cpu_i420_2880");
    group.sample_size(10);
    for (name, view) in views() {
        let (w, h) = (view.width, view.height);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        group.throughput(Throughput::Elements(u64::from(w * h)));
        let (mut oy, mut ou, mut ov) = (
            vec![0u8; (w * h) as usize],
            vec![0u8; (cw * ch) as usize],
            vec![0u8; (cw * ch) as usize],
        );
        let options = DewarpOptions::default().with_antialias(false);
        let mut dewarper = CpuDewarper::new(calibration(size), view, options).unwrap();
        group.bench_function(format!("{name}/i420_to_i420"), |b| {
            b.iter(|| {
                let mut dst = FrameMut::new(
                    PixelFormat::I420,
                    w,
                    h,
                    vec![
                        PlaneMut::new(&mut oy, w as usize),
                        PlaneMut::new(&mut ou, cw as usize),
                        PlaneMut::new(&mut ov, cw as usize),
                    ],
                )
                .expect("output");
                dewarper
                    .dewarp(black_box(&frame), &mut dst)
                    .expect("dewarp");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, rgba, i420);
criterion_main!(benches);
