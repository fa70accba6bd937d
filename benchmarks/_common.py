"""Shared pieces of the engine benchmarks: a labelled synthetic image set and the metrics.

Every image is generated from a fixed seed, so two runs measure the same thing. Subjects are drawn
at 4x and reduced, which gives anti-aliased edges like a real photo; the ground truth is the
subject's coverage (alpha >= 0.5).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
if str(ROOT.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT.parent))

TEXTURES = ("brick", "grass", "gravel")
KINDS = ("plain", "gradient", "textured")
# Reported separately, without a target: subjects cut by the bottom edge (portraits, products),
# low contrast with the background, and a soft cast shadow, on any of the three backgrounds.
HARD = "hard"
SHAPES = ("disc", "ellipse", "box", "star", "blob", "ring", "figure", "bottle")
SIZE = (512, 384)  # width, height: the working copy is the image itself, so numbers are exact


@dataclass
class Sample:
    name: str
    kind: str
    shape: str
    image: np.ndarray  # HxWx3 uint8 RGB
    truth: np.ndarray  # HxW bool


def _texture(name: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    grey = cv2.imread(str(DATA / f"{name}.jpg"), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise SystemExit(f"missing texture {DATA / name}.jpg")
    w, h = size
    scale = rng.uniform(0.8, 1.6)
    grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    reps = (h // grey.shape[0] + 2, w // grey.shape[1] + 2)
    tiled = np.tile(grey, reps)
    y0, x0 = rng.integers(0, grey.shape[0]), rng.integers(0, grey.shape[1])
    return tiled[y0 : y0 + h, x0 : x0 + w].astype(np.float32) / 255.0


def _tint(grey: np.ndarray, dark: np.ndarray, light: np.ndarray) -> np.ndarray:
    return dark[None, None, :] * (1 - grey[..., None]) + light[None, None, :] * grey[..., None]


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def _background(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = size
    if kind == "plain":
        colour = _random_colour(rng)
        bg = np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    elif kind == "gradient":
        a, b = _random_colour(rng), _random_colour(rng)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        if rng.random() < 0.5:
            angle = rng.uniform(0, np.pi)
            t = (xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle) + 0.5
        else:
            cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
            t = np.hypot(xx - cx, yy - cy) / np.hypot(w, h) * 1.5
        t = np.clip(t, 0, 1)[..., None]
        bg = a * (1 - t) + b * t
    else:
        name = TEXTURES[rng.integers(len(TEXTURES))]
        dark = rng.uniform(0, 120, 3).astype(np.float32)
        light = np.clip(dark + rng.uniform(60, 160, 3), 0, 255).astype(np.float32)
        bg = _tint(_texture(name, size, rng), dark, light)
    return bg


def _shape_mask(
    shape: str, size: tuple[int, int], rng: np.random.Generator, *, cut_by_bottom: bool = False
) -> np.ndarray:
    """Float coverage (0..1) of a subject, drawn at 4x for anti-aliased edges."""
    w, h = size
    s = 4
    canvas = np.zeros((h * s, w * s), np.uint8)
    cx = rng.uniform(0.38, 0.62) * w * s
    cy = rng.uniform(0.38, 0.62) * h * s
    r = rng.uniform(0.22, 0.34) * min(w, h) * s
    if cut_by_bottom:  # a bust or a product that the frame cuts at the bottom
        r = rng.uniform(0.30, 0.40) * min(w, h) * s
        cy = h * s - r * rng.uniform(0.3, 0.6)
    centre = (int(cx), int(cy))
    if shape == "disc":
        cv2.circle(canvas, centre, int(r), 255, -1)
    elif shape == "ellipse":
        axes = (int(r * rng.uniform(1.0, 1.4)), int(r * rng.uniform(0.45, 0.8)))
        cv2.ellipse(canvas, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1)
    elif shape == "box":
        box = ((cx, cy), (r * rng.uniform(1.2, 1.8), r * rng.uniform(0.8, 1.4)), rng.uniform(0, 90))
        cv2.fillPoly(canvas, [cv2.boxPoints(box).astype(np.int32)], 255)
    elif shape == "star":
        n = int(rng.integers(5, 8))
        angles = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rng.uniform(0, np.pi)
        radii = np.where(np.arange(2 * n) % 2 == 0, r * 1.15, r * rng.uniform(0.45, 0.6))
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [pts.astype(np.int32)], 255)
    elif shape == "blob":
        angles = np.linspace(0, 2 * np.pi, 120, endpoint=False)
        radius = np.ones_like(angles)
        for k in range(2, 6):
            radius += rng.uniform(-0.25, 0.25) / k * np.cos(k * angles + rng.uniform(0, 6.3))
        pts = np.stack([cx + r * radius * np.cos(angles), cy + r * radius * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [pts.astype(np.int32)], 255)
    elif shape == "ring":
        cv2.circle(canvas, centre, int(r), 255, -1)
        cv2.circle(canvas, centre, int(r * rng.uniform(0.4, 0.55)), 0, -1)
    elif shape == "figure":
        head = int(r * 0.38)
        cv2.circle(canvas, (int(cx), int(cy - r * 0.75)), head, 255, -1)
        body = ((cx, cy + r * 0.25), (r * 1.0, r * 1.5), 0.0)
        cv2.fillPoly(canvas, [cv2.boxPoints(body).astype(np.int32)], 255)
        arm = int(r * 0.12)
        cv2.line(
            canvas,
            (int(cx - r * 0.5), int(cy - r * 0.3)),
            (int(cx - r), int(cy + r * 0.4)),
            255,
            arm,
        )
        cv2.line(
            canvas,
            (int(cx + r * 0.5), int(cy - r * 0.3)),
            (int(cx + r), int(cy + r * 0.4)),
            255,
            arm,
        )
    else:  # bottle
        body_w, body_h = r * 0.9, r * 1.3
        cv2.rectangle(
            canvas,
            (int(cx - body_w / 2), int(cy - body_h * 0.2)),
            (int(cx + body_w / 2), int(cy + body_h * 0.8)),
            255,
            -1,
        )
        neck = r * 0.3
        cv2.rectangle(
            canvas,
            (int(cx - neck / 2), int(cy - body_h * 0.75)),
            (int(cx + neck / 2), int(cy - body_h * 0.2)),
            255,
            -1,
        )
        cv2.ellipse(
            canvas,
            (int(cx), int(cy - body_h * 0.2)),
            (int(body_w / 2), int(r * 0.3)),
            0,
            180,
            360,
            255,
            -1,
        )
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _subject_fill(
    size: tuple[int, int], bg: np.ndarray, rng: np.random.Generator, contrast=(90.0, 1e9)
) -> np.ndarray:
    """Subject colours (solid, two-tone, shaded or textured), ``contrast`` from the background."""
    w, h = size
    mean_bg = bg.reshape(-1, 3).mean(0)
    for _ in range(200):
        colour = _random_colour(rng)
        if contrast[0] < np.linalg.norm(colour - mean_bg) < contrast[1]:
            break
    style = rng.integers(4)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if style == 0:
        fill = np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    elif style == 1:  # shaded like a lit object
        shade = 0.75 + 0.35 * (1 - yy / h) * (1 - 0.5 * xx / w)
        fill = np.clip(colour * shade[..., None], 0, 255)
    elif style == 2:  # two-tone stripes (a patterned shirt)
        other = np.clip(colour * 0.55 + 20, 0, 255)
        stripes = ((xx + yy) // rng.integers(10, 24) % 2)[..., None]
        fill = colour * (1 - stripes) + other * stripes
    else:  # textured subject
        grey = _texture(TEXTURES[rng.integers(len(TEXTURES))], size, rng)
        fill = _tint(grey, colour * 0.6, np.clip(colour * 1.2 + 20, 0, 255))
    return fill.astype(np.float32)


def make_sample(index: int, kind: str) -> Sample:
    rng = np.random.default_rng(1000 + index * 7 + (*KINDS, HARD).index(kind))
    shape = SHAPES[index % len(SHAPES)]
    if kind == HARD:
        bg = _background(KINDS[index % 3], SIZE, rng)
        alpha = _shape_mask(shape, SIZE, rng, cut_by_bottom=index % 2 == 0)
        fill = _subject_fill(SIZE, bg, rng, contrast=(40.0, 80.0))
        # A soft shadow cast down and to the right darkens the background next to the subject.
        moved = cv2.warpAffine(alpha, np.float32([[1, 0, 10], [0, 1, 8]]), SIZE)
        shadow = cv2.GaussianBlur(moved, (0, 0), 6)
        bg = bg * (1 - 0.35 * shadow[..., None])
    else:
        bg = _background(kind, SIZE, rng)
        alpha = _shape_mask(shape, SIZE, rng)
        fill = _subject_fill(SIZE, bg, rng)
    img = fill * alpha[..., None] + bg * (1 - alpha[..., None])
    img += rng.normal(0, 2.0, img.shape)  # sensor noise
    img = np.clip(img, 0, 255).astype(np.uint8)
    # A trip through JPEG, as photos arrive.
    ok, enc = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    img = cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return Sample(f"{kind}-{index:02d}-{shape}", kind, shape, img, alpha >= 0.5)


def dataset(per_kind: int = 24, *, hard: bool = True) -> list[Sample]:
    kinds = (*KINDS, HARD) if hard else KINDS
    return [make_sample(i, kind) for kind in kinds for i in range(per_kind)]


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 0.008) -> float:
    """DAVIS-style boundary F-measure: boundary pixels matched within 0.8% of the diagonal."""
    d = max(1.0, tolerance * float(np.hypot(*truth.shape)))
    pb, tb = _boundary(pred), _boundary(truth)
    if not pb.any() and not tb.any():
        return 1.0
    if not pb.any() or not tb.any():
        return 0.0
    dist_to_t = cv2.distanceTransform((~tb).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_p = cv2.distanceTransform((~pb).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((dist_to_t[pb] <= d).mean())
    recall = float((dist_to_p[tb] <= d).mean())
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def next_click(pred: np.ndarray, truth: np.ndarray) -> tuple[tuple[float, float], bool] | None:
    """Standard click simulator: the point deepest inside the largest error region.

    Returns ((x, y), is_green): green when that region is missed subject, red when it is a
    false positive. None when there is no error.
    """
    best = None
    for wrong, green in ((truth & ~pred, True), (pred & ~truth, False)):
        count, comp, stats, _ = cv2.connectedComponentsWithStats(wrong.astype(np.uint8), 8)
        if count <= 1:
            continue
        k = int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1
        area = int(stats[k, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            best = (area, comp == k, green)
    if best is None:
        return None
    region = np.pad(best[1], 1).astype(np.uint8)
    dist = cv2.distanceTransform(region, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return (float(x), float(y)), best[2]
