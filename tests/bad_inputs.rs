//! Bad inputs through the CLI (issue 12): every case of the corpus in `tests/bad-inputs/`
//! (made by its `make_corpus.py`, one case per line of `cases.tsv`) is run against the
//! binary. Each must fail within [`CASE_TIME_LIMIT`] with exit 1 or 2 and one
//! `omnidewarp: error:` line naming the problem (a usage error may add one
//! `omnidewarp: hint:` line), never panic, leave no output or temporary file, leave an
//! existing output and the corpus unchanged.
#![cfg(all(feature = "cli", feature = "video"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SAMPLE: &str = "assets/opencv_sample/sample.jpg";
const MEI_TOML: &str = "assets/opencv_sample/sample_mei_calib.toml";

/// The longest a bad input may take to be refused.
const CASE_TIME_LIMIT: Duration = Duration::from_secs(30);

fn asset(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every file under `dir`, with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// One line of `cases.tsv`.
struct Case {
    name: String,
    needle: String,
    args: Vec<String>,
}

fn corpus_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(asset("tests/bad-inputs/cases.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut fields = l.split('\t').map(str::to_owned);
            Case {
                name: fields.next().unwrap(),
                needle: fields.next().unwrap(),
                args: fields.collect(),
            }
        })
        .collect()
}

/// Runs the CLI with `args` in the crate root, killed after [`CASE_TIME_LIMIT`] (its
/// output is then `None`).
fn run(args: &[String]) -> Option<std::process::Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > CASE_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Why `case` did not fail cleanly, if it did not.
fn check(case: &Case, dir: &Path) -> Result<(), String> {
    let dir_text = dir.to_str().unwrap();
    let corpus = asset("tests/bad-inputs/files");
    let fill = |s: &str| {
        s.replace("{dir}", dir_text)
            .replace("{corpus}", corpus.to_str().unwrap())
    };
    let args: Vec<String> = case.args.iter().map(|a| fill(a)).collect();
    // An existing output must stay as it was.
    for name in ["out.png", "out.mp4"] {
        std::fs::write(dir.join(name), b"old").unwrap();
    }
    let before = snapshot(dir);
    let Some(out) = run(&args) else {
        return Err(format!("still running after {CASE_TIME_LIMIT:?}"));
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    let (errors, hints) = (count("omnidewarp: error: "), count("omnidewarp: hint: "));
    let code = out.status.code();
    let verdicts = [
        (matches!(code, Some(1 | 2)), "exit 1 or 2"),
        (errors == 1 && lines.len() == 1 + hints, "one error line"),
        (
            hints <= usize::from(code == Some(2)),
            "a hint only on a usage error",
        ),
        (stderr.contains(&fill(&case.needle)), "the problem named"),
        (!stderr.contains("panicked"), "no panic"),
        (
            snapshot(dir) == before,
            "no file written, the old ones unchanged",
        ),
    ];
    match verdicts.iter().find(|(ok, _)| !ok) {
        None => Ok(()),
        Some((_, want)) => Err(format!("wanted {want}; exit {code:?}: {stderr}")),
    }
}

#[test]
fn every_bad_input_of_the_corpus_fails_cleanly() {
    let cases = corpus_cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let root = std::env::temp_dir().join(format!("omnidewarp-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let corpus_before = snapshot(&asset("tests/bad-inputs/files"));
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| {
            let dir = root.join(i.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            check(case, &dir)
                .err()
                .map(|why| format!("{}: {why}", case.name))
        })
        .collect();
    assert!(
        snapshot(&asset("tests/bad-inputs/files")) == corpus_before,
        "a corpus file changed"
    );
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A JPEG cut in half converts with a one-line warning naming the damage (the decoder greys
/// out the rest); a bit-flipped one too, where its coded data is found damaged
/// (with the `video` feature; it converts or fails, never panics, without it).
#[test]
fn damaged_images_are_said() {
    let dir = std::env::temp_dir().join(format!("omnidewarp-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let jpeg = std::fs::read(asset(SAMPLE)).unwrap();
    std::fs::write(dir.join("half.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let mut flipped = jpeg.clone();
    for i in (600..flipped.len()).step_by(997) {
        flipped[i] ^= 0x10;
    }
    std::fs::write(dir.join("flip.jpg"), &flipped).unwrap();
    let flip_warns = cfg!(feature = "video");
    for (input, warns, needle) in [
        ("half.jpg", true, "cut short"),
        ("flip.jpg", flip_warns, "coded data is damaged"),
    ] {
        let input = dir.join(input);
        let output = dir.join("out.png");
        let args: Vec<String> = [
            "convert",
            input.to_str().unwrap(),
            "--calib",
            MEI_TOML,
            "--size",
            "64x32",
            "-o",
            output.to_str().unwrap(),
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        let out = run(&args).expect("finishes in time");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{}: {stderr}",
            input.display()
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}: {stderr}",
            input.display()
        );
        if warns {
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with("omnidewarp: warn: ") && stderr.contains(needle),
                "{stderr}"
            );
        }
        let _ = std::fs::remove_file(dir.join("out.png"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
