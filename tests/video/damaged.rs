//! Damaged inputs: truncated and corrupt files fail cleanly, and cut files without a frame
//! count are reported with the frames that decoded.

use crate::common::*;

#[test]
fn truncated_and_corrupt_inputs_fail_cleanly() {
    let dir = TempDir::new("corrupt");
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(320, 80);
    let job = |input: &Path, out: &Path| {
        let mut j = VideoJob::new(
            VideoInput::new(input.to_string_lossy()),
            OutputTarget::File(out.to_owned()),
            calibration.clone(),
            view,
        );
        j.encoder.preset = Some("ultrafast".into());
        j
    };
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "5",
        "-pix_fmt",
        "yuv420p",
    ];
    // moov at the end, cut in half: nothing can be opened, nothing is written.
    let plain = dir.join("plain.mp4");
    make_mirror_clip(&plain, 240, 30, 25, &x264);
    let bytes = std::fs::read(&plain).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.join("cut_out.mp4");
    let e = convert(&job(&cut, &out)).unwrap_err().to_string();
    assert!(e.contains("cut.mp4") && e.contains("cannot open"), "{e}");
    assert!(!out.exists(), "no output for an unopenable input");

    // moov first, data cut: the decodable frames are written, then a clear error.
    let fast = dir.join("fast.mp4");
    let mut args = x264.to_vec();
    args.extend(["-movflags", "+faststart"]);
    make_mirror_clip(&fast, 240, 30, 25, &args);
    let bytes = std::fs::read(&fast).unwrap();
    let cut = dir.join("fast_cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let out = dir.join("fast_cut_out.mp4");
    let e = convert(&job(&cut, &out)).unwrap_err().to_string();
    assert!(
        e.contains("corrupt or truncated") && e.contains("written to"),
        "{e}"
    );
    let n = frame_times(&out).len();
    assert!(n > 5 && n < 30, "{n} frames in the finalised output");

    // Garbage bytes in the middle of a transport stream: converted around the damage,
    // reported, output valid.
    let ts = dir.join("clip.ts");
    make_mirror_clip(&ts, 240, 30, 25, &x264);
    let mut bytes = std::fs::read(&ts).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 20_000].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let bad = dir.join("bad.ts");
    std::fs::write(&bad, &bytes).unwrap();
    let out = dir.join("bad_out.mp4");
    match convert(&job(&bad, &out)) {
        Ok(r) => {
            eprintln!("damaged ts: converted {} frames", r.frames);
            assert!(r.frames > 0);
        }
        Err(e) => {
            eprintln!("damaged ts: {e}");
            assert!(e.to_string().contains("bad.ts"), "{e}");
        }
    }
    if out.exists() {
        assert!(!frame_times(&out).is_empty());
    }

    // Not a video at all.
    let junk = dir.join("junk.mp4");
    std::fs::write(
        &junk,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = dir.join("junk_out.mp4");
    let e = convert(&job(&junk, &out)).unwrap_err().to_string();
    assert!(e.contains("junk.mp4"), "{e}");
    assert!(!out.exists());
    // Missing file.
    let e = convert(&job(&dir.join("missing.mp4"), &out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.mp4"), "{e}");
}

/// The frame count a conversion error says it wrote (0 when it says nothing was).
fn frames_written(message: &str) -> u64 {
    if message.contains("nothing was written") {
        return 0;
    }
    let before = message
        .split(" frames that decoded were written")
        .next()
        .filter(|b| b.len() < message.len())
        .unwrap_or_else(|| panic!("no frame count in: {message}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in: {message}"))
}

/// Checks a conversion of a cut file: an error naming the damage, and an output that is
/// either absent or holds exactly the frames the error says were written.
fn assert_reported_cut(result: omnidewarp::Result<omnidewarp::video::VideoReport>, out: &Path) {
    let e = match result {
        Ok(r) => panic!("a cut file converted without error ({} frames)", r.frames),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("corrupt or truncated"), "{e}");
    let n = frames_written(&e);
    if n == 0 {
        assert!(!out.exists(), "{e}");
    } else {
        assert_eq!(decoded_frames(out), n, "{e}");
    }
    eprintln!("{e}");
}

#[test]
fn cut_mkv_and_ts_without_frame_counts_are_reported() {
    let dir = TempDir::new("cut");
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(160, 40);
    let job = |input: &Path, out: &Path| {
        let mut j = VideoJob::new(
            VideoInput::new(input.to_string_lossy()),
            OutputTarget::File(out.to_owned()),
            calibration.clone(),
            view,
        );
        j.encoder = fast_x264();
        j.encoder.copy_audio = false;
        j
    };
    // 40 frames at 25 fps (1.6 s), audio running on to 2.5 s.
    let args = [
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=2.5",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "5",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
    ];
    let mkv = dir.join("clip.mkv");
    make_mirror_clip(&mkv, 240, 40, 25, &args);
    let ts = dir.join("clip.ts");
    make_mirror_clip(&ts, 240, 40, 25, &args);
    // Matroska written to a pipe: the segment size is unknown, no statistics tags.
    let piped = dir.join("piped.mkv");
    let mut c = ffmpeg();
    c.arg("-i")
        .arg(&mkv)
        .args(["-c", "copy", "-f", "matroska", "pipe:1"])
        .stdout(std::fs::File::create(&piped).unwrap());
    run(c);

    // Whole files convert without complaint: no false positives.
    for whole in [&mkv, &ts, &piped] {
        let out = dir.join("whole_out.mp4");
        let r = convert(&job(whole, &out)).unwrap_or_else(|e| panic!("{}: {e}", whole.display()));
        assert_eq!(r.frames, 40, "{}", whole.display());
        assert_eq!(decoded_frames(&out), 40);
    }

    // Cut files are errors, their decodable frames written.
    let cut = |src: &Path, name: &str, len: usize| {
        let bytes = std::fs::read(src).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &bytes[..len]).unwrap();
        (path, bytes.len())
    };
    let mkv_len = std::fs::metadata(&mkv).unwrap().len() as usize;
    let ts_len = std::fs::metadata(&ts).unwrap().len() as usize;
    assert_eq!(ts_len % 188, 0);
    let cases = [
        cut(&mkv, "cut40.mkv", mkv_len * 4 / 10),
        cut(&mkv, "cut70.mkv", mkv_len * 7 / 10),
        cut(&mkv, "cut_end.mkv", mkv_len - 30),
        cut(&ts, "cut40.ts", ts_len * 4 / 10 / 188 * 188 + 100),
        cut(&ts, "cut70.ts", ts_len * 7 / 10 / 188 * 188 + 17),
        cut(&ts, "cut_end.ts", ts_len - 100),
    ];
    for (path, _) in &cases {
        let out = dir.join(&format!(
            "{}_out.mp4",
            path.file_stem().unwrap().to_string_lossy()
        ));
        assert_reported_cut(convert(&job(path, &out)), &out);
    }

    // Matroska written live but with mkvmerge-style statistics tags: a cut shows against
    // the frame count, or against the duration.
    for (name, tag, expect) in [
        ("frames.mkv", "NUMBER_OF_FRAMES-eng=40", "of its 40 frames"),
        (
            "duration.mkv",
            "DURATION-eng=00:00:01.600000000",
            "of its 1.600 s",
        ),
    ] {
        let tagged = dir.join(name);
        let mut c = ffmpeg();
        c.arg("-i")
            .arg(&mkv)
            .args(["-map", "0", "-c", "copy", "-metadata:s:v:0", tag])
            .args(["-f", "matroska", "pipe:1"])
            .stdout(std::fs::File::create(&tagged).unwrap());
        run(c);
        let out = dir.join("tagged_out.mp4");
        let r = convert(&job(&tagged, &out)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.frames, 40, "{name}");
        let len = std::fs::metadata(&tagged).unwrap().len() as usize;
        let (path, _) = cut(&tagged, &format!("cut_{name}"), len * 6 / 10);
        let out = dir.join("tagged_cut_out.mp4");
        let result = convert(&job(&path, &out));
        if let Err(e) = &result {
            assert!(e.to_string().contains(expect), "{name}: {e}");
        }
        assert_reported_cut(result, &out);
    }

    // A transport stream cut on a packet boundary is not always knowable: whatever the
    // outcome, the output is valid.
    let (boundary, _) = cut(&ts, "boundary.ts", ts_len * 7 / 10 / 188 * 188);
    let out = dir.join("boundary_out.mp4");
    match convert(&job(&boundary, &out)) {
        Ok(r) => {
            eprintln!("ts cut between packets: {} frames, no error", r.frames);
            assert_eq!(decoded_frames(&out), r.frames);
        }
        Err(e) => {
            let e = e.to_string();
            eprintln!("ts cut between packets: {e}");
            assert!(e.contains("corrupt or truncated"), "{e}");
        }
    }

    // The command line: exit status 1, one line naming the damage, a valid output.
    #[cfg(feature = "cli")]
    {
        calibration.save_toml(&dir.join("calib.toml")).unwrap();
        for (input, output) in [("cut70.mkv", "cli_mkv.mp4"), ("cut40.ts", "cli_ts.mkv")] {
            let out = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
                .args(["convert", input, "--calib", "calib.toml", "-o", output])
                .args(["--band", "--size", "160x40", "--preset", "ultrafast"])
                .current_dir(&dir.0)
                .output()
                .unwrap();
            let e = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{input}: {e}");
            assert!(e.contains("corrupt or truncated"), "{input}: {e}");
            assert!(!e.contains("panicked"), "{e}");
            let n = frames_written(&e);
            let path = dir.join(output);
            if n == 0 {
                assert!(!path.exists());
            } else {
                assert_eq!(decoded_frames(&path), n, "{e}");
            }
        }
        let whole = Command::new(env!("CARGO_BIN_EXE_omnidewarp"))
            .args([
                "convert",
                "clip.mkv",
                "--calib",
                "calib.toml",
                "-o",
                "cli_whole.mp4",
            ])
            .args(["--band", "--size", "160x40", "--preset", "ultrafast"])
            .current_dir(&dir.0)
            .output()
            .unwrap();
        assert_eq!(
            whole.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&whole.stderr)
        );
    }
}
