"""Errors raised by the imaging layer.

Everything derives from :class:`ImageError` (a ``ValueError``) so callers can turn any bad input
into one clear message without catching Pillow's, OpenCV's or onnxruntime's own exception zoo.
"""

from __future__ import annotations

__all__ = ["DecompressionBomb", "ImageError", "MissingDependency", "ModelError", "UnsupportedImage"]


class ImageError(ValueError):
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


class MissingDependency(ModelError):
    """An optional library is not installed; the message names the pip extra that brings it."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package, self.extra = package, extra
        super().__init__(
            f"{feature} needs {package}, which is not installed. "
            f'Install it with: pip install "wagtail-bgcut[{extra}]"'
        )
