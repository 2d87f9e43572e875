#!/usr/bin/env bash
# Benchmark (not a test) of the viewer: `omniview --stats` on a 1440² H.264 mirror clip in a
# 1280×720 window under Xvfb (software rendering) while xdotool pans continuously. Prints
# the per-second stats lines and a summary (median fps, worst p99 frame time, drops).
# Usage: scripts/viewer_bench.sh [SECONDS]   (release build of omniview first)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
bin="${OMNIVIEW_BIN:-${CARGO_TARGET_DIR:-target}/release/omniview}"
[ -x "$bin" ] || cargo build --release --bin omniview
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
clip="$work/ring_1440.mp4"
# 30 fps H.264 of the synthetic mirror frame, a little longer than the run (every frame is
# decoded and, with the pan, dewarped anew).
ffmpeg -hide_banner -loglevel error -loop 1 -framerate 30 -i assets/synthetic_ring/ring_1440.jpg \
  -vf format=yuv420p -t $((seconds + 5)) -c:v libx264 -preset ultrafast -crf 23 "$clip"
display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.05; done
export DISPLAY="$display" XDG_RUNTIME_DIR="$work/run" OMNIVIEW_CONFIG_DIR="$work/config"
mkdir -m 700 "$XDG_RUNTIME_DIR"
"$bin" --stats --size 1280x720 --friction 0 --output-dir "$work" "$clip" \
  --calib assets/synthetic_ring/ring_1440.toml > "$work/stats.txt" &
wid="$(timeout 30 xdotool search --sync --name '^omniview' | head -1)"
xdotool windowfocus --sync "$wid"
# Pan back and forth for the whole run: press, then sweep 400 px each way in 10 px steps at
# 60 Hz, as a mouse reports (one xdotool process per sweep: an xdotool started for every
# step would itself take a core, and the viewer measured ~2 fps then).
xdotool mousemove --window "$wid" 440 360 mousedown 1
sweep=()
for x in $(seq 440 10 840) $(seq 840 -10 440); do
  sweep+=(mousemove --window "$wid" "$x" 360 sleep 0.016)
done
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do xdotool "${sweep[@]}"; done
xdotool mouseup 1
kill %2 2>/dev/null || true
cat "$work/stats.txt"
# Skip the first two lines (start-up), summarise the rest.
lines="$(tail -n +3 "$work/stats.txt" | grep '^fps=' | sed 's/[a-z0-9]*=//g; s/ms//g')"
median="$(echo "$lines" | awk '{print $1}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
echo "$lines" | awk -v median="$median" '
  { if ($3 > p99) p99 = $3; drop = $4; n++ }
  END { printf "summary: median fps %s over %d s, worst p99 frame time %.1f ms, dropped %d\n", median, n, p99, drop }'
