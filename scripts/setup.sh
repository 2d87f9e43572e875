#!/usr/bin/env bash
# Installs what building and testing omnidewarp needs on Debian/Ubuntu (as root or via sudo):
# a C toolchain for the FFmpeg bindings, FFmpeg's libraries and CLI (video feature and its
# tests), Mesa's software Vulkan "lavapipe" (GPU tests without a GPU), GStreamer's RTSP
# server for Debian's /usr/bin/python3 (the RTSP tests' server), a virtual X display with
# xdotool and ImageMagick plus the X client libraries winit loads at run time (the viewer
# and its tests), and Rust if missing.
set -euo pipefail

packages=(
  build-essential pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev
  libavdevice-dev libswresample-dev ffmpeg
  mesa-vulkan-drivers libvulkan1 libegl1 libegl-mesa0 libgl1-mesa-dri
  curl ca-certificates python3
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  xvfb xdotool imagemagick libx11-6 libx11-xcb1 libxcursor1 libxi6 libxcb1 libxkbcommon0
  libxkbcommon-x11-0
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "setup: Rust is in ~/.cargo/bin; add it to PATH: . \"\$HOME/.cargo/env\""
  else
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    echo "setup: run '. \"\$HOME/.cargo/env\"' or open a new shell to use cargo"
  fi
fi
echo "setup: done"
