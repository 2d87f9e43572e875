//! `cargo fuzz run jpeg_damage`: see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omnidewarp_fuzz::jpeg_damage(data));
