//! Video and live-stream conversion, end to end, with clips made here by the `ffmpeg` CLI.
//!
//! | module | what |
//! |---|---|
//! | `common` | helpers: temporary folders, ffmpeg/ffprobe, calibrations, mirror clips, PSNR |
//! | `fake_v4l2` | a V4L2 camera without a kernel driver (LD_PRELOAD), for `cli` |
//! | `soak` | `scripts/soak.sh`'s 40 s variant, for `faults` |
//! | `live` | every live server the network tests start on 127.0.0.1 |
//! | `files` | files in and out, codecs, image sequences, camera paths, GPU, .mov metadata |
//! | `damaged` | truncated, corrupt and cut inputs |
//! | `network` | HTTP, HLS, SRT, UDP inputs; reconnects, losses, stalls, dropped frames |
//! | `faults` | refused, unreachable and silent inputs; cancel and signals in every phase |
//! | `memory` | memory flat with the length of the input |
//! | `cli` | the command line on videos |
//! | `rtsp` | RTSP from GStreamer's server |
#![cfg(feature = "video")]

mod common;
#[path = "../support/fake_v4l2.rs"]
mod fake_v4l2;
mod live;
#[cfg(feature = "cli")]
#[path = "../support/soak.rs"]
mod soak;

mod damaged;
mod faults;
mod files;
mod memory;
mod network;
mod rtsp;

#[cfg(feature = "cli")]
mod cli;
