//! `cargo fuzz run image_dewarp`: see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omnidewarp_fuzz::image_dewarp(data));
