#!/usr/bin/env bash
# Runs every test: installs the system packages first, then the whole suite with all
# features (GPU tests run for real on lavapipe), the doc tests, the core without optional
# features, and one pass of each benchmark as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
# Mesa wants a private runtime dir; lavapipe needs nothing else.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"

# --all-targets also runs each benchmark once in test mode (a smoke test in the same
# build profile); the full benchmarks are `cargo bench` (see BENCHMARKS.md).
cargo test --all-features --all-targets
cargo test --all-features --doc
cargo test --no-default-features --lib --tests
# Examples run as a user would run them (the GPU ones on lavapipe; each checks its output).
cargo run --all-features --example still
cargo run --all-features --example headless_gpu
cargo run --all-features --example embed_wgpu
cargo run --all-features --example video_ptz
