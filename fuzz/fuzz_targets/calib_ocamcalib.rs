//! `cargo fuzz run calib_ocamcalib`: see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| omnidewarp_fuzz::calibration(data));
