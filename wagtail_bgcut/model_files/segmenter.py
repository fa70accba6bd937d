"""From a ``LOCAL_MODEL``-style value (catalogue name, path, "auto" or None) to a segmenter.

Lives here rather than in :mod:`wagtail_bgcut.imaging` because it reads the catalogue, whose
package also does HTTP; the imaging layer only ever receives a file path and its input spec.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..imaging import ModelError, Segmenter, get_segmenter
from .catalogue import resolve

__all__ = ["load_segmenter", "model_label"]


def load_segmenter(
    model: str | os.PathLike | None,
    model_dir: str | os.PathLike | None = None,
    *,
    providers: Sequence[Any] | None = None,
    threads: int | None = None,
) -> Segmenter | None:
    """The ONNX segmenter for ``model`` (None: use the built-in one). Never downloads.

    ``providers`` and ``threads``: onnxruntime's execution providers and intra-op threads (the
    ``LOCAL_PROVIDERS`` and ``LOCAL_THREADS`` settings; None: CPU, onnxruntime's thread default).
    """
    runtime = {"providers": list(providers) if providers else None, "threads": threads}
    path, spec = resolve(model, model_dir)
    if path is None:
        return None
    if not path.is_file():
        hint = f" Run: python manage.py bgcut_model fetch {spec.name}" if spec else ""
        raise ModelError(f"The segmentation model {str(path)!r} is not fetched.{hint}")
    if spec is None:
        return get_segmenter(path, **runtime)
    return get_segmenter(
        path,
        size=spec.input_size,
        mean=spec.mean,
        std=spec.std,
        scale_by_max=spec.scale_by_max,
        **runtime,
    )


def model_label(model: str | os.PathLike | None, model_dir: str | os.PathLike | None = None) -> str:
    """What a person should read as "the engine": a model name/file, or the built-in one."""
    path, spec = resolve(model, model_dir)
    if path is None:
        return "built-in segmenter (no model)"
    return f"{spec.name} model" if spec else f"model {path.name}"
