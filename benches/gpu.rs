//! GPU backend stages timed apart: upload (with the mip chain built on the GPU), dispatch
//! (draw the view into the output texture and wait), readback (copy, map, copy out), and a
//! whole frame; 1920×1080 perspective output from a 2048² RGBA frame, and the video path
//! (I420 planes in, I420 planes out).
//!
//! On lavapipe (software Vulkan on the CPU) the numbers are functional only.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use omnidewarp::model::{Orientation, Projection, View};
use omnidewarp::{
    DewarpOptions, Frame, FrameMut, GpuDewarper, PixelFormat, Plane, PlaneMut, YuvColor,
};

const FRAME: u32 = 2048;

fn texture(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7919) ^ (i >> 5)) as u8).collect()
}

fn view(yaw: f64) -> View {
    View::new(
        Projection::Perspective {
            fov: 90f64.to_radians(),
        },
        Orientation {
            yaw,
            pitch: 0.1,
            roll: 0.0,
        },
        1920,
        1080,
    )
    .expect("valid view")
}

fn gpu_stages(c: &mut Criterion) {
    let mut gpu = match GpuDewarper::new(
        common::ring_calibration(FRAME),
        view(0.5),
        DewarpOptions::default(),
    ) {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("benches/gpu: skipped, {e}");
            return;
        }
    };
    if let Some(info) = gpu.adapter_info() {
        eprintln!("benches/gpu on {} ({:?})", info.name, info.backend);
    }
    let rgba = texture((FRAME * FRAME * 4) as usize);
    let frame = Frame::packed(PixelFormat::Rgba8, FRAME, FRAME, &rgba).expect("frame");
    let luma = texture((FRAME * FRAME) as usize);
    let chroma = texture((FRAME * FRAME / 4) as usize);
    let i420 = Frame::new(
        PixelFormat::I420,
        FRAME,
        FRAME,
        &[
            Plane {
                data: &luma,
                stride: FRAME as usize,
            },
            Plane {
                data: &chroma,
                stride: FRAME as usize / 2,
            },
            Plane {
                data: &chroma,
                stride: FRAME as usize / 2,
            },
        ],
        YuvColor::default(),
    )
    .expect("i420 frame");
    let mut out = vec![0u8; 1920 * 1080 * 4];

    let mut group = c.benchmark_group("gpu");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.throughput(Throughput::Elements(u64::from(FRAME * FRAME)));
    for (name, antialias) in [("upload_2048_rgba_mips", true), ("upload_2048_rgba", false)] {
        gpu.set_options(DewarpOptions::default().with_antialias(antialias));
        group.bench_function(name, |b| {
            b.iter(|| {
                gpu.upload(black_box(&frame)).expect("upload");
                gpu.wait().expect("wait");
            });
        });
    }
    gpu.set_options(DewarpOptions::default());
    group.bench_function("upload_2048_i420_mips", |b| {
        b.iter(|| {
            gpu.upload(black_box(&i420)).expect("upload");
            gpu.wait().expect("wait");
        });
    });

    gpu.upload(&frame).expect("upload");
    group.throughput(Throughput::Elements(1920 * 1080));
    for (name, antialias) in [
        ("dispatch_1920x1080_aa", true),
        ("dispatch_1920x1080", false),
    ] {
        gpu.set_options(DewarpOptions::default().with_antialias(antialias));
        group.bench_function(name, |b| {
            b.iter(|| {
                gpu.render().expect("render");
                gpu.wait().expect("wait");
            });
        });
    }
    gpu.set_options(DewarpOptions::default());
    let mut yaw = 0.0;
    group.bench_function("dispatch_1920x1080_aa_panning", |b| {
        b.iter(|| {
            yaw += 0.01;
            gpu.set_view(view(yaw)).expect("view");
            gpu.render().expect("render");
            gpu.wait().expect("wait");
        });
    });
    gpu.set_view(view(0.5)).expect("view");
    gpu.render().expect("render");
    group.bench_function("readback_1920x1080", |b| {
        b.iter(|| {
            let mut dst =
                FrameMut::packed(PixelFormat::Rgba8, 1920, 1080, &mut out).expect("output");
            gpu.read_output(black_box(&mut dst)).expect("readback");
        });
    });
    group.bench_function("frame_2048_rgba_to_1920x1080", |b| {
        b.iter(|| {
            let mut dst =
                FrameMut::packed(PixelFormat::Rgba8, 1920, 1080, &mut out).expect("output");
            gpu.dewarp(black_box(&frame), &mut dst).expect("dewarp");
        });
    });
    // The video path: YUV planes up, I420 planes back.
    let (mut y, mut uv) = (vec![0u8; 1920 * 1080], vec![0u8; 960 * 540 * 2]);
    group.bench_function("frame_2048_i420_to_1920x1080_i420", |b| {
        b.iter(|| {
            let (u, v) = uv.split_at_mut(960 * 540);
            let planes = vec![
                PlaneMut::new(&mut y, 1920),
                PlaneMut::new(u, 960),
                PlaneMut::new(v, 960),
            ];
            let mut dst = FrameMut::new(PixelFormat::I420, 1920, 1080, planes).expect("output");
            gpu.dewarp(black_box(&i420), &mut dst).expect("dewarp");
        });
    });
    group.finish();
}

criterion_group!(benches, gpu_stages);
criterion_main!(benches);
