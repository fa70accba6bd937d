"""The two things users ask of the engine: a cut-out of the whole subject, and a cut from dots."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from .errors import SegmentationTimeout
from .grabcut import WORKING_PIXELS, GrabCutSegmenter, point_mask, working_copy
from .loading import open_image
from .matting import cutout_array, guide_copy, guided_upsample
from .onnx_model import OnnxSegmenter
from .segmenters import Segmenter

__all__ = ["DEFAULT_TIME_BUDGET", "remove_background", "segment_points"]

_POINT_WORKING_PIXELS = 250_000
# Seconds one segmentation call may take before it gives up with SegmentationTimeout.
DEFAULT_TIME_BUDGET = 300.0
_PRIOR_CACHE_SIZE = 8  # soft masks kept for AI Cut (~1 MB each at 1024x1024 float32)
_priors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_priors_lock = threading.Lock()


class _Deadline:
    """Checked between stages: a call over budget stops with a clear error, not a hung worker."""

    def __init__(self, budget: float | None):
        self.budget = budget
        self.end = time.monotonic() + budget if budget else math.inf

    def check(self, stage: str) -> None:
        if time.monotonic() > self.end:
            raise SegmentationTimeout(self.budget or 0.0, stage)


def _arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    alpha = np.asarray(image.getchannel("A")) if image.mode == "RGBA" else None
    return rgb, alpha


def remove_background(
    image: Image.Image,
    *,
    quality: str = "high",
    segmenter: Segmenter | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Image.Image:
    """Full-size RGBA cut-out of ``image`` (same size as the opened input).

    ``quality`` sets the built-in segmenter's working resolution (high > medium > low); a given
    ``segmenter`` (e.g. an ONNX model) is used as is. Transparency already in the image is kept.
    Over ``time_budget`` seconds it raises :class:`~.errors.SegmentationTimeout`.
    """
    deadline = _Deadline(time_budget)
    image = open_image(image)
    rgb, source_alpha = _arrays(image)
    guide = guide_copy(rgb)
    if segmenter is None:
        segmenter = GrabCutSegmenter(quality=quality if quality in WORKING_PIXELS else "high")
    if isinstance(segmenter, GrabCutSegmenter | OnnxSegmenter):
        alpha = segmenter.alpha(rgb, source_alpha, guide)  # arrays all the way: no copies
    else:
        mask = segmenter.mask(image).convert("L")
        if mask.size != image.size:
            mask = mask.resize(image.size, Image.Resampling.BILINEAR)
        alpha = np.asarray(mask)
    deadline.check("segmentation")
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


def _model_prior(image: Image.Image, segmenter: Segmenter) -> np.ndarray | None:
    """The model's soft mask of ``image`` (0..1 at its own size), computed once and cached."""
    small_mask = getattr(segmenter, "small_mask", None)
    if small_mask is None:
        return None
    key = (repr(segmenter), hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest())
    key = (key[0], f"{image.mode}{image.size}{key[1]}")
    with _priors_lock:
        if key in _priors:
            _priors.move_to_end(key)
            return _priors[key]
    prior = small_mask(image)
    with _priors_lock:
        _priors[key] = prior
        while len(_priors) > _PRIOR_CACHE_SIZE:
            _priors.popitem(last=False)
    return prior


def segment_points(
    image: Image.Image,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]],
    *,
    previous_mask: Image.Image | None = None,
    segmenter: Segmenter | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Image.Image:
    """Soft ``L`` mask (255 = subject), same size as ``image``, from AI Cut dots.

    ``green`` dots are subject, ``red`` dots background, both ``(x, y)`` in displayed image pixels.
    Without ``previous_mask`` the result depends on the image and the *set* of dots only (their
    order does not matter). With a model ``segmenter``, its soft mask (computed once per image and
    cached) is the starting point: a green dot keeps the model's whole object under it, a red dot
    removes its region. ``previous_mask`` (older API) refines an earlier result instead.
    """
    deadline = _Deadline(time_budget)
    image = open_image(image)
    rgb, source_alpha = _arrays(image)
    guide = guide_copy(rgb)
    work, (w, h) = working_copy(rgb, _POINT_WORKING_PIXELS, guide)
    scale = (w / image.width, h / image.height)
    green_pts = sorted(_valid_points(green, image.size, scale))
    red_pts = sorted(_valid_points(red, image.size, scale))
    previous = None
    objects = None
    if previous_mask is not None:
        prev = previous_mask.convert("L").resize((w, h), Image.Resampling.BILINEAR)
        previous = np.asarray(prev) >= 128
    elif segmenter is not None:
        prior = _model_prior(image, segmenter)
        deadline.check("the model's mask")
        if prior is not None:
            previous = cv2.resize(prior, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
            _count, objects = cv2.connectedComponents(previous.astype(np.uint8), connectivity=8)
    mask = point_mask(work, green_pts, red_pts, previous)
    deadline.check("point segmentation")
    if objects is not None:
        mask = _whole_objects(mask, objects, green_pts, red_pts)
    if source_alpha is not None:
        mask &= cv2.resize(source_alpha, (w, h), interpolation=cv2.INTER_AREA) > 0
    return Image.fromarray(guided_upsample(rgb, mask, guide=guide), "L")


def _whole_objects(
    mask: np.ndarray,
    objects: np.ndarray,
    green: list[tuple[float, float]],
    red: list[tuple[float, float]],
) -> np.ndarray:
    """Add back the whole model object under each green dot unless a red dot sits in it too."""
    h, w = mask.shape

    def label(point: tuple[float, float]) -> int:
        return int(
            objects[min(max(round(point[1]), 0), h - 1), min(max(round(point[0]), 0), w - 1)]
        )

    red_labels = {label(p) for p in red}
    for point in green:
        found = label(point)
        if found and found not in red_labels:
            mask = mask | (objects == found)
    return mask
