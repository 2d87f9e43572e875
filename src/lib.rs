//! # omnidewarp
//!
//! Turns the annular ("donut") frames of catadioptric 360° cameras into panoramas and
//! virtual pan/tilt/zoom views, on the CPU or (feature `gpu`) on the GPU.
//!
//! ## Quick start
//!
//! A calibration, a view, a dewarper, a frame in, a frame out:
//!
//! ```
//! use omnidewarp::model::{Calibration, ProjectionKind, View, ViewRequest};
//! use omnidewarp::{DewarpOptions, Dewarper, Frame, FrameBuf, PixelFormat};
//! # fn main() -> omnidewarp::Result<()> {
//! let calibration = Calibration::load("assets/opencv_sample/sample_mei_calib.toml".as_ref())?;
//! // A 1280×720 virtual PTZ view looking east and 10° down (angles are radians).
//! let view = ViewRequest::new(ProjectionKind::Perspective)
//!     .with_size(1280, 720)
//!     .with_yaw(90f64.to_radians())
//!     .with_pitch(-10f64.to_radians())
//!     .build(&calibration)?;
//! // `Backend::Auto` (the default) picks the CPU or a hardware GPU, once, here.
//! let mut dewarper = Dewarper::new(calibration.clone(), view, DewarpOptions::default())?;
//!
//! let image = image::open("assets/opencv_sample/sample.jpg")?.to_rgba8();
//! let mut out = FrameBuf::new(PixelFormat::Rgba8, view.width, view.height)?;
//! dewarper.dewarp(&Frame::from_rgba_image(&image)?, &mut out.frame_mut())?;
//! assert!(out.plane(0).iter().any(|&v| v > 0));
//!
//! // Pan and zoom: a new view, same dewarper.
//! dewarper.set_view(ViewRequest::new(ProjectionKind::Perspective).with_fov(0.8)
//!     .with_size(1280, 720).build(&calibration)?)?;
//! // The CLI's default panorama (4096×2048, full sphere).
//! let pano = View::default_for(ProjectionKind::Equirect, &calibration)?;
//! assert_eq!((pano.width, pano.height), (4096, 2048));
//! # Ok(()) }
//! ```
//!
//! Save a frame with [`output::save_image`]; find the calibration of an input the way the
//! CLI and the viewer do with [`calib::resolve`] (the file named, else
//! `NAME.omnidewarp.toml` beside the input, else the detected ring); convert whole videos
//! with `video::convert` (feature `video`). ARCHITECTURE.md maps the modules; [`model`]
//! states the geometry conventions.
//!
//! | backend | type | notes |
//! |---|---|---|
//! | choose at run time | [`Dewarper`] with [`DewarpOptions::backend`] | [`Backend::Auto`] (default): the CPU for short work ([`DewarpOptions::expected_frames`]), on machines without a hardware GPU or without feature `gpu`; else the GPU, unless it is a software rasterizer |
//! | CPU | [`CpuDewarper`] | the exact oracle [`dewarp_reference`] and a grid fast path, rows in parallel |
//! | GPU (feature `gpu`) | `GpuDewarper` | WGSL twins of the CPU code on `wgpu` (re-exported); its own headless device or the caller's, frames or textures in, RGBA8 buffers or the caller's render pass out |

// No `unwrap`/`expect`/indexing in library code: a caller gets an `Error`, not a panic
// (tests may); hot kernels that index carry an `expect` whose reason says why it is in bounds.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

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
pub mod redact;
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
