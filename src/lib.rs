//! # omnidewarp
//!
//! Turns the annular ("donut") frames of catadioptric 360° cameras into panoramas and
//! virtual pan/tilt/zoom views, on the CPU or (feature `gpu`) on the GPU.
//!
//! See [`model`] for the geometry conventions.

pub mod calib;
pub mod error;
pub mod model;

pub use error::{Error, Result};
