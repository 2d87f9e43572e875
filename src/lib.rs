//! # omnidewarp
//!
//! Turns the annular ("donut") frames of catadioptric 360° cameras into panoramas and
//! virtual pan/tilt/zoom views, on the CPU or (feature `gpu`) on the GPU.
//!
//! See [`model`] for the geometry conventions.

pub mod cpu;
pub mod detect;
pub mod error;
pub mod frame;
pub mod model;
pub mod options;

pub use cpu::{CpuDewarper, dewarp_reference, render_mirror};
pub use detect::{DetectOptions, DetectedRing, RingDetector, detect_ring, detect_ring_frames};
pub use error::{Error, Result};
pub use frame::{Frame, FrameMut, PixelFormat, Plane, PlaneMut, YuvColor, YuvMatrix, YuvRange};
pub use options::{DewarpOptions, Interpolation};
