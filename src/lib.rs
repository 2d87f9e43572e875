//! # omnidewarp
//!
//! Turns the annular ("donut") frames of catadioptric 360° cameras into panoramas and
//! virtual pan/tilt/zoom views, on the CPU or (feature `gpu`) on the GPU.
//!
//! See [`model`] for the geometry conventions.
//!
//! | backend | type | notes |
//! |---|---|---|
//! | choose at run time | [`Dewarper`] with [`Backend`] | `Auto` (default): the GPU when an adapter exists, else the CPU with one `log::warn!` |
//! | CPU | [`CpuDewarper`] | the exact oracle [`dewarp_reference`] and a grid fast path, rows in parallel |
//! | GPU (feature `gpu`) | `GpuDewarper` | WGSL twins of the CPU code on `wgpu` (re-exported); its own headless device or the caller's, frames or textures in, RGBA8 buffers or the caller's render pass out |

// The crate's own GPU tests share `tests/gpu_common` with the integration tests, which
// name the crate `omnidewarp`.
#[cfg(test)]
extern crate self as omnidewarp;

#[macro_use]
mod macros;

pub mod calib;
pub mod cpu;
pub mod detect;
mod dewarper;
pub mod error;
pub mod frame;
#[cfg(feature = "gpu")]
pub mod gpu;
mod mip;
pub mod model;
pub mod options;
pub mod output;
#[cfg(feature = "video")]
pub mod video;

pub use cpu::{CpuDewarper, dewarp_reference, render_mirror, source_positions};
pub use detect::{DetectOptions, DetectedRing, RingDetector, detect_ring, detect_ring_frames};
pub use dewarper::{AUTO_CPU_PIXELS, Dewarper, hardware_gpu_listed};
pub use error::{Error, Result};
pub use frame::{
    Frame, FrameBuf, FrameMut, PixelFormat, Plane, PlaneMut, YuvColor, YuvMatrix, YuvRange,
};
#[cfg(feature = "gpu")]
pub use gpu::GpuDewarper;
pub use options::{Backend, DewarpOptions, Interpolation};
/// The `wgpu` this crate was built with (feature `gpu`), for callers that share a device.
#[cfg(feature = "gpu")]
pub use wgpu;
