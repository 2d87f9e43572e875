#!/usr/bin/env bash
# Soak test of a live stream: an HTTP MPEG-TS stream served on 127.0.0.1 by the ffmpeg
# CLI, its server killed (SIGKILL, mid-frame) and restarted every SOAK_PERIOD seconds, is
# converted by `omnidewarp convert` for SOAK_SECONDS; then Ctrl-C (SIGINT) finalises it.
# With SOAK_CLIENT=viewer it is played by `omniview --stats` instead (under Xvfb, on
# SOAK_DISPLAY or a display of its own), then quit with its `q` key.
#
# Checks, each a failure (exit 1) when broken (for the viewer: memory, descriptors and
# threads, the reconnect lines, frames shown after the last restart, exit 0 within 10 s):
# - memory: the client's RSS in the last quarter of the run exceeds that of the first
#   quarter (after a warm-up period) by at most SOAK_RSS_GROWTH_MIB (default 32 MiB);
# - no leak per reconnect: open file descriptors and threads at the end ≤ those after the
#   warm-up + 2;
# - every reconnection is logged once: one "reconnected" line per restart of the server, no
#   line repeated, and the progress line's reconnect count agrees;
# - the output is finalised: exit status 130, ffprobe reads it, and its frames plus those
#   dropped to keep up (`--realtime`) are ≥ 80 % of what the servers sent (their
#   `-progress`): the input is read at the stream's pace, no queue grows behind it;
# - the client ends within 10 s of the signal.
#
# Usage: scripts/soak.sh                   (10 minutes, a restart a minute)
#        SOAK_SECONDS=40 SOAK_PERIOD=10 scripts/soak.sh   (the CI variant, < 1 minute)
#        SOAK_CLIENT=viewer scripts/soak.sh  (the viewer; needs Xvfb and xdotool)
# Env: OMNIDEWARP / OMNIVIEW (the binary; default target/debug/omnidewarp or omniview, or
#      $CARGO_TARGET_DIR's),
#      SOAK_SECONDS, SOAK_PERIOD, SOAK_SAMPLE (RSS sampling, s, default 1),
#      SOAK_RSS_GROWTH_MIB, SOAK_KEEP=1 (keep the work folder), SOAK_SIZE (output, 1024x256).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TOTAL=${SOAK_SECONDS:-600}
PERIOD=${SOAK_PERIOD:-60}
SAMPLE=${SOAK_SAMPLE:-1}
GROWTH_MIB=${SOAK_RSS_GROWTH_MIB:-32}
SIZE=${SOAK_SIZE:-1024x256}
CLIENT=${SOAK_CLIENT:-convert}
case "$CLIENT" in
convert) BIN=${OMNIDEWARP:-${CARGO_TARGET_DIR:-target}/debug/omnidewarp} ;;
viewer)
    BIN=${OMNIVIEW:-${CARGO_TARGET_DIR:-target}/debug/omniview}
    command -v Xvfb >/dev/null && command -v xdotool >/dev/null ||
        { echo "soak: the viewer's soak needs Xvfb and xdotool" >&2; exit 2; }
    ;;
*) echo "soak: SOAK_CLIENT is convert or viewer, not $CLIENT" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "soak: no binary at $BIN (cargo build, or set OMNIDEWARP / OMNIVIEW)" >&2; exit 2; }
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "soak: needs ffmpeg and ffprobe" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/omnidewarp-soak.XXXXXX")
server=""
client=""
xvfb=""
cleanup() {
    [ -n "$server" ] && kill -KILL "$server" 2>/dev/null || true
    [ -n "$client" ] && kill -KILL "$client" 2>/dev/null || true
    [ -n "$xvfb" ] && kill -TERM "$xvfb" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/live.ts"
ring=assets/synthetic_ring/ring_1440.jpg
# ring_1440.toml at half size: the stream is 720².
cat >"$work/calib.toml" <<'EOF'
format = "omnidewarp-calibration"
version = 1
image_size = [720, 720]

[model]
type = "ring"
center = [359.5, 359.5]
radius_inner = 123.125
radius_outer = 352.8
elevation_inner_deg = -55.0
elevation_outer_deg = 60.0
heading_at_top_deg = 0.0
mirrored = true
EOF

listening() { # whether 127.0.0.1:$port listens, or serves a client already
    # ffmpeg's `-listen 1` takes one client and closes its listener: a client that connects
    # between two polls leaves only the established connection to see (state 01; missing
    # it had a serving server replaced, and its client count one reconnection too many).
    local hex
    hex=$(printf '0100007F:%04X' "$port")
    awk -v a="$hex" '$2 == a && ($4 == "0A" || $4 == "01") { found = 1 } END { exit !found }' \
        /proc/net/tcp
}

start_server() {
    nice ffmpeg -nostdin -loglevel error -re -loop 1 -framerate 25 -i "$ring" \
        -vf "scale=720:720,noise=alls=12:allf=t" -c:v libx264 -preset ultrafast \
        -tune zerolatency -g 25 -pix_fmt yuv420p -f mpegts -progress "$work/sent-$restarts.txt" \
        -listen 1 "$url" \
        >/dev/null 2>>"$work/server.log" &
    server=$!
}

serve() { # starts the stream server and waits (≤ 90 s) until it listens
    start_server
    local i
    for i in $(seq 900); do
        listening && return 0
        if ! kill -0 "$server" 2>/dev/null; then
            # A server that could not bind yet (the killed one's port) is started again.
            start_server
        elif [ $((i % 150)) = 0 ]; then
            # One alive but still not listening after 15 s (seen once on a loaded CI
            # machine, its log empty) is replaced by a fresh one.
            echo "soak: server $server not listening after 15 s ($(server_state)); replaced" >>"$work/server.log"
            kill -KILL "$server" 2>/dev/null || true
            wait "$server" 2>/dev/null || true
            start_server
        fi
        sleep 0.1
    done
    echo "soak: the ffmpeg server did not listen on $port within 90 s ($(server_state)):" >&2
    tail -5 "$work/server.log" >&2
    exit 1
}

server_state() { # what the server process and the port are doing, for a failure's message
    local stat wchan
    stat=$(awk '{ print $3 }' "/proc/$server/stat" 2>/dev/null || echo gone)
    wchan=$(cat "/proc/$server/wchan" 2>/dev/null || echo -)
    printf 'pid %s state %s wchan %s; port %s sockets: %s; load %s; MemAvailable %s kB' \
        "$server" "$stat" "$wchan" "$port" \
        "$(awk -v p="$(printf ':%04X' "$port")" 'index($2, p) || index($3, p) { printf "%s>%s st %s ", $2, $3, $4 }' /proc/net/tcp)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# The viewer's frames shown so far (its last `--stats` line), 0 for the converter.
frames_shown() { grep -o 'frames=[0-9]*' "$work/stats.txt" 2>/dev/null | tail -1 | cut -d= -f2 | grep . || echo 0; }
shown_at_restart=0

restarts=0
serve
if [ "$CLIENT" = convert ]; then
    nice "$BIN" convert "$url" --calib "$work/calib.toml" -o "$work/soak.mkv" --band \
        --size "$SIZE" --preset ultrafast --realtime 2>"$work/convert.log" &
    client=$!
else
    if [ -z "${SOAK_DISPLAY:-}" ]; then
        # A display of our own, its number picked by the server (-displayfd: atomically).
        Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
        xvfb=$!
        for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
        [ -s "$work/display" ] || { echo "soak: Xvfb did not start" >&2; exit 1; }
        SOAK_DISPLAY=":$(tr -dc 0-9 <"$work/display")"
    fi
    mkdir -m 700 "$work/run"
    DISPLAY=$SOAK_DISPLAY XDG_RUNTIME_DIR=$work/run OMNIVIEW_CONFIG_DIR=$work/config \
        nice "$BIN" --reset --stats --size 640x360 "$url" --calib "$work/calib.toml" \
        >"$work/stats.txt" 2>"$work/convert.log" &
    client=$!
fi

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }
next_restart=$PERIOD
echo "t_s rss_kib fds threads" >"$work/samples.txt"
while :; do
    t=$(elapsed)
    awk -v t="$t" -v e="$SECONDS_TOTAL" 'BEGIN { exit !(t >= e) }' && break
    if ! kill -0 "$client" 2>/dev/null; then
        echo "soak: the $CLIENT ended early at ${t} s:" >&2
        cat "$work/convert.log" >&2
        exit 1
    fi
    echo "$t $(rss_kib "$client") $(fds "$client") $(threads "$client")" >>"$work/samples.txt"
    if awk -v t="$t" -v r="$next_restart" 'BEGIN { exit !(t >= r) }'; then
        shown_at_restart=$(frames_shown)
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        serve
        restarts=$((restarts + 1))
        next_restart=$((next_restart + PERIOD))
    fi
    sleep "$SAMPLE"
done

# Let the last reconnection settle: until every restart has its "reconnected" line (a
# loaded machine may take a while to start the server and the client to retry), at most
# 30 s, then 2 s of frames after it.
for _ in $(seq 300); do
    [ "$(grep -c "reconnected (attempt" "$work/convert.log" || true)" -ge "$restarts" ] && break
    sleep 0.1
done
sleep 2
t_signal=$(date +%s.%N)
if [ "$CLIENT" = convert ]; then
    kill -INT "$client"
    stop_with="SIGINT"
else
    win=$(DISPLAY=$SOAK_DISPLAY xdotool search --pid "$client" 2>/dev/null | head -1 || true)
    [ -n "$win" ] || { echo "soak: no viewer window found" >&2; exit 1; }
    DISPLAY=$SOAK_DISPLAY xdotool windowfocus --sync "$win" key q
    stop_with="its q key"
fi
status=0
for _ in $(seq 100); do kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$client" 2>/dev/null; then
    echo "soak: the $CLIENT ignored $stop_with for 10 s" >&2
    exit 1
fi
wait "$client" || status=$?
client=""
stop_s=$(awk -v a="$t_signal" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
total_s=$(elapsed)

fail=0
problem() { echo "soak: FAIL: $*" >&2; fail=1; }

grep -qi "panicked" "$work/convert.log" && problem "a panic"
reconnected=$(grep -c "reconnected (attempt" "$work/convert.log" || true)
[ "$reconnected" = "$restarts" ] || problem "$restarts restarts but $reconnected 'reconnected' lines"
dups=$(grep -v " fps" "$work/convert.log" | uniq -d | wc -l)
[ "$dups" = 0 ] || problem "$dups log lines printed twice in a row: $(grep -v ' fps' "$work/convert.log" | uniq -d | head -3)"
if [ "$CLIENT" = convert ]; then
    [ "$status" = 130 ] || problem "exit status $status, not 130 (interrupted, finalised)"
    grep -q "interrupted; wrote" "$work/convert.log" || problem "no 'interrupted; wrote … finalised' line"
    last_count=$(grep -o '[0-9]* reconnects' "$work/convert.log" | tail -1 | awk '{ print $1 }' || true)
    [ -z "$last_count" ] || [ "$last_count" -le "$restarts" ] || problem "progress says $last_count reconnects for $restarts restarts"

    frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
        -of csv=p=0 "$work/soak.mkv" 2>/dev/null | tr -dc 0-9)
    frames=${frames:-0}
    dropped=$(grep -o '[0-9]* live frames dropped' "$work/convert.log" | tail -1 | awk '{ print $1 }' || true)
    dropped=${dropped:-0}
    # What the servers sent: the last `frame=` of each one's progress (a loaded machine may
    # encode the stream slower than 25 fps).
    expected=$(for f in "$work"/sent-*.txt; do grep '^frame=' "$f" | tail -1 | cut -d= -f2; done |
        awk '{ n += $1 } END { print n + 0 }')
    awk -v f="$frames" -v d="$dropped" -v e="$expected" 'BEGIN { exit !(f + d >= 0.8 * e) }' ||
        problem "$frames frames written + $dropped dropped, expected about $expected taken in"
    outcome="$frames frames written + $dropped dropped to keep up (the servers report $expected sent)"
else
    [ "$status" = 0 ] || problem "exit status $status after $stop_with, not 0"
    frames=$(frames_shown)
    [ "$frames" -gt "$shown_at_restart" ] ||
        problem "no frame shown after the last restart ($shown_at_restart, then $frames)"
    dropped=$(grep -o 'dropped=[0-9]*' "$work/stats.txt" | tail -1 | cut -d= -f2 || true)
    outcome="$frames frames shown (${dropped:-0} dropped as late), $shown_at_restart at the last restart"
fi

# Memory: first quarter after a warm-up period vs the last quarter.
read -r rss_base rss_end rss_max fds_base fds_end thr_base thr_end < <(awk \
    -v total="$SECONDS_TOTAL" -v warm="$PERIOD" 'NR > 1 {
        t = $1; q = (total - warm) / 4
        if (t >= warm && t < warm + q) { if ($2 > b) b = $2; if (fb == "") { fb = $3; tb = $4 } }
        if (t >= total - q) { if ($2 > e) e = $2 }
        if ($2 > m) m = $2; fe = $3; te = $4
    } END { print b + 0, e + 0, m + 0, fb + 0, fe + 0, tb + 0, te + 0 }' "$work/samples.txt")
growth_kib=$((rss_end - rss_base))
[ "$growth_kib" -le $((GROWTH_MIB * 1024)) ] ||
    problem "RSS grew by $((growth_kib / 1024)) MiB (bound $GROWTH_MIB MiB)"
[ "$fds_end" -le $((fds_base + 2)) ] || problem "file descriptors $fds_base → $fds_end"
[ "$thr_end" -le $((thr_base + 2)) ] || problem "threads $thr_base → $thr_end"

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "soak: ${total_s} s, $restarts server restarts (SIGKILL) every $PERIOD s, $reconnected reconnects logged," \
    "$outcome, RSS after warm-up $(mib "$rss_base") MiB, at the end" \
    "$(mib "$rss_end") MiB, max $(mib "$rss_max") MiB (growth $((growth_kib / 1024)) MiB, bound $GROWTH_MIB)," \
    "fds $fds_base → $fds_end, threads $thr_base → $thr_end, stopped ${stop_s} s after $stop_with, exit $status"
if [ "$fail" != 0 ]; then
    echo "soak: the $CLIENT's log:" >&2
    tail -20 "$work/convert.log" >&2
    exit 1
fi
echo "soak: OK"
