"""Quality on real photographs: python benchmarks/engine_photos.py [--model-dir DIR]

Built like the matting field's Composition-1k: real subjects with a known alpha are composited
onto real background photographs and onto studio backdrops, so the ground truth of every test
image is exact by construction. Printed per background kind, for the built-in engine and for
each fetched model: mean IoU and boundary F (automatic mode), and NoC@90 in point mode (clicks
from the standard simulator until IoU >= 0.90; MAX_CLICKS when never reached).

Subjects: the example project's sample photos (scikit-image's astronaut and coffee;
public domain / CC0). Their mattes are cut once with the img.ly ISNet *fp16* model
(``isnet-imgly-medium``), thresholded at 0.5, cleaned to the largest object, and saved under
benchmarks/.cache/photos/ for checking by eye (this author looked at every one; see
docs/engine.md). That matte comes from a sibling of the quint8 model measured here: the model's
figures are an upper bound of agreement with its own family, the built-in engine's are not.
Backgrounds: the rocket launch photo (a real outdoor scene with towers), and the CC0 brick, grass
and gravel textures tinted to natural colours (real photographs); plain and gradient studio
backdrops. Nothing here is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from _common import DATA, boundary_f, iou, next_click
from PIL import Image

from wagtail_bgcut.imaging import get_segmenter, remove_background, segment_points
from wagtail_bgcut.model_files import CATALOGUE, default_model_dir

ROOT = Path(__file__).resolve().parent
SAMPLES = ROOT.parent / "example_project" / "sample_images"
CACHE = ROOT / ".cache" / "photos"
# chelsea was cut too but dropped: its matte keeps a patch of wall by the right ear.
SUBJECTS = ("astronaut", "coffee")
SIZE = (640, 480)
MAX_CLICKS = 10


def _spec_segmenter(name: str, model_dir: Path):
    spec = CATALOGUE[name]
    path = model_dir / spec.filename
    if not path.is_file():
        return None
    return get_segmenter(
        path, size=spec.input_size, mean=spec.mean, std=spec.std, scale_by_max=spec.scale_by_max
    )


def subject(name: str, matte_model) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, alpha 0/1) of a sample photo's subject, the matte cached on disk for inspection."""
    rgb = np.asarray(Image.open(SAMPLES / f"{name}.jpg").convert("RGB"))
    matte_file = CACHE / f"{name}-matte.png"
    if not matte_file.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        soft = np.asarray(matte_model.mask(Image.fromarray(rgb)))
        hard = (soft >= 128).astype(np.uint8)
        count, comp, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 1
        Image.fromarray(((comp == keep) * 255).astype(np.uint8)).save(matte_file)
        cut = np.dstack([rgb, (comp == keep).astype(np.uint8) * 255])
        Image.fromarray(cut, "RGBA").save(CACHE / f"{name}-cut.png")
    return rgb, np.asarray(Image.open(matte_file)) >= 128


def _tinted(texture: str, dark, light) -> np.ndarray:
    grey = np.asarray(Image.open(DATA / f"{texture}.jpg").convert("L").resize(SIZE)) / 255.0
    dark, light = np.array(dark, float), np.array(light, float)
    return (dark + grey[..., None] * (light - dark)).astype(np.uint8)


def backgrounds() -> dict[str, dict[str, np.ndarray]]:
    w, h = SIZE
    rocket = np.asarray(Image.open(SAMPLES / "rocket.jpg").convert("RGB").resize(SIZE))
    ramp = np.linspace(0, 1, h)[:, None, None]
    gradient = np.array([245, 245, 248]) * (1 - ramp) + np.array([170, 175, 185]) * ramp
    return {
        "real scene": {
            "rocket": rocket,
            "brick": _tinted("brick", (70, 30, 25), (200, 120, 90)),
            "grass": _tinted("grass", (20, 60, 15), (150, 200, 90)),
            "gravel": _tinted("gravel", (60, 55, 50), (200, 190, 175)),
        },
        "studio": {
            "plain": np.full((h, w, 3), (232, 232, 232), np.uint8),
            "gradient": np.broadcast_to(gradient, (h, w, 3)).astype(np.uint8),
        },
    }


def composite(
    rgb: np.ndarray, alpha: np.ndarray, back: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Subject scaled to 80% of the canvas height, bottom-centred (it may touch the bottom edge)."""
    w, h = SIZE
    ys, xs = np.nonzero(alpha)
    crop = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    sub, sub_a = rgb[crop], alpha[crop].astype(np.uint8)
    scale = min(0.8 * h / sub.shape[0], 0.8 * w / sub.shape[1])
    size = (max(1, round(sub.shape[1] * scale)), max(1, round(sub.shape[0] * scale)))
    sub = cv2.resize(sub, size, interpolation=cv2.INTER_AREA)
    sub_a = cv2.resize(sub_a * 255, size, interpolation=cv2.INTER_AREA).astype(float) / 255
    touches_bottom = ys.max() >= alpha.shape[0] - 3
    y0 = h - size[1] if touches_bottom else (h - size[1]) // 2 + h // 20
    x0 = (w - size[0]) // 2
    image = back.astype(float).copy()
    region = image[y0 : y0 + size[1], x0 : x0 + size[0]]
    region[:] = sub * sub_a[..., None] + region * (1 - sub_a[..., None])
    truth = np.zeros((h, w), bool)
    truth[y0 : y0 + size[1], x0 : x0 + size[0]] = sub_a >= 0.5
    return image.astype(np.uint8), truth


def noc(image: Image.Image, truth: np.ndarray, segmenter) -> int:
    pred = np.zeros_like(truth)
    green: list = []
    red: list = []
    for n in range(1, MAX_CLICKS + 1):
        click = next_click(pred, truth)
        if click is None:
            return n - 1
        (green if click[1] else red).append(click[0])
        pred = np.asarray(segment_points(image, green, red, segmenter=segmenter)) >= 128
        if iou(pred, truth) >= 0.90:
            return n
    return MAX_CLICKS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    parser.add_argument("--no-clicks", action="store_true", help="skip NoC@90 (the slow part)")
    args = parser.parse_args()
    matte_model = _spec_segmenter("isnet-imgly-medium", args.model_dir)
    if matte_model is None and not all((CACHE / f"{s}-matte.png").is_file() for s in SUBJECTS):
        raise SystemExit("needs isnet-imgly-medium in --model-dir to cut the subjects' mattes")
    engines = {"built-in": None}
    small = _spec_segmenter("isnet-imgly-small", args.model_dir)
    if small is not None:
        engines["isnet-imgly-small"] = small
    subjects = {name: subject(name, matte_model) for name in SUBJECTS}
    rows = []
    for kind, backs in backgrounds().items():
        for back_name, back in backs.items():
            for name, (rgb, alpha) in subjects.items():
                image, truth = composite(rgb, alpha, back)
                if name == "astronaut":
                    Image.fromarray(image).save(CACHE / f"composite-{back_name}.png")
                pil = Image.fromarray(image)
                for engine, segmenter in engines.items():
                    started = time.perf_counter()
                    cut = remove_background(pil, segmenter=segmenter)
                    seconds = time.perf_counter() - started
                    pred = np.asarray(cut.getchannel("A")) >= 128
                    clicks = None if args.no_clicks else noc(pil, truth, segmenter)
                    rows.append(
                        (kind, engine, iou(pred, truth), boundary_f(pred, truth), clicks, seconds)
                    )
                    print(
                        f"  {kind:<10} {back_name:<8} {name:<9} {engine:<18} "
                        f"IoU {rows[-1][2]:.3f}  F {rows[-1][3]:.3f}  clicks {clicks}  "
                        f"{seconds:.1f}s",
                        flush=True,
                    )
    print()
    print(
        f"{'background':<11} {'engine':<18} {'mean IoU':>8} {'bound. F':>8} {'NoC@90':>7} "
        f"{'s/image':>7}"
    )
    for kind in ("real scene", "studio"):
        for engine in engines:
            sel = [r for r in rows if r[0] == kind and r[1] == engine]
            clicks = [r[4] for r in sel if r[4] is not None]
            print(
                f"{kind:<11} {engine:<18} {statistics.mean(r[2] for r in sel):8.3f} "
                f"{statistics.mean(r[3] for r in sel):8.3f} "
                f"{(statistics.mean(clicks) if clicks else float('nan')):7.2f} "
                f"{statistics.mean(r[5] for r in sel):7.2f}"
            )
    if "isnet-imgly-small" in engines:
        for kind in ("real scene", "studio"):
            ratio = statistics.mean(
                r[2] for r in rows if r[0] == kind and r[1] != "built-in"
            ) / statistics.mean(r[2] for r in rows if r[0] == kind and r[1] == "built-in")
            print(f"model / built-in mean IoU on {kind}: {ratio:.3f}x")


if __name__ == "__main__":
    main()
