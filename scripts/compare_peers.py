#!/usr/bin/env python3
"""Times peers on the same job as `cargo bench --bench cpu` (equirect 4096x1308 from a
2880x2880 RGBA ring frame), on this machine, side by side:

- OpenCV cv2.remap with float32 maps and with convertMaps fixed-point maps (maps exported by
  `omnidewarp export-map --format npy`), single- and multi-threaded;
- FFmpeg's remap filter with the same maps as 16-bit PGM (nearest pixel), and FFmpeg's v360
  fisheye -> equirect (a different geometry but the same kind of gather);
- numpy memcpy of the output size (the memory-bandwidth floor).

Needs python3 with numpy and opencv-python(-headless), the ffmpeg CLI, and a release build
(`cargo build --release`). Usage: scripts/compare_peers.py [--frames N]
"""
import argparse
import os
import subprocess
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "omnidewarp")
W, H = 4096, 1308


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def report(name, seconds):
    print(f"| {name} | {seconds * 1e3:.1f} ms | {W * H / seconds / 1e6:.0f} Mpx/s |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="omnidewarp-peers-")
    calib = os.path.join(tmp, "ring.toml")
    with open(calib, "w") as f:
        f.write(
            'format = "omnidewarp-calibration"\nversion = 1\nimage_size = [2880, 2880]\n'
            '[model]\ntype = "ring"\ncenter = [1439.5, 1439.5]\nradius_inner = 492.5\n'
            'radius_outer = 1411.2\nelevation_inner_deg = -55.0\nelevation_outer_deg = 60.0\n'
        )
    frame = os.path.join(tmp, "frame.png")
    # Any picture serves as the scene: only the timing matters here.
    pano = os.path.join(ROOT, "assets", "readme", "sample_panorama.jpg")
    run(BIN, "render-mirror", pano, "--calib", calib, "-o", frame)
    prefix = os.path.join(tmp, "map")
    flags = ["--calib", calib, "--band", "--size", f"{W}x{H}", "-o", prefix]
    run(BIN, "export-map", *flags, "--format", "npy")
    run(BIN, "export-map", *flags, "--format", "pgm16")
    src = cv2.imread(frame, cv2.IMREAD_UNCHANGED)
    src = cv2.cvtColor(src, cv2.COLOR_BGR2BGRA) if src.shape[2] == 3 else src
    mx, my = np.load(prefix + "_x.npy"), np.load(prefix + "_y.npy")
    fx, fy = cv2.convertMaps(mx, my, cv2.CV_16SC2)
    out = np.empty((H, W, 4), np.uint8)
    print(f"| peer (cores: {os.cpu_count()}) | time per frame | throughput |")
    print("|---|---|---|")
    for threads in (1, os.cpu_count()):
        cv2.setNumThreads(threads)
        report(f"cv2.remap float maps, bilinear, {threads} thread(s)",
               best_of(lambda: cv2.remap(src, mx, my, cv2.INTER_LINEAR, dst=out), args.frames))
        report(f"cv2.remap fixed-point maps, bilinear, {threads} thread(s)",
               best_of(lambda: cv2.remap(src, fx, fy, cv2.INTER_LINEAR, dst=out), args.frames))
    copy_src = np.ones_like(out)
    report("numpy memcpy of the output", best_of(lambda: np.copyto(out, copy_src), args.frames))
    n = args.frames
    for name, graph, inputs in [
        ("ffmpeg remap filter (nearest), PGM maps", "[0][1][2]remap",
         ["-i", prefix + "_x.pgm", "-i", prefix + "_y.pgm"]),
        ("ffmpeg v360 fisheye->equirect, bilinear", f"v360=input=fisheye:output=e:w={W}:h={H}:interp=linear", []),
    ]:
        t = time.perf_counter()
        run("ffmpeg", "-v", "error", "-loop", "1", "-i", frame, *inputs,
            "-filter_complex", graph, "-frames:v", str(n), "-f", "null", "-")
        elapsed = time.perf_counter() - t
        t = time.perf_counter()
        run("ffmpeg", "-v", "error", "-loop", "1", "-i", frame, "-frames:v", str(n), "-f", "null", "-")
        decode = time.perf_counter() - t
        report(name + " (decode subtracted)", max(elapsed - decode, 1e-9) / n)


if __name__ == "__main__":
    main()
