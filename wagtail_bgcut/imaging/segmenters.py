"""Which segmenter to use: the built-in GrabCut one, or an ONNX model named by a setting."""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from .grabcut import GrabCutSegmenter
from .onnx_model import OnnxSegmenter, load_session

__all__ = ["Segmenter", "clear_segmenter_cache", "get_segmenter", "validate_model"]


@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns an RGB(A) image into a same-size ``L`` mask (255 = subject)."""

    def mask(self, image: Image.Image) -> Image.Image: ...


_cache: dict[str, Segmenter] = {}
_lock = threading.Lock()


def get_segmenter(model_path: str | os.PathLike | None = None, **spec: Any) -> Segmenter:
    """The segmenter for ``model_path`` (None: built-in GrabCut), loaded once per path.

    ``spec`` (``size``, ``mean``, ``std``, ``scale_by_max``) describes the model's input when its
    file name does not (a catalogued model passes its catalogue entry's values); ``providers`` and
    ``threads`` go to onnxruntime (:func:`~.onnx_model.load_session`). One session per path and
    runtime choice.

    Raises :class:`~.errors.ModelError` for a missing or invalid file and
    :class:`~wagtail_bgcut.exceptions.MissingExtra` when onnxruntime is not installed.
    """
    if not model_path:
        return GrabCutSegmenter()
    path = os.path.abspath(os.fspath(model_path))
    key = f"{path}|{spec.get('providers')!r}|{spec.get('threads')!r}"
    with _lock:
        segmenter = _cache.get(key)
        if segmenter is None:
            segmenter = _cache[key] = OnnxSegmenter(path, **spec)
    return segmenter


def clear_segmenter_cache() -> None:
    """Forget loaded models (tests, or after replacing a model file on disk)."""
    with _lock:
        _cache.clear()


def validate_model(path: str | os.PathLike) -> None:
    """Raise a clear :class:`~.errors.ModelError` unless ``path`` is a usable ONNX model."""
    load_session(path)
