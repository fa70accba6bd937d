"""Segmentation model files: the built-in catalogue and fetching them on purpose (no Django).

Kept out of :mod:`wagtail_bgcut.imaging`, which never does HTTP: the imaging layer only opens a
file it is given. Nothing here runs during a request or a task; ``manage.py bgcut_model fetch``,
``make demo`` and the test set-up call it.
"""

from __future__ import annotations

from .catalogue import (
    AUTO,
    CATALOGUE,
    DEFAULT_PREFERENCE,
    ModelSource,
    ModelSpec,
    default_model_dir,
    find_fetched,
    resolve,
)
from .fetch import ChecksumMismatch, ModelFetchError, fetch_model, file_checksum, install_file

__all__ = [
    "AUTO",
    "CATALOGUE",
    "DEFAULT_PREFERENCE",
    "ChecksumMismatch",
    "ModelFetchError",
    "ModelSource",
    "ModelSpec",
    "default_model_dir",
    "fetch_model",
    "file_checksum",
    "find_fetched",
    "install_file",
    "resolve",
]
