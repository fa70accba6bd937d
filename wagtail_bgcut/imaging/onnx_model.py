"""Optional model-based segmentation with a rembg-compatible ONNX file (the ``onnx`` extra).

Nothing is ever downloaded: the model is a file the site owner put on disk and named in the
``LOCAL_MODEL`` setting. :func:`validate_model` is what the Django system check calls, so a missing
or broken file is reported at start-up instead of failing a request.

rembg's models (u2net, u2netp, silueta, isnet-general-use, BiRefNet, ...) all take one
``1x3xHxW`` float tensor of the resized image, normalised per channel, and return the mask as their
first output. The input size is read from the model when it is fixed (320 for u2net, 1024 for
isnet/BiRefNet); the normalisation follows rembg (mean 0.5 / std 1.0 for isnet, ImageNet otherwise)
and can be passed explicitly.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..exceptions import MissingExtra
from .errors import ModelError
from .matting import guided_upsample

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "OnnxSegmenter", "load_session"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_DEFAULT_SIZE = 320


def _onnxruntime() -> Any:
    try:
        # Optional extra: only sites that name a LOCAL_MODEL install onnxruntime.
        import onnxruntime
    except ImportError as exc:
        raise MissingExtra("onnxruntime", "onnx", "Model-based background removal") from exc
    return onnxruntime


def load_session(path: str | os.PathLike) -> Any:
    """An onnxruntime session for ``path``, or a :class:`ModelError` saying what is wrong."""
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"The segmentation model {str(file)!r} is not a file.")
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings are not our users' business
    try:
        session = ort.InferenceSession(
            str(file), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise ModelError(
            f"The segmentation model {file.name!r} is not a valid ONNX model ({_first_line(exc)})."
        ) from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if not inputs or not outputs:
        raise ModelError(f"The segmentation model {file.name!r} has no inputs or no outputs.")
    shape = inputs[0].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise ModelError(
            f"The segmentation model {file.name!r} takes input of shape {shape}; a "
            "rembg-compatible model takes 1x3xHxW."
        )
    return session


def _settle_far_from_edges(pred: np.ndarray, reach: float = 0.01) -> np.ndarray:
    """Soft values only near the subject's outline; elsewhere fully in or out.

    Quantised models (the img.ly quint8 ISNet) leave blotches over smooth backdrops: specks
    called subject, and faint haze. Specks (objects under 5% of the largest one) are dropped; real
    soft edges (hair, motion blur) sit next to the 0.5 contour, so alpha farther than ``reach``
    (of the mask's size) from it is rounded.
    """
    hard = (pred >= 0.5).astype(np.uint8)
    count, objects, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if count > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.nonzero(areas >= 0.05 * areas.max())[0] + 1
        hard = np.isin(objects, keep).astype(np.uint8)
        pred = np.where(hard | (objects == 0), pred, 0.0)
    size = max(3, round(reach * max(pred.shape)) * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    band = cv2.dilate(hard, kernel).astype(bool) & ~cv2.erode(hard, kernel).astype(bool)
    return np.where(band, pred, hard.astype(np.float32)).astype(np.float32)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class OnnxSegmenter:
    """Segment with a rembg-compatible ONNX model. The session is loaded once and shared."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        size: int | None = None,
        mean: tuple[float, float, float] | None = None,
        std: tuple[float, float, float] | None = None,
        scale_by_max: bool = True,
    ):
        self.path = Path(path)
        self.session = load_session(self.path)
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        fixed = [d for d in model_input.shape[2:] if isinstance(d, int) and d > 0]
        self.size = size or (fixed[0] if len(fixed) == 2 and fixed[0] == fixed[1] else None)
        self.size = self.size or (fixed and max(fixed)) or _DEFAULT_SIZE
        isnet = "isnet" in self.path.name.lower()
        self.mean = mean or ((0.5, 0.5, 0.5) if isnet else IMAGENET_MEAN)
        self.std = std or ((1.0, 1.0, 1.0) if isnet else IMAGENET_STD)
        self.scale_by_max = scale_by_max
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OnnxSegmenter({self.path.name!r}, size={self.size})"

    def _input(self, image: Image.Image) -> np.ndarray:
        small = image.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
        arr = np.asarray(small).astype(np.float32)
        # rembg divides by the image's own maximum; img.ly's ISNet expects x / 255.
        arr = arr / (max(float(arr.max()), 1e-6) if self.scale_by_max else 255.0)
        arr = (arr - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)
        return arr.transpose(2, 0, 1)[None].astype(np.float32)

    def small_mask(self, image: Image.Image) -> np.ndarray:
        """The model's mask at its own resolution, as float32 in 0..1."""
        feed = {self.input_name: self._input(image)}
        try:
            with self._lock:  # sessions are thread-safe, but one run at a time bounds memory
                output = self.session.run(None, feed)[0]
        except Exception as exc:
            raise ModelError(
                f"The segmentation model {self.path.name!r} failed: {_first_line(exc)}"
            ) from exc
        pred = np.asarray(output, dtype=np.float32)
        while pred.ndim > 2:
            pred = pred[0]
        if pred.ndim != 2:
            raise ModelError(f"The segmentation model {self.path.name!r} returned no 2-D mask.")
        low, high = float(pred.min()), float(pred.max())
        if low < 0.0 or high > 1.0:
            # Logits or unnormalised output: stretch to 0..1 like rembg does.
            pred = (pred - low) / (high - low) if high > low else np.zeros_like(pred)
        return np.nan_to_num(pred)

    def mask(self, image: Image.Image) -> Image.Image:
        """Full-size soft ``L`` mask (255 = subject)."""
        pred = _settle_far_from_edges(self.small_mask(image))
        # The model sees a few hundred pixels a side; the guided filter puts its edges back on
        # the photo's own edges at full size.
        alpha = guided_upsample(np.asarray(image.convert("RGB")), pred, radius=4, eps=1e-3)
        return Image.fromarray(alpha, "L")
