//! Set-up shared by the benchmarks.

use glam::DVec2;
use omnidewarp::model::{Calibration, CameraModel, RingModel};

/// DESIGN.md's reference ring camera (2880² frame, radii 492.5–1411.2 px, −55°…+60°)
/// scaled to a `size`² frame.
pub fn ring_calibration(size: u32) -> Calibration {
    let s = f64::from(size) / 2880.0;
    let ring = RingModel::builder()
        .center(DVec2::splat(f64::from(size) / 2.0 - 0.5))
        .radii(492.5 * s, 1411.2 * s)
        .elevations((-55f64).to_radians(), 60f64.to_radians())
        .build()
        .expect("valid ring");
    Calibration::new((size, size), CameraModel::Ring(ring), None).expect("valid calibration")
}
