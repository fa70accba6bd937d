"""AI Cut click latency at 12 MP: python benchmarks/engine_clicks.py [--model-dir DIR]

A user places dots one at a time and every click sends the full set (page 04). This times
``segment_points`` for each click on 12 MP upscales of the demo's sample photos: the first click
(which, with a model, runs the model once for the image) and the later clicks (median; target
<= 300 ms with a model), for the fetched ``isnet-imgly-small`` model and for the built-in
segmenter. It also times what the local backend adds to each click outside the engine (the
decontaminated RGBA cut-out and its PNG encoding), so the figure a user waits for is visible too.
The dots are fixed per photo (subject, then a part to remove, in a person's order).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import _common  # noqa: F401 (puts this checkout first on sys.path)
from PIL import Image

from wagtail_bgcut.imaging import apply_mask, segment_points
from wagtail_bgcut.imaging.cutout import clear_point_cache
from wagtail_bgcut.model_files import CATALOGUE, default_model_dir
from wagtail_bgcut.model_files.segmenter import load_segmenter

SAMPLES = Path(__file__).resolve().parent.parent / "example_project" / "sample_images"
SIZE = 12_000_000
# (x, y) as fractions of the photo, green True / red False, in the order a person clicks.
CLICKS = {
    "chelsea": [
        ((0.51, 0.50), True),  # forehead
        ((0.31, 0.20), True),  # left ear
        ((0.71, 0.23), True),  # right ear
        ((0.98, 0.07), False),  # the wall, top right
        ((0.44, 0.83), True),  # chin
        ((0.04, 0.97), False),  # bottom-left corner
    ],
    "rocket": [
        ((0.50, 0.55), True),  # the rocket
        ((0.30, 0.55), False),  # the tower left of it
        ((0.06, 0.50), False),  # the big tower on the left
        ((0.70, 0.45), True),  # the lightning mast on the right
        ((0.50, 0.36), True),  # the rocket's nose
    ],
}


def upscale(name: str) -> Image.Image:
    with Image.open(SAMPLES / f"{name}.jpg") as im:
        rgb = im.convert("RGB")
    scale = (SIZE / (rgb.width * rgb.height)) ** 0.5
    return rgb.resize(
        (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BICUBIC
    )


def run(image: Image.Image, clicks, segmenter, *, backend: bool) -> tuple[list[float], list[float]]:
    """Seconds per click in ``segment_points``, and in the backend's cut-out + PNG after it."""
    engine, extra = [], []
    green: list = []
    red: list = []
    for (fx, fy), is_green in clicks:
        (green if is_green else red).append((fx * image.width, fy * image.height))
        started = time.perf_counter()
        mask = segment_points(image, green, red, segmenter=segmenter)
        engine.append(time.perf_counter() - started)
        if backend:
            started = time.perf_counter()
            apply_mask(image, mask).save(io.BytesIO(), format="PNG")
            extra.append(time.perf_counter() - started)
    return engine, extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    parser.add_argument("--no-builtin", action="store_true", help="skip the built-in segmenter")
    parser.add_argument("--no-backend", action="store_true", help="skip the cut-out + PNG timing")
    parser.add_argument("--photos", nargs="*", default=list(CLICKS))
    args = parser.parse_args()
    engines = {}
    spec = CATALOGUE["isnet-imgly-small"]
    if (args.model_dir / spec.filename).is_file():
        engines[spec.name] = load_segmenter(spec.name, args.model_dir)
    else:
        print(f"({spec.name} is not in {args.model_dir}: only the built-in segmenter)")
    if not args.no_builtin:
        engines["built-in"] = None
    later_all: dict[str, list[float]] = {name: [] for name in engines}
    for photo in args.photos:
        image = upscale(photo)
        for name, segmenter in engines.items():
            clear_point_cache()
            engine, extra = run(image, CLICKS[photo], segmenter, backend=not args.no_backend)
            later_all[name] += engine[1:]
            print(
                f"{photo} {image.width}x{image.height} {name:<18} first {engine[0]:6.2f} s, "
                f"later median {statistics.median(engine[1:]) * 1000:7.0f} ms "
                f"({', '.join(f'{t * 1000:.0f}' for t in engine[1:])})"
                + (
                    f"; backend cut-out + PNG median {statistics.median(extra):.2f} s"
                    if extra
                    else ""
                ),
                flush=True,
            )
    for name, later in later_all.items():
        print(
            f"{name}: later clicks, median of all photos: {statistics.median(later) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
