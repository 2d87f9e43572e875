//! CPU backend throughput on issue 11's workloads, per SIMD level, pixel format and input
//! size, with `memcpy` of the output size as the memory-bandwidth yardstick:
//!
//! - W1: 4096×2048 equirect (full sphere), W1b: 4096×1024 band panorama (+60°..−55°),
//!   W2: 1920×1080 perspective 90° on the horizon, W3: W2 with the yaw +1° before every frame
//!   (the mapping is rebuilt each time: W3 − W2 is the mapping stage's cost);
//! - inputs 2880² (DESIGN.md's ring) and 1440²; RGB8, RGBA8, Gray8 and I420 sources;
//!   bilinear, anti-aliasing off unless the name says `aa`.
//!
//! Names: `cpu/<input>/<workload>/<format>/<level>`. Under `cargo test --all-targets` each
//! runs once on a small input and small views (a smoke test, no timing).

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use omnidewarp::cpu::CpuLevel;
use omnidewarp::model::{Orientation, Projection, View};
use omnidewarp::{CpuDewarper, DewarpOptions, FrameBuf, PixelFormat};

/// Whether criterion measures (`cargo bench`) rather than runs each once (`cargo test`).
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn source(format: PixelFormat, size: u32) -> FrameBuf {
    let mut buf = FrameBuf::new(format, size, size).expect("frame");
    for plane in buf.frame_mut().planes_mut().iter_mut() {
        for (j, row) in plane.rows_mut().enumerate() {
            for (i, v) in row.iter_mut().enumerate() {
                *v = ((i * 7919) ^ (j * 31) ^ (i >> 5)) as u8;
            }
        }
    }
    buf
}

/// (name, view, pans every frame); sizes divided by `div` for the smoke run.
fn workloads(div: u32) -> Vec<(&'static str, View, bool)> {
    let deg = f64::to_radians;
    let view = |projection, w: u32, h: u32| {
        View::new(projection, Orientation::default(), w / div, h / div).expect("valid view")
    };
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

fn bench_one(
    c: &mut Criterion,
    input: u32,
    format: PixelFormat,
    level: CpuLevel,
    antialias: bool,
    div: u32,
) {
    let src = source(format, input);
    let mut group = c.benchmark_group(format!("cpu/{input}"));
    group.sample_size(10);
    for (name, view, panning) in workloads(div) {
        group.throughput(Throughput::Elements(u64::from(view.width * view.height)));
        let options = DewarpOptions::default().with_antialias(antialias);
        let mut dewarper =
            CpuDewarper::new(common::ring_calibration(input), view, options).expect("dewarper");
        dewarper.set_cpu_level(level).expect("level");
        let mut out = FrameBuf::new(format, view.width, view.height).expect("output");
        let label = format!(
            "{name}/{}{}/{level}",
            format!("{format:?}").to_lowercase(),
            if antialias { "_aa" } else { "" }
        );
        let mut yaw = 0.0;
        group.bench_function(label, |b| {
            b.iter(|| {
                if panning {
                    yaw += 1f64.to_radians();
                    let mut v = view;
                    v.orientation.yaw = yaw;
                    dewarper.set_view(v).expect("view");
                }
                dewarper
                    .dewarp(black_box(&src.frame()), &mut out.frame_mut())
                    .expect("dewarp");
            });
        });
    }
    group.finish();
}

fn cpu(c: &mut Criterion) {
    let (big, small, div) = if measuring() {
        (2880, 1440, 1)
    } else {
        (360, 180, 16)
    };
    let levels: Vec<CpuLevel> = CpuLevel::ALL
        .into_iter()
        .filter(|l| l.supported())
        .collect();
    let best = CpuLevel::detect();
    for &level in &levels {
        bench_one(c, big, PixelFormat::Rgb8, level, false, div);
    }
    for format in [PixelFormat::Rgba8, PixelFormat::Gray8, PixelFormat::I420] {
        bench_one(c, big, format, best, false, div);
    }
    bench_one(c, big, PixelFormat::Rgb8, best, true, div);
    bench_one(c, small, PixelFormat::Rgb8, best, false, div);
    // The yardstick: copying an RGB8 output of W1's size.
    let (w, h) = (4096 / div, 2048 / div);
    let from = vec![1u8; (w * h * 3) as usize];
    let mut to = vec![0u8; from.len()];
    let mut group = c.benchmark_group("cpu/memcpy");
    group.throughput(Throughput::Elements(u64::from(w * h)));
    group.bench_function("W1_rgb8_output", |b| {
        b.iter(|| to.copy_from_slice(black_box(&from)));
    });
    group.finish();
}

criterion_group!(benches, cpu);
criterion_main!(benches);
