"""Quality of the local engine on a labelled synthetic set: python benchmarks/engine_quality.py

Automatic mode: mean IoU and boundary F-measure per background kind (targets: IoU >= 0.90 on plain
and gradient, >= 0.75 on textured). Point mode: NoC@90, the mean number of simulated clicks needed
to reach IoU 0.90 (target <= 5); the simulator clicks the centre of the largest error region, green
for missed subject, red for false positives, and counts MAX_CLICKS when 0.90 is never reached.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import HARD, KINDS, boundary_f, dataset, iou, next_click
from PIL import Image

from wagtail_bgcut.imaging import remove_background, segment_points

MAX_CLICKS = 20
TARGET_IOU = 0.90


def clicks_to_target(sample) -> tuple[int, float, bool]:
    """(clicks used, IoU after the first click, whether the target was reached)."""
    image = Image.fromarray(sample.image)
    pred = np.zeros_like(sample.truth)
    green: list[tuple[float, float]] = []
    red: list[tuple[float, float]] = []
    previous = None
    first = 0.0
    for n in range(1, MAX_CLICKS + 1):
        click = next_click(pred, sample.truth)
        if click is None:
            return n - 1, first or 1.0, True
        (green if click[1] else red).append(click[0])
        previous = segment_points(image, green, red, previous_mask=previous)
        pred = np.asarray(previous) >= 128
        score = iou(pred, sample.truth)
        if n == 1:
            first = score
        if score >= TARGET_IOU:
            return n, first, True
    return MAX_CLICKS, first, False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=24, help="images per background kind")
    parser.add_argument("--quality", default="high", choices=("high", "medium", "low"))
    parser.add_argument("--no-clicks", action="store_true", help="skip the point-mode benchmark")
    parser.add_argument("--verbose", action="store_true", help="one line per image")
    parser.add_argument("--no-hard", action="store_true", help="skip the extra 'hard' set")
    args = parser.parse_args()

    samples = dataset(args.per_kind, hard=not args.no_hard)
    print(f"{len(samples)} images of {samples[0].image.shape[1]}x{samples[0].image.shape[0]}")
    rows: dict[str, dict[str, list[float]]] = {k: {} for k in (*KINDS, HARD)}
    started = time.perf_counter()
    for sample in samples:
        t0 = time.perf_counter()
        cut = remove_background(Image.fromarray(sample.image), quality=args.quality)
        seconds = time.perf_counter() - t0
        pred = np.asarray(cut)[..., 3] >= 128
        stats = rows[sample.kind]
        stats.setdefault("iou", []).append(iou(pred, sample.truth))
        stats.setdefault("bf", []).append(boundary_f(pred, sample.truth))
        stats.setdefault("sec", []).append(seconds)
        if not args.no_clicks:
            clicks, first, reached = clicks_to_target(sample)
            stats.setdefault("noc", []).append(clicks)
            stats.setdefault("reached", []).append(reached)
            stats.setdefault("first", []).append(first)
        if args.verbose:
            extra = f" clicks={stats['noc'][-1]:2d}" if not args.no_clicks else ""
            print(f"  {sample.name:24s} iou={stats['iou'][-1]:.3f} bf={stats['bf'][-1]:.3f}{extra}")

    print()
    print(f"Automatic mode (quality={args.quality})")
    print(
        f"{'background':<11} {'n':>3} {'mean IoU':>9} {'min IoU':>8} {'BF':>6} {'s/img':>6}  target"
    )
    targets = {"plain": 0.90, "gradient": 0.90, "textured": 0.75}
    combined: dict[str, list[float]] = {}
    for kind in KINDS:
        for key, values in rows[kind].items():
            combined.setdefault(key, []).extend(values)
    table = [(k, rows[k]) for k in KINDS] + [("all three", combined)]
    if rows[HARD]:
        table.append((HARD, rows[HARD]))
    for kind, s in table:
        mean_iou = statistics.fmean(s["iou"])
        target = ""
        if kind in targets:
            verdict = "ok" if mean_iou >= targets[kind] else "MISSED"
            target = f">= {targets[kind]:.2f} {verdict}"
        elif kind == HARD:
            target = "(no target)"
        print(
            f"{kind:<11} {len(s['iou']):>3} {mean_iou:>9.3f} {min(s['iou']):>8.3f} "
            f"{statistics.fmean(s['bf']):>6.3f} {statistics.fmean(s['sec']):>6.2f}  {target}"
        )
    if not args.no_clicks:
        print()
        print(f"Point mode: clicks to IoU {TARGET_IOU:.2f} (capped at {MAX_CLICKS})")
        print(f"{'background':<11} {'n':>3} {'NoC@90':>7} {'IoU@1':>6} {'failed':>7}  target")
        for kind, s in table:
            noc = statistics.fmean(s["noc"])
            failed = sum(1 for ok in s["reached"] if not ok)
            verdict = "<= 5 " + ("ok" if noc <= 5 else "MISSED")
            if kind == HARD:
                verdict = "(no target)"
            print(
                f"{kind:<11} {len(s['noc']):>3} {noc:>7.2f} {statistics.fmean(s['first']):>6.3f} "
                f"{failed:>7}  {verdict}"
            )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
