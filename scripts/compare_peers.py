#!/usr/bin/env python3
"""Times omnidewarp's CPU backend and its peers on issue 11's workloads, in one run, on this
machine, and prints ms/frame, Mpx/s, our ratio to each peer, our share of a memcpy of the
output, and PSNR / max error against omnidewarp's exact oracle; draws a PNG chart.

Workloads (a 2880x2880 RGB8 ring frame, DESIGN.md's ring; bilinear; anti-aliasing off):
  W1  4096x2048 equirect (full sphere)     W1b 4096x1024 band panorama (+60..-55 deg)
  W2  1920x1080 perspective 90 deg         W3  W2 with the yaw +1 deg before every frame
Peers:
  - OpenCV cv2.remap with float32 maps and with fixed-point maps (cv2.convertMaps to
    CV_16SC2, prebuilt); for W3 the map changes every frame, so its time includes
    convertMaps of new float maps (a lower bound: computing the float maps is not counted);
  - FFmpeg v360 (fisheye -> equirect / flat) with the exact command of issue 11, its
    rawvideo read time subtracted (W1, W2; v360 has no band output for W1b; W3 is not run);
  - a numpy memcpy of the output (the memory-bandwidth floor).
Ours runs in-process (examples/cpu_workloads.rs, median of --runs calls) at the best SIMD
level and at scalar. Maps and the oracle's outputs come from the same example (--export).

Installs what is missing: OpenCV + numpy + matplotlib into a venv (.venv-peers, via pip;
the script re-runs itself there) and uses the system ffmpeg (Debian: apt-get install ffmpeg).
Usage: scripts/compare_peers.py [--runs 21] [--threads 2] [--chart PATH]
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-peers")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLE = os.path.join(TARGET, "release", "examples", "cpu_workloads")
SIZE = 2880
WORKLOADS = {"W1": (4096, 2048), "W1b": (4096, 1024), "W2": (1920, 1080), "W3": (1920, 1080)}
# v360's fisheye is exactly an equiangular ring whose radius line passes through the centre
# at -90 deg: F = (S - 1) / (ring px per degree), issue 11.
FOV = 306.016


def ensure_peers():
    try:
        import cv2  # noqa: F401
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if sys.executable == python:
        sys.exit("the venv lacks OpenCV/numpy/matplotlib even after installing them")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "opencv-contrib-python-headless",
                        "numpy", "matplotlib"], check=True)
    os.execv(python, [python] + sys.argv)


def build_example():
    subprocess.run(["cargo", "build", "--release", "--no-default-features", "--example",
                    "cpu_workloads"], cwd=ROOT, check=True)


def ours(args, level, extra=()):
    out = subprocess.run([EXAMPLE, "--threads", str(args.threads), "--runs", str(args.runs),
                          "--level", level, *extra], check=True, capture_output=True,
                         text=True).stdout
    result = {}
    for line in out.splitlines():
        name, *fields = line.split()
        result[name] = {k: float(v) for k, v in (f.split("=") for f in fields)}
    return result


def median_ms(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2] * 1e3


def psnr(a, b):
    import numpy as np
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return (math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)), float(np.abs(d).max())


def ffmpeg_ms(args, frame, vf, frames):
    base = ["ffmpeg", "-v", "error", "-threads", str(args.threads), "-filter_threads",
            str(args.threads), "-stream_loop", "-1", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{SIZE}x{SIZE}", "-i", frame]
    tail = ["-frames:v", str(frames), "-f", "null", "-"]

    def timed(cmd):
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        return time.perf_counter() - t

    with_filter = timed(base + ["-vf", vf] + tail)
    read = timed(base + tail)
    return max(with_filter - read, 1e-9) / frames * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chart", default=os.path.join(ROOT, "assets", "benchmarks",
                                                        "cpu_peers.png"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    ensure_peers()
    import cv2
    import numpy as np
    if not args.no_build:
        build_example()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg missing: apt-get install ffmpeg")
    tmp = tempfile.mkdtemp(prefix="omnidewarp-peers-")
    ours(args, "scalar", ["--runs", "1", "--export", tmp])
    src = np.fromfile(os.path.join(tmp, "frame.raw"), np.uint8).reshape(SIZE, SIZE, 3)
    # Ours: the best level, then scalar, with PSNR against the oracle.
    level = "avx2" if "avx2" in open("/proc/cpuinfo").read() else "scalar"
    rows = {name: {} for name in WORKLOADS}
    for lv in dict.fromkeys([level, "scalar"]):
        for name, r in ours(args, lv, ["--psnr"]).items():
            rows[name][f"omnidewarp {lv}"] = (r["ms"], r.get("psnr"), r.get("max"))
    cv2.setNumThreads(args.threads)
    for name, (w, h) in WORKLOADS.items():
        pos = np.fromfile(os.path.join(tmp, f"{name}_map.f32"), np.float32).reshape(h, w, 2)
        oracle = np.fromfile(os.path.join(tmp, f"{name}_oracle.raw"), np.uint8).reshape(h, w, 3)
        mx = np.where(np.isnan(pos[..., 0]), -10, pos[..., 0]).astype(np.float32)
        my = np.where(np.isnan(pos[..., 1]), -10, pos[..., 1]).astype(np.float32)
        inside = ~np.isnan(pos[..., 0])
        fx, fy = cv2.convertMaps(mx, my, cv2.CV_16SC2)
        out = np.empty((h, w, 3), np.uint8)

        def quality(img):
            return psnr(img[inside], oracle[inside])

        if name == "W3":
            rows[name]["cv2 fixed-point (map converted per frame)"] = (median_ms(
                lambda: cv2.remap(src, *cv2.convertMaps(mx, my, cv2.CV_16SC2),
                                  cv2.INTER_LINEAR, dst=out), args.runs), *quality(out))
        else:
            rows[name]["cv2 float maps"] = (median_ms(
                lambda: cv2.remap(src, mx, my, cv2.INTER_LINEAR, dst=out), args.runs),
                *quality(out))
            rows[name]["cv2 fixed-point maps"] = (median_ms(
                lambda: cv2.remap(src, fx, fy, cv2.INTER_LINEAR, dst=out), args.runs),
                *quality(out))
        copy_src = np.ones_like(out)
        rows[name]["memcpy of the output"] = (median_ms(lambda: np.copyto(out, copy_src),
                                                        args.runs), None, None)
    fisheye = (f"v360=input=fisheye:ih_fov={FOV}:iv_fov={FOV}:ih_flip=1:rorder=pyr:pitch=90:"
               "interp=linear")
    frame = os.path.join(tmp, "frame.raw")
    rows["W1"]["ffmpeg v360"] = (ffmpeg_ms(args, frame, fisheye + ":output=equirect:w=4096:h=2048",
                                           args.runs), None, None)
    v_fov = math.degrees(2 * math.atan(math.tan(math.radians(45)) * 1080 / 1920))
    rows["W2"]["ffmpeg v360"] = (ffmpeg_ms(
        args, frame, fisheye + f":output=flat:h_fov=90:v_fov={v_fov:.4f}:w=1920:h=1080",
        args.runs), None, None)

    ours_key = f"omnidewarp {level}"
    print(f"cores {os.cpu_count()}, threads {args.threads}, runs {args.runs}, "
          f"OpenCV {cv2.__version__}, load average {os.getloadavg()[0]:.1f}")
    print("| workload | implementation | ms/frame | Mpx/s | ours ÷ it | PSNR vs oracle | max |Δ| |")
    print("|---|---|---|---|---|---|---|")
    for name, (w, h) in WORKLOADS.items():
        mine = rows[name][ours_key][0]
        for peer, (ms, db, mx_err) in rows[name].items():
            ratio = "memcpy is " + f"{ms / mine * 100:.1f} % of ours" if peer.startswith(
                "memcpy") else f"{mine / ms:.2f}"
            q = "" if db is None else f"{db:.1f} dB"
            m = "" if mx_err is None else f"{mx_err:.0f}"
            print(f"| {name} | {peer} | {ms:.1f} | {w * h / ms / 1e3:.0f} | {ratio} | {q} | {m} |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    peers = [p for p in dict.fromkeys(k for r in rows.values() for k in r)]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(peers)
    for k, peer in enumerate(peers):
        xs = [i + k * width for i, name in enumerate(WORKLOADS) if peer in rows[name]]
        ys = [rows[name][peer][0] for name in WORKLOADS if peer in rows[name]]
        ax.bar(xs, ys, width, label=peer)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(WORKLOADS))], list(WORKLOADS))
    ax.set_ylabel("ms per frame (lower is better)")
    ax.set_title(f"2880² RGB8 ring frame, bilinear, {args.threads} threads")
    ax.legend(fontsize=7)
    os.makedirs(os.path.dirname(args.chart), exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.chart, dpi=90)
    print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
