//! The CI variant of `scripts/soak.sh`, shared by the converter's and the viewer's tests.

use std::process::Command;

/// Runs `scripts/soak.sh` for 40 s with a server restart every 10 s, `env` added (which
/// client, its binary, a display), and asserts that it passed.
pub fn short_soak(env: &[(&str, &str)]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/soak.sh");
    let out = Command::new("bash")
        .arg(script)
        .envs(env.iter().copied())
        .env("SOAK_SECONDS", "40")
        .env("SOAK_PERIOD", "10")
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success() && text.contains("soak: OK"), "{text}");
}
