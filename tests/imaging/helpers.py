"""Synthetic scenes for the imaging tests, with what a perfect engine would answer.

``disc_photo`` comes with its true mask and ``cutout`` is already cut out, so the quality tests
can score the engine; plain test images come from tests/factories.py.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

__all__ = ["BG", "RED", "cutout", "disc_photo", "iou"]

BG = (205, 210, 220)
RED = (200, 30, 30)


def disc_photo(
    size: tuple[int, int] = (160, 120),
    centre: tuple[int, int] | None = None,
    radius: int | None = None,
    colour: tuple[int, int, int] = RED,
    background: tuple[int, int, int] = BG,
) -> tuple[Image.Image, np.ndarray]:
    """An RGB photo of one anti-aliased disc, and its true mask."""
    w, h = size
    centre = centre or (w // 2, h // 2)
    radius = radius or min(w, h) // 4
    big = np.zeros((h * 4, w * 4), np.uint8)
    cv2.circle(big, (centre[0] * 4, centre[1] * 4), radius * 4, 255, -1)
    alpha = (
        cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    )
    arr = np.array(colour, np.float32) * alpha + np.array(background, np.float32) * (1 - alpha)
    rng = np.random.default_rng(1)
    arr = np.clip(arr + rng.normal(0, 2, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB"), alpha[..., 0] >= 0.5


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def cutout(size: tuple[int, int] = (200, 100), box=(50, 25, 150, 75), colour=RED) -> Image.Image:
    """An RGBA cut-out: an opaque rectangle on full transparency."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), (*colour, 255)), box[:2])
    return img
