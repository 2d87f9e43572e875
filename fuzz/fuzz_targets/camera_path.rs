//! `cargo fuzz run camera_path`: see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omnidewarp_fuzz::camera_path(data));
