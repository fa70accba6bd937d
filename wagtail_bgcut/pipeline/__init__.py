"""The cut-out pipeline: rows for what is missing, one backend call per source, files stored.

This package is the core. It imports models, backends and the bottom layers, never the Wagtail
glue or the task layer above it, and it tells the layers above what happened with the signals in
:mod:`wagtail_bgcut.signals`. The modules, in the order the work flows:

- :mod:`.rows`: rows created race-safely and claimed with an expiring lease;
- :mod:`.source_bytes`: finding a source's bytes again from a worker;
- :mod:`.run`: one backend call for the claimed rows of one source, files written, failures kept;
- :mod:`.processing`: :func:`process_now`, :func:`process_cutout_ids`, :func:`retry`;
- :mod:`.cleanup`: freeing cut-outs whose bytes no file has any more;
- :mod:`.announce`: sending the signals so that no receiver can break the work.

Queuing work for later is the task layer's job: :func:`wagtail_bgcut.tasks.request_cutouts`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .._deprecation import warn_moved
from ..source_hashes import hash_source
from .cleanup import forget_source, free_unreferenced, rehash_source
from .processing import after_done, process_cutout_ids, process_now, retry
from .rows import Status, ensure_cutouts, needs_work
from .run import describe_error

__all__ = [
    "Status",
    "after_done",
    "describe_error",
    "ensure_cutouts",
    "forget_source",
    "free_unreferenced",
    "hash_source",
    "needs_work",
    "process_cutout_ids",
    "process_now",
    "rehash_source",
    "retry",
]

# Names this package used to hold, now in the layers above it. Reached only through the module
# __getattr__ below, so the pipeline itself never imports upwards.
_MOVED = {
    "request_cutouts": ("wagtail_bgcut.tasks", "request_cutouts"),
    "purge_renditions": ("wagtail_bgcut.image_operations", "purge_bgcut_renditions"),
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, new_name = _MOVED[name]
    warn_moved(f"wagtail_bgcut.pipeline.{name}", f"{module}.{new_name}")
    return getattr(import_module(module), new_name)
