//! `FrameBuf::frame` and `FrameBuf::frame_mut` lend views without allocating: counted by a
//! global allocator that tallies this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use omnidewarp::{FrameBuf, PixelFormat};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a const-initialised thread-local `Cell`, whose use
// neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for `layout` are those `System.alloc` needs.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn lending_views_allocates_nothing() {
    for format in [
        PixelFormat::Rgba8,
        PixelFormat::Rgb8,
        PixelFormat::Gray8,
        PixelFormat::I420,
        PixelFormat::Nv12,
    ] {
        let mut buf = FrameBuf::new(format, 641, 361).unwrap();
        let mut sum = 0usize;
        let n = allocations_in(|| {
            for _ in 0..10 {
                let mut frame = buf.frame_mut();
                for plane in frame.planes_mut() {
                    plane.row_mut(0)[0] = 7;
                }
                let frame = buf.frame();
                sum += usize::from(frame.plane(0).data[0]) + frame.width() as usize;
            }
        });
        assert_eq!(n, 0, "{format:?}: {n} allocations");
        assert_eq!(sum, 10 * (7 + 641));
        // The counter does count: a FrameBuf allocates its pixels.
        assert!(allocations_in(|| drop(FrameBuf::new(format, 8, 8))) >= 1);
    }
}

#[test]
fn dewarpers_refuse_nv12_outputs() {
    use omnidewarp::model::{Calibration, CameraModel, Orientation, Projection, RingModel, View};
    use omnidewarp::{Backend, DewarpOptions, Dewarper, Error};
    let ring = RingModel::builder()
        .center([3.5, 3.5])
        .radii(1.0, 3.0)
        .elevations(-0.5, 0.5)
        .build()
        .unwrap();
    let calibration = Calibration::new((8, 8), CameraModel::Ring(ring), None).unwrap();
    let view = View::new(
        Projection::Perspective { fov: 1.0 },
        Orientation::default(),
        4,
        4,
    )
    .unwrap();
    let options = DewarpOptions::default().with_backend(Backend::Cpu);
    let mut dewarper = Dewarper::new(calibration, view, options).unwrap();
    let src = FrameBuf::new(PixelFormat::Nv12, 8, 8).unwrap();
    let mut nv12 = FrameBuf::new(PixelFormat::Nv12, 4, 4).unwrap();
    let err = dewarper.dewarp(&src.frame(), &mut nv12.frame_mut());
    assert!(matches!(err, Err(Error::OutputLayout(_))), "{err:?}");
}
