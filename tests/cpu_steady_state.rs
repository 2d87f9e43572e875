//! The CPU dewarper's steady state allocates nothing of its own: after a few frames of the
//! same view, further frames (any format, separable tables or grid, kernels or f32 samplers)
//! make no heap allocation on any thread but rayon's: its job injector (a crossbeam queue)
//! takes a new block every 63 jobs sent to the pool, at most three jobs a frame (the mip
//! levels, the luma rows, the chroma rows). A counting
//! global allocator checks it; this file is its own test binary so no other test's
//! allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use glam::DVec2;
use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
use omnidewarp::{CpuDewarper, DewarpOptions, FrameBuf, Interpolation, PixelFormat};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_frames_allocate_nothing() {
    let deg = f64::to_radians;
    let ring = RingModel::builder()
        .center(DVec2::splat(199.5))
        .radii(60.0, 190.0)
        .elevations(deg(-55.0), deg(60.0))
        .build()
        .unwrap();
    let calibration = Calibration::new((400, 400), CameraModel::Ring(ring), None).unwrap();
    let views = [
        Projection::Equirect {
            top: deg(60.0),
            bottom: deg(-55.0),
        },
        Projection::Perspective { fov: deg(90.0) },
        Projection::Quad { fov: deg(80.0) },
    ];
    for projection in views {
        for format in [PixelFormat::Rgb8, PixelFormat::I420] {
            for (interpolation, antialias) in [
                (Interpolation::Bilinear, false),
                (Interpolation::Bicubic, false),
                (Interpolation::Bilinear, true),
            ] {
                let view = View::new(projection, Orientation::default(), 320, 180).unwrap();
                let options = DewarpOptions::default()
                    .with_interpolation(interpolation)
                    .with_antialias(antialias);
                let mut dewarper = CpuDewarper::new(calibration.clone(), view, options).unwrap();
                let src = FrameBuf::new(format, 400, 400).unwrap();
                let mut out = FrameBuf::new(format, view.width, view.height).unwrap();
                // Warm-up: each pool thread sizes its row buffers the first time it gets a
                // row, and which threads get rows is up to rayon: run until a batch of
                // frames allocates no more than rayon does (at most 20 batches), then one
                // more batch.
                let batch = |dewarper: &mut CpuDewarper, out: &mut FrameBuf| {
                    let before = ALLOCATIONS.load(Ordering::Relaxed);
                    for _ in 0..32 {
                        dewarper.dewarp(&src.frame(), &mut out.frame_mut()).unwrap();
                    }
                    ALLOCATIONS.load(Ordering::Relaxed) - before
                };
                // 32 frames send at most 96 jobs: at most 2 injector blocks.
                let settled = (0..20).any(|_| batch(&mut dewarper, &mut out) <= 2);
                assert!(settled, "{projection:?} {format:?}: allocations never stop");
                let made = batch(&mut dewarper, &mut out);
                assert!(
                    made <= 2,
                    "{projection:?} {format:?} {interpolation:?} aa={antialias}: {made} allocations in 32 frames"
                );
            }
        }
    }
}
