"""Errors raised by the imaging layer: its subtree of :class:`wagtail_bgcut.exceptions.BgcutError`.

Everything derives from :class:`ImageError` (also a ``ValueError``) so callers can turn any bad
input into one clear message without catching Pillow's, OpenCV's or onnxruntime's own exception
zoo. None is ``retryable``: the same image or model fails the same way next time. A missing
onnxruntime is :class:`wagtail_bgcut.exceptions.MissingExtra`, not an ``ImageError``: the image is
not to blame.
"""

from __future__ import annotations

from ..exceptions import BgcutError, MissingExtra

__all__ = [
    "DecompressionBomb",
    "ImageError",
    "MissingDependency",
    "ModelError",
    "SegmentationTimeout",
    "UnsupportedImage",
]


class ImageError(BgcutError, ValueError):
    """An image (or model) cannot be used; the message says why in plain words."""


class UnsupportedImage(ImageError):
    """The data is corrupt, truncated, not an image, or in a format we refuse to decode."""


class DecompressionBomb(ImageError):
    """The header announces more pixels than allowed; refused before any pixel is decoded."""

    def __init__(self, width: int | None, height: int | None, max_pixels: int, pixels: int = 0):
        self.width, self.height, self.max_pixels = width, height, max_pixels
        self.pixels = width * height if width and height else pixels
        size = (
            f"{width}x{height} ({self.pixels:,} pixels)"
            if width and height
            else (f"{self.pixels:,} pixels" if self.pixels else "too large")
        )
        super().__init__(f"The image is {size}, more than the {max_pixels:,} pixels allowed.")


class ModelError(ImageError):
    """A segmentation model file is missing, unreadable or not a usable ONNX model."""


class SegmentationTimeout(ImageError):
    """Finding the subject took longer than its time budget; the work was abandoned."""

    def __init__(self, budget: float, stage: str):
        self.budget, self.stage = budget, stage
        super().__init__(
            f"Segmentation took longer than its {budget:g} s budget (stopped during {stage}). "
            "Try a smaller image or a faster model."
        )


# Deprecated alias, kept for ``from wagtail_bgcut.imaging import MissingDependency``; catch
# MissingExtra. It is no longer a ModelError: a missing package is not a broken model file.
MissingDependency = MissingExtra
