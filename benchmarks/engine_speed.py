"""Speed and memory of the local engine on a 12 MP photo (run: python benchmarks/engine_speed.py).

Each configuration runs in a fresh child process so its peak RSS (VmHWM) is its own:
decode the JPEG, cut the subject out (RGBA, full size), five times; the median is reported.
Targets: <= 2 s and <= 600 MB on 2 cores. For comparison the same segmenter is run once with
its working copy at the full 12 MP (no reduced resolution), which is slow and memory hungry.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from _common import DATA

WIDTH, HEIGHT = 4000, 3000


def synthetic_photo() -> tuple[bytes, np.ndarray]:
    """A 12 MP JPEG: a shaded, textured subject with a soft shadow on a studio gradient."""
    rng = np.random.default_rng(12)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    t = np.clip(np.hypot(xx - WIDTH * 0.45, yy - HEIGHT * 0.35) / (WIDTH * 0.8), 0, 1)[..., None]
    image = np.array([232, 228, 220], np.float32) * (1 - t) + np.array([150, 150, 160]) * t
    subject = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(subject, (2000, 1650), (900, 1100), 10, 0, 360, 255, -1)
    cv2.circle(subject, (2000, 520), 420, 255, -1)
    shadow = cv2.GaussianBlur(np.roll(subject, (60, 90), (0, 1)), (0, 0), 40) / 255.0
    image *= (1 - 0.35 * shadow)[..., None]
    alpha = cv2.GaussianBlur(subject, (0, 0), 1.5).astype(np.float32)[..., None] / 255.0
    grain = cv2.imread(str(DATA / "gravel.jpg"), cv2.IMREAD_GRAYSCALE)
    grain = cv2.resize(np.tile(grain, (3, 4)), (WIDTH, HEIGHT)).astype(np.float32) / 255.0
    fill = np.array([150, 60, 40], np.float32) * (0.6 + 0.6 * grain[..., None])
    image = fill * alpha + image * (1 - alpha) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes(), subject >= 128


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    VmHWM from /proc belongs to this program only; ``ru_maxrss`` (the fallback) also counts the
    parent's memory at fork time on Linux, so it would overstate a child's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, mode: str, runs: int) -> None:
    """Measure in this (fresh) process and print one JSON line."""
    from PIL import Image

    from wagtail_bgcut.imaging import GrabCutSegmenter, open_image, remove_background

    data = Path(path).read_bytes()
    segmenter = GrabCutSegmenter(working_pixels=WIDTH * HEIGHT) if mode == "full" else None
    base_rss = peak_rss_mb()
    decode, total, cpu = [], [], []
    alpha = None
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        image = open_image(data)
        t1 = time.perf_counter()
        cut = remove_background(image, segmenter=segmenter)
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        assert cut.size == (WIDTH, HEIGHT) and cut.mode == "RGBA"
        decode.append(t1 - t0)
        total.append(t2 - t0)
        alpha = np.asarray(cut.getchannel("A"))
        del image, cut
    Image.fromarray(alpha).save(path + f".{mode}.png")
    peak = peak_rss_mb()
    result = {"decode": decode, "total": total, "cpu": cpu, "peak_mb": peak, "base_mb": base_rss}
    print(json.dumps(result))


def run_child(path: str, mode: str, runs: int) -> dict:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, __file__, "--child", path, "--mode", mode, "--runs", str(runs)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def iou_of(path: str, truth: np.ndarray) -> float:
    pred = cv2.imread(path, cv2.IMREAD_GRAYSCALE) >= 128
    return float((pred & truth).sum() / max(1, (pred | truth).sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="engine", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-full", action="store_true", help="skip the full-resolution run")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode, args.runs)
        return

    data, truth = synthetic_photo()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "photo.jpg")
        Path(path).write_bytes(data)
        print(f"input: {WIDTH}x{HEIGHT} JPEG, {len(data) / 1e6:.1f} MB, {os.cpu_count()} CPUs")
        engine = run_child(path, "engine", args.runs)
        rows = [("engine (reduced working copy)", engine, iou_of(path + ".engine.png", truth))]
        if not args.skip_full:
            full = run_child(path, "full", 1)
            rows.append(("same segmenter at full 12 MP", full, iou_of(path + ".full.png", truth)))

    print()
    print(
        f"{'configuration':<31} {'runs':>4} {'median s':>9} {'CPU s':>6} {'decode s':>9} "
        f"{'peak RSS':>9} {'IoU':>6}"
    )
    for name, r, score in rows:
        print(
            f"{name:<31} {len(r['total']):>4} {statistics.median(r['total']):>9.2f} "
            f"{statistics.median(r['cpu']):>6.2f} {statistics.median(r['decode']):>9.2f} "
            f"{r['peak_mb']:>6.0f} MB {score:>6.3f}"
        )
    print(f"(interpreter + libraries before the first run: {engine['base_mb']:.0f} MB)")
    print("engine runs (s): " + ", ".join(f"{t:.2f}" for t in engine["total"]))
    if len(rows) == 2:
        ratio = statistics.median(rows[1][1]["total"]) / statistics.median(engine["total"])
        print(f"full-resolution run is {ratio:.1f}x slower (a single run: it is very slow)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average during the run: {load:.2f} (other work on the machine inflates wall time)")
    median = statistics.median(engine["total"])
    print(
        f"targets: <= 2 s ({'ok' if median <= 2 else 'MISSED'}), "
        f"<= 600 MB ({'ok' if engine['peak_mb'] <= 600 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
