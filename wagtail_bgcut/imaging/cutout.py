"""The two things users ask of the engine: a cut-out of the whole subject, and a cut from dots."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from .grabcut import WORKING_PIXELS, GrabCutSegmenter, point_mask, working_copy
from .loading import open_image
from .matting import cutout_array, guide_copy, guided_upsample
from .segmenters import Segmenter

__all__ = ["remove_background", "segment_points"]

_POINT_WORKING_PIXELS = 250_000


def _arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    alpha = np.asarray(image.getchannel("A")) if image.mode == "RGBA" else None
    return rgb, alpha


def remove_background(
    image: Image.Image, *, quality: str = "high", segmenter: Segmenter | None = None
) -> Image.Image:
    """Full-size RGBA cut-out of ``image`` (same size as the opened input).

    ``quality`` sets the built-in segmenter's working resolution (high > medium > low); a given
    ``segmenter`` (e.g. an ONNX model) is used as is. Transparency already in the image is kept.
    """
    image = open_image(image)
    rgb, source_alpha = _arrays(image)
    guide = guide_copy(rgb)
    if segmenter is None:
        segmenter = GrabCutSegmenter(quality=quality if quality in WORKING_PIXELS else "high")
    if isinstance(segmenter, GrabCutSegmenter):
        alpha = segmenter.alpha(rgb, source_alpha, guide)  # arrays all the way: no copies
    else:
        mask = segmenter.mask(image).convert("L")
        if mask.size != image.size:
            mask = mask.resize(image.size, Image.Resampling.BILINEAR)
        alpha = np.asarray(mask)
    if source_alpha is not None:
        alpha = np.minimum(alpha, source_alpha)
    return Image.fromarray(cutout_array(rgb, alpha, guide), "RGBA")


def _valid_points(
    points: Sequence[tuple[float, float]], size: tuple[int, int], scale: tuple[float, float]
) -> list[tuple[float, float]]:
    """Dots moved onto the working grid; non-finite ones dropped, outside ones clamped."""
    width, height = size
    out = []
    for point in points:
        x, y = float(point[0]), float(point[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        x = min(max(x, 0.0), width - 1.0)
        y = min(max(y, 0.0), height - 1.0)
        out.append(((x + 0.5) * scale[0] - 0.5, (y + 0.5) * scale[1] - 0.5))
    return out


def segment_points(
    image: Image.Image,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]],
    *,
    previous_mask: Image.Image | None = None,
) -> Image.Image:
    """Soft ``L`` mask (255 = subject), same size as ``image``, from AI Cut dots.

    ``green`` dots are subject, ``red`` dots background, both ``(x, y)`` in displayed image pixels.
    Pass the previous call's result as ``previous_mask`` so more dots refine rather than restart;
    the result is limited to the regions that hold a green dot.
    """
    image = open_image(image)
    rgb, source_alpha = _arrays(image)
    guide = guide_copy(rgb)
    work, (w, h) = working_copy(rgb, _POINT_WORKING_PIXELS, guide)
    scale = (w / image.width, h / image.height)
    previous = None
    if previous_mask is not None:
        prev = previous_mask.convert("L").resize((w, h), Image.Resampling.BILINEAR)
        previous = np.asarray(prev) >= 128
    mask = point_mask(
        work,
        _valid_points(green, image.size, scale),
        _valid_points(red, image.size, scale),
        previous,
    )
    if source_alpha is not None:
        mask &= cv2.resize(source_alpha, (w, h), interpolation=cv2.INTER_AREA) > 0
    return Image.fromarray(guided_upsample(rgb, mask, guide=guide), "L")
