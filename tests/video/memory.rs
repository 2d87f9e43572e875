//! Memory stays flat with the length of the input.

use crate::common::*;

/// Environment variable that turns `memory_probe_child` into a conversion run.
const PROBE: &str = "OMNIDEWARP_MEMORY_PROBE";

/// Not a test of its own: run by `memory_stays_flat_with_video_length` in a child process.
#[test]
fn memory_probe_child() {
    let Ok(spec) = std::env::var(PROBE) else {
        return;
    };
    let (clip, frames, size) = {
        let mut it = spec.split('|');
        (
            it.next().unwrap().to_owned(),
            it.next().unwrap().parse::<u64>().unwrap(),
            it.next().unwrap().parse::<u32>().unwrap(),
        )
    };
    let out = PathBuf::from(format!("{clip}.{frames}.mp4"));
    let mut job = VideoJob::new(
        VideoInput::new(clip),
        OutputTarget::File(out.clone()),
        ring_calibration(size, 0.0),
        // A small output keeps the run short; the input size is what fills the queues.
        band_view(size / 2, size / 8),
    );
    job.encoder = fast_x264();
    job.limits.frames = Some(frames);
    let report = convert(&job).unwrap();
    assert_eq!(report.frames, frames);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    println!("VMHWM_KB={hwm} FPS={:.1}", report.fps);
    let _ = std::fs::remove_file(out);
}

#[test]
fn memory_stays_flat_with_video_length() {
    let size: u32 = 1440;
    let dir = TempDir::new("memory");
    let clip = dir.join("big.mp4");
    let mut c = ffmpeg();
    c.args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}x{size}:rate=30"))
        .args(["-frames:v", "300"])
        .args(X264_FAST)
        .arg(&clip);
    run(c);
    let probe = |frames: u64| -> (u64, f64) {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "memory::memory_probe_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(PROBE, format!("{}|{frames}|{size}", clip.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let at = text.find("VMHWM_KB=").expect("probe output");
        let mut parts = text[at..].split_whitespace();
        let kb = parts.next().unwrap()["VMHWM_KB=".len()..].parse().unwrap();
        let fps = parts.next().unwrap()["FPS=".len()..].parse().unwrap();
        (kb, fps)
    };
    let (short, fps_short) = probe(30);
    let (long, fps_long) = probe(300);
    eprintln!(
        "peak RSS {size}²: 30 frames {} MiB ({fps_short:.1} fps), 300 frames {} MiB ({fps_long:.1} fps)",
        short / 1024,
        long / 1024
    );
    assert!(
        (long as f64) <= 1.5 * short as f64,
        "peak RSS grows with length: {short} kB for 30 frames, {long} kB for 300"
    );
}
