//! Files in, files out: H.264 against the still dewarp, containers and codecs, image
//! sequences, camera paths, the GPU backend, .mov metadata, input routing, pixel formats.

use crate::common::*;

#[test]
fn h264_clip_to_equirect_mp4_matches_still_dewarp() {
    let dir = TempDir::new("clip");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(
        &clip,
        480,
        60,
        30,
        &[
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p",
        ],
    );
    let out = dir.join("equirect.mp4");
    let calibration = ring_calibration(480, 0.0);
    let view = band_view(960, 228);
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        view,
    );
    job.encoder.crf = Some(10.0);
    job.encoder.preset = Some("veryfast".into());
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    job.progress = Some(Box::new(move |p| seen.lock().unwrap().push(*p)));
    job.progress_interval = Duration::ZERO;
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, 60);
    assert_eq!(report.encoder.as_deref(), Some("libx264"));
    let progress = progress.lock().unwrap();
    let last = progress.last().unwrap();
    assert!(last.done && last.frames == 60 && last.total == Some(60));

    // Same frame count, frame rate and timestamps as the input.
    let (tin, tout) = (frame_times(&clip), frame_times(&out));
    assert_eq!(tout.len(), 60);
    assert_eq!(tin.len(), tout.len());
    for (a, b) in tin.iter().zip(&tout) {
        assert!((a - b).abs() < 1e-3, "timestamps differ: {a} vs {b}");
    }
    let stream = video_stream(&out);
    assert_eq!(stream["r_frame_rate"], "30/1");
    assert_eq!(stream["avg_frame_rate"], "30/1");
    assert_eq!(stream["width"], 960);
    assert_eq!(stream["height"], 228);

    // Spherical metadata as ffprobe reports it.
    let side = stream["side_data_list"].as_array().expect("side data");
    let sph = side
        .iter()
        .find(|s| s["side_data_type"] == "Spherical Mapping")
        .expect("spherical mapping side data");
    assert!(
        sph["projection"]
            .as_str()
            .unwrap()
            .starts_with("tiled equirectangular")
            || sph["projection"] == "equirectangular",
        "{sph}"
    );

    // Frame k of the output = the still-image dewarp of decoded input frame k.
    let inputs = decode_all(&clip);
    let outputs = decode_all(&out);
    assert_eq!(inputs.len(), 60);
    assert_eq!(outputs.len(), 60);
    let mut dewarper = CpuDewarper::new(calibration, view, DewarpOptions::default()).unwrap();
    let mut worst = f64::INFINITY;
    for (k, ((input, _), (output, _))) in inputs.iter().zip(&outputs).enumerate() {
        let reference = input.still_dewarp(&mut dewarper);
        let p = psnr(&reference.planes[0], &output.planes[0]);
        let pu = psnr(&reference.planes[1], &output.planes[1]);
        let pv = psnr(&reference.planes[2], &output.planes[2]);
        worst = worst.min(p).min(pu).min(pv);
        assert!(
            p >= 40.0 && pu >= 40.0 && pv >= 40.0,
            "frame {k}: PSNR Y {p:.1} U {pu:.1} V {pv:.1} dB"
        );
        // And not merely similar to a neighbour: the camera turns 3° a frame.
        if k > 0 {
            let neighbour = psnr(&reference.planes[0], &outputs[k - 1].0.planes[0]);
            assert!(neighbour < p - 3.0, "frame {k} looks like frame {}", k - 1);
        }
    }
    eprintln!(
        "h264 clip: 60/60 frames, worst plane PSNR {worst:.1} dB, {:.1} fps",
        report.fps
    );
}

#[test]
fn containers_codecs_and_images() {
    let dir = TempDir::new("containers");
    let clip = dir.join("mirror.mkv");
    // Audio too, to be copied through.
    make_mirror_clip(
        &clip,
        240,
        12,
        24,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=0.5",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let calibration = ring_calibration(240, 0.0);
    let view = band_view(320, 80);
    let job = |out: OutputTarget, encoder: EncoderSettings| {
        let mut j = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            out,
            calibration.clone(),
            view,
        );
        j.encoder = encoder;
        j
    };
    // Matroska keeps the audio and gets a Projection element.
    let mkv = dir.join("out.mkv");
    let r = convert(&job(OutputTarget::File(mkv.clone()), fast_x264())).unwrap();
    assert_eq!(r.frames, 12);
    let streams = ffprobe_json(&mkv, &["-show_streams"]);
    let kinds: Vec<&str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["video", "audio"], "{streams}");
    let side = &streams["streams"][0]["side_data_list"];
    assert!(
        side.as_array()
            .is_some_and(|l| l.iter().any(|s| s["side_data_type"] == "Spherical Mapping")),
        "mkv projection missing: {side}"
    );
    // MOV with mpeg4, NUT, Y4M (raw, no audio).
    for (name, codec, expect) in [
        ("out.mov", Some("mpeg4"), "mpeg4"),
        ("out.nut", None, "h264"),
        ("out.y4m", None, "rawvideo"),
    ] {
        let path = dir.join(name);
        let settings = fast_x264().with_codec(codec.map(Into::into));
        let r = convert(&job(OutputTarget::File(path.clone()), settings)).unwrap();
        assert_eq!(r.frames, 12, "{name}");
        assert_eq!(frame_times(&path).len(), 12, "{name}");
        assert_eq!(video_stream(&path)["codec_name"], expect, "{name}");
    }
    // A bit rate instead of a crf.
    let path = dir.join("bitrate.mp4");
    let settings = fast_x264().with_bitrate(Some(400_000));
    assert_eq!(
        convert(&job(OutputTarget::File(path), settings))
            .unwrap()
            .frames,
        12
    );
    // crf and bit rate together are refused.
    let settings = fast_x264().with_bitrate(Some(400_000)).with_crf(Some(20.0));
    let e = convert(&job(OutputTarget::File(dir.join("x.mp4")), settings)).unwrap_err();
    assert!(e.to_string().contains("crf"), "{e}");
    // Image sequence.
    let pattern = dir.join("img_%03d.png");
    let r = convert(&job(OutputTarget::from_arg(&pattern), fast_x264())).unwrap();
    assert_eq!(r.frames, 12);
    let first = image::open(dir.join("img_001.png")).unwrap();
    assert_eq!((first.width(), first.height()), (320, 80));
    assert!(dir.join("img_012.png").exists() && !dir.join("img_013.png").exists());
    // Null output, with limits.
    let mut j = job(OutputTarget::Null, fast_x264());
    j.limits = Limits::default()
        .with_frames(Some(5))
        .with_start(None)
        .with_duration(None);
    assert_eq!(convert(&j).unwrap().frames, 5);
    j.limits = Limits::default()
        .with_frames(None)
        .with_start(Some(0.25))
        .with_duration(Some(0.125));
    assert_eq!(convert(&j).unwrap().frames, 3);
}

#[test]
fn camera_path_sets_the_view_per_frame() {
    let dir = TempDir::new("path");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(&clip, 240, 20, 10, &X264_CRF10);
    let calibration = ring_calibration(240, 0.0);
    let view = View::new(
        Projection::Perspective {
            fov: 80f64.to_radians(),
        },
        Orientation::default(),
        160,
        120,
    )
    .unwrap();
    let csv = dir.join("path.csv");
    std::fs::write(&csv, "time,yaw,pitch,fov\n0,170,-10,90\n1.9,-100,0,50\n").unwrap();
    let path = CameraPath::load(&csv).unwrap();
    let out = dir.join("ptz.mp4");
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        view,
    );
    job.path = Some(path.clone());
    job.encoder.crf = Some(8.0);
    job.encoder.preset = Some("ultrafast".into());
    assert_eq!(convert(&job).unwrap().frames, 20);
    assert!(
        video_stream(&out)["side_data_list"].is_null(),
        "no spherical data for PTZ"
    );
    let inputs = decode_all(&clip);
    let outputs = decode_all(&out);
    for k in [0usize, 7, 19] {
        let t = outputs[k].1 - outputs[0].1;
        let v = path.view_at(&view, t);
        let reference = inputs[k].0.still_dewarp(
            &mut CpuDewarper::new(calibration.clone(), v, DewarpOptions::default()).unwrap(),
        );
        let p = psnr(&reference.planes[0], &outputs[k].0.planes[0]);
        assert!(p >= 35.0, "frame {k} at t = {t}: PSNR {p:.1} dB");
    }
}

/// The GPU backend in the video pipeline (lavapipe here): one clip and camera path
/// converted on the CPU and on the GPU into raw y4m (lossless), compared plane by plane with
/// the CPU–GPU tolerance (max |Δ| ≤ 2, ≥ 99.9 % within 1).
#[cfg(feature = "gpu")]
#[test]
fn gpu_backend_converts_video_like_the_cpu() {
    if std::env::var("OMNIDEWARP_SKIP_GPU_TESTS").as_deref() == Ok("1") {
        eprintln!("skipping a GPU test (OMNIDEWARP_SKIP_GPU_TESTS=1)");
        return;
    }
    let dir = TempDir::new("gpu");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(&clip, 240, 12, 10, &X264_CRF10);
    let view = View::new(
        Projection::Perspective {
            fov: 80f64.to_radians(),
        },
        Orientation::default(),
        161,
        97,
    )
    .unwrap();
    let csv = dir.join("path.csv");
    std::fs::write(&csv, "time,yaw,pitch,fov\n0,170,-10,90\n1.1,-100,0,50\n").unwrap();
    let convert_on = |backend: omnidewarp::Backend| {
        let out = dir.join(&format!("{backend}.y4m"));
        let mut job = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            OutputTarget::File(out.clone()),
            ring_calibration(240, 0.0),
            view,
        );
        job.path = Some(CameraPath::load(&csv).unwrap());
        job.options.antialias = false;
        job.options = job.options.with_backend(backend);
        let report = convert(&job).unwrap();
        assert_eq!(report.frames, 12);
        (report.backend, decode_all(&out))
    };
    let (cpu_backend, cpu) = convert_on(omnidewarp::Backend::Cpu);
    let (gpu_backend, gpu) = convert_on(omnidewarp::Backend::Gpu);
    assert!(cpu_backend.starts_with("CPU"), "{cpu_backend}");
    assert!(gpu_backend.starts_with("GPU"), "{gpu_backend}");
    assert_eq!(gpu.len(), 12);
    for (k, ((a, ta), (b, tb))) in cpu.iter().zip(&gpu).enumerate() {
        assert!((ta - tb).abs() < 1e-6, "frame {k}: timestamps {ta} vs {tb}");
        for plane in 0..3 {
            let (pa, pb) = (&a.planes[plane], &b.planes[plane]);
            let max = pa
                .iter()
                .zip(pb)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            let close = pa
                .iter()
                .zip(pb)
                .filter(|(x, y)| x.abs_diff(**y) <= 1)
                .count();
            let within_1 = close as f64 / pa.len() as f64;
            assert!(
                max <= 2 && within_1 >= 0.999,
                "frame {k} plane {plane}: max |Δ| {max}, within 1: {:.3} %",
                100.0 * within_1
            );
        }
    }
    eprintln!("video on {gpu_backend}: 12 frames agree with {cpu_backend}");
}

#[test]
fn mov_output_carries_spherical_v1_metadata() {
    let dir = TempDir::new("mov");
    let clip = dir.join("mirror.mp4");
    make_mirror_clip(&clip, 240, 12, 24, &X264_FAST);
    let calibration = ring_calibration(240, 0.0);
    let full = View::new(
        Projection::Equirect {
            top: std::f64::consts::FRAC_PI_2,
            bottom: -std::f64::consts::FRAC_PI_2,
        },
        Orientation::default(),
        256,
        128,
    )
    .unwrap();
    for (name, view, cropped) in [
        ("band.mov", band_view(320, 80), true),
        ("full.mov", full, false),
    ] {
        let out = dir.join(name);
        let mut job = VideoJob::new(
            VideoInput::new(clip.to_string_lossy()),
            OutputTarget::File(out.clone()),
            calibration.clone(),
            view,
        );
        job.encoder = fast_x264();
        let report = convert(&job).unwrap();
        assert_eq!(report.frames, 12, "{name}");
        assert!(
            !report.warnings.iter().any(|w| w.contains("spherical")),
            "{name}: {:?}",
            report.warnings
        );
        let stream = video_stream(&out);
        let side = stream["side_data_list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let sph = side
            .iter()
            .find(|s| s["side_data_type"] == "Spherical Mapping")
            .unwrap_or_else(|| panic!("{name}: no spherical mapping in {stream}"));
        assert_eq!(sph["projection"], "equirectangular", "{name}: {sph}");
        assert_eq!(decoded_frames(&out), 12, "{name}");
        let bytes = std::fs::read(&out).unwrap();
        let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(has("<GSpherical:StitchingSoftware>omnidewarp<"), "{name}");
        assert_eq!(has("CroppedAreaTopPixels"), cropped, "{name}");
    }
    // The rewrite leaves no temporary file behind.
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Without spherical metadata asked for, the file has none.
    let out = dir.join("plain.mov");
    let mut job = VideoJob::new(
        VideoInput::new(clip.to_string_lossy()),
        OutputTarget::File(out.clone()),
        calibration.clone(),
        full,
    );
    job.encoder = fast_x264().with_spherical(false);
    assert_eq!(convert(&job).unwrap().frames, 12);
    assert!(video_stream(&out)["side_data_list"].is_null());
}

#[test]
fn routes_inputs() {
    assert!(is_video_input("rtsp://cam/stream"));
    assert!(is_video_input("/dev/video0"));
    assert!(is_video_input("clip.MP4"));
    assert!(!is_video_input("still.png"));
    let dir = TempDir::new("route");
    let png = dir.join("frame.dat");
    image::RgbImage::new(8, 8)
        .save_with_format(&png, image::ImageFormat::Png)
        .unwrap();
    assert!(
        !is_video_input(&png.to_string_lossy()),
        "probed PNG is a still"
    );
    let vid = dir.join("clip.bin");
    let mut c = ffmpeg();
    c.args([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64:rate=10",
        "-t",
        "0.5",
        "-f",
        "mpegts",
    ])
    .arg(&vid);
    run(c);
    assert!(
        is_video_input(&vid.to_string_lossy()),
        "probed mpegts is a video"
    );
}

#[test]
fn other_pixel_formats_arrive_as_i420_or_nv12() {
    let dir = TempDir::new("formats");
    // Format, colour and tightly packed luma of a file's first frame.
    let first_frame = |path: &Path| {
        let mut source = VideoSource::open(
            &VideoInput::new(path.to_string_lossy()),
            &SourceOptions::default(),
        )
        .unwrap();
        let f = source.next_frame().unwrap().expect("a frame");
        let p = f.frame().plane(0);
        let luma: Vec<u8> = (0..240)
            .flat_map(|y| p.data[y * p.stride..y * p.stride + 240].to_vec())
            .collect();
        (f.format(), f.color(), luma)
    };
    let reference = dir.join("ref.nut");
    make_mirror_clip(
        &reference,
        240,
        2,
        25,
        &["-c:v", "rawvideo", "-pix_fmt", "yuv420p"],
    );
    let (format, color, luma_ref) = first_frame(&reference);
    assert_eq!(format, PixelFormat::I420);
    assert_eq!(color.range, omnidewarp::YuvRange::Limited);
    for (name, args, expect, range) in [
        (
            "nv12.nut",
            &["-c:v", "rawvideo", "-pix_fmt", "nv12"][..],
            PixelFormat::Nv12,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "yuv422.mkv",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-qp",
                "0",
                "-pix_fmt",
                "yuv422p",
            ][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "rgb.mkv",
            &["-c:v", "ffv1", "-pix_fmt", "bgr0"][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Limited,
        ),
        (
            "jpeg.avi",
            &["-c:v", "mjpeg", "-q:v", "1", "-pix_fmt", "yuvj420p"][..],
            PixelFormat::I420,
            omnidewarp::YuvRange::Full,
        ),
    ] {
        let path = dir.join(name);
        make_mirror_clip(&path, 240, 2, 25, args);
        let (format, color, luma) = first_frame(&path);
        assert_eq!(format, expect, "{name}");
        assert_eq!(color.range, range, "{name}");
        if range == omnidewarp::YuvRange::Limited {
            let p = psnr(&luma_ref, &luma);
            assert!(
                p > 35.0,
                "{name}: luma PSNR {p:.1} dB against the yuv420p reference"
            );
        }
        // And the pipeline takes it.
        let mut job = VideoJob::new(
            VideoInput::new(path.to_string_lossy()),
            OutputTarget::Null,
            ring_calibration(240, 0.0),
            band_view(320, 80),
        );
        job.limits.frames = Some(2);
        assert_eq!(convert(&job).unwrap().frames, 2, "{name}");
    }
}
