"""A 12 MP photo through the model path: python benchmarks/engine_model_speed.py [--model-dir DIR]

Times our automatic mode with the fetched isnet-imgly-small model on a 4000x3000 upscale of the
astronaut photo against rembg's own recipe run inline on the same model file in the same process
(LANCZOS resize to 1024, normalise, run, LANCZOS back, put the alpha in; rembg itself is not a
dependency and is not installed here), and says where our time goes: the model's inference, and
everything else (working copies, guided-filter upsampling, decontamination). Peak RSS is printed
at the end (both paths ran in this one process, so it is the larger of the two).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import _common  # noqa: F401 (puts this checkout first on sys.path)
import numpy as np
from PIL import Image

from wagtail_bgcut.imaging import remove_background
from wagtail_bgcut.model_files import CATALOGUE, default_model_dir
from wagtail_bgcut.model_files.segmenter import load_segmenter

SAMPLE = Path(__file__).resolve().parent.parent / "example_project" / "sample_images"


def rembg_recipe(image: Image.Image, segmenter) -> Image.Image:
    """What rembg's session does for an ISNet model, with the same onnxruntime session."""
    small = image.convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS)
    arr = np.asarray(small).astype(np.float32)
    arr = arr / max(float(arr.max()), 1e-6) - 0.5
    feed = {segmenter.input_name: arr.transpose(2, 0, 1)[None].astype(np.float32)}
    pred = segmenter.session.run(None, feed)[0][0, 0]
    lo, hi = float(pred.min()), float(pred.max())
    mask = Image.fromarray(((pred - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8), "L")
    out = image.convert("RGBA")
    out.putalpha(mask.resize(image.size, Image.Resampling.LANCZOS))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    segmenter = load_segmenter(CATALOGUE["isnet-imgly-small"].name, args.model_dir)
    photo = Image.open(SAMPLE / "astronaut.jpg").convert("RGB").resize((4000, 3000))
    ours, theirs, inference = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        segmenter.small_mask(photo)
        inference.append(time.perf_counter() - started)
        started = time.perf_counter()
        remove_background(photo, segmenter=segmenter)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        rembg_recipe(photo, segmenter)
        theirs.append(time.perf_counter() - started)
    o, t, i = statistics.median(ours), statistics.median(theirs), statistics.median(inference)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"12 MP, median of {args.runs}: ours {o:.2f} s, rembg recipe {t:.2f} s, "
        f"model inference alone {i:.2f} s"
    )
    print(f"ours / rembg recipe: {o / t:.2f}x; our time beyond inference: {(o - i) / o:.0%}")
    print(f"peak RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
