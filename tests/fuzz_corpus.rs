//! Every file of the fuzz corpora (`fuzz/corpus/<target>/`) and every input a fuzz run
//! found crashing (`fuzz/regressions/<target>/`), fed to the same function its `cargo fuzz`
//! target calls: what fuzzing found stays fixed, on stable and without cargo-fuzz.

use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_targets;

/// Runs `check` on every file under `fuzz/{corpus,regressions}/<target>/`; returns the count.
fn feed(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for set in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(set).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?");
                panic!("{}: {what}", path.display());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn calibration_corpora() {
    for target in ["calib_toml", "calib_opencv", "calib_ocamcalib"] {
        let n = feed(target, fuzz_targets::calibration);
        assert!(n >= 1, "{target}: empty corpus");
    }
}

#[cfg(feature = "video")]
#[test]
fn camera_path_corpus() {
    assert!(feed("camera_path", fuzz_targets::camera_path) >= 3);
}

#[cfg(feature = "video")]
#[test]
fn jpeg_damage_corpus() {
    assert!(feed("jpeg_damage", fuzz_targets::jpeg_damage) >= 5);
}

#[test]
fn image_dewarp_corpus() {
    assert!(feed("image_dewarp", fuzz_targets::image_dewarp) >= 6);
}
