"""The local imaging engine: loading, segmentation, matting and variant rendering.

Pillow, numpy and OpenCV only: no HTTP, no Django. Every backend (local, API emulator, "derive
variants locally") renders through :func:`render_variant`, so outputs match whoever made them.
"""

from __future__ import annotations

from .cutout import remove_background, segment_points
from .errors import (
    DecompressionBomb,
    ImageError,
    MissingDependency,
    ModelError,
    SegmentationTimeout,
    UnsupportedImage,
)
from .grabcut import GrabCutSegmenter
from .loading import has_transparency, open_image
from .matting import apply_mask
from .onnx_model import OnnxSegmenter
from .render import RenderedImage, render_variant, render_variants
from .segmenters import Segmenter, clear_segmenter_cache, get_segmenter, validate_model
from .upload import PreparedUpload, prepare_upload

__all__ = [
    "DecompressionBomb",
    "GrabCutSegmenter",
    "ImageError",
    "MissingDependency",
    "ModelError",
    "OnnxSegmenter",
    "PreparedUpload",
    "RenderedImage",
    "SegmentationTimeout",
    "Segmenter",
    "UnsupportedImage",
    "apply_mask",
    "clear_segmenter_cache",
    "get_segmenter",
    "has_transparency",
    "open_image",
    "prepare_upload",
    "remove_background",
    "render_variant",
    "render_variants",
    "segment_points",
    "validate_model",
]
