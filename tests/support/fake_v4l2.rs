//! A V4L2 camera for tests on machines without one: builds `tests/fixtures/fake_v4l2.c`
//! (an LD_PRELOAD stand-in for a capture driver) and says how to point a child process at it.

use std::path::Path;
use std::process::Command;

/// The device path the fake camera answers for (no such file exists).
pub const DEVICE: &str = "/dev/video-omnidewarp-test";

/// Builds the fake driver into `dir` and returns the environment that makes a child
/// process see a camera at [`DEVICE`] serving `picture` (raw YUV420P of `size`) at 25 fps.
pub fn camera_env(
    dir: &Path,
    picture: &Path,
    (width, height): (u32, u32),
) -> Vec<(String, String)> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_v4l2.c");
    let library = dir.join("fake_v4l2.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(source)
        .arg("-ldl")
        .status()
        .expect("cc runs (a C compiler comes with every Rust toolchain's linker)");
    assert!(built.success(), "building {source} failed");
    vec![
        ("LD_PRELOAD".into(), library.display().to_string()),
        ("FAKE_V4L2_DEVICE".into(), DEVICE.into()),
        ("FAKE_V4L2_FRAME".into(), picture.display().to_string()),
        ("FAKE_V4L2_SIZE".into(), format!("{width}x{height}")),
    ]
}
