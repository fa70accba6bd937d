"""BackgroundCut background removal for Django and Wagtail.

The Python API is importable from the package, lazily, so ``import wagtail_bgcut`` (for example from
settings or ``INSTALLED_APPS`` resolution) never imports models::

    from wagtail_bgcut import get_cutout, prefetch_cutouts, register_preset, request_cutouts

The extension points are the signals in :mod:`wagtail_bgcut.signals` (docs/signals.md).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "CutoutResult": "wagtail_bgcut.cutouts",
    "get_cutout": "wagtail_bgcut.cutouts",
    "prefetch_cutouts": "wagtail_bgcut.cutouts",
    "request_cutouts": "wagtail_bgcut.tasks",
    "register_preset": "wagtail_bgcut.presets",
    "get_preset": "wagtail_bgcut.presets",
    "all_presets": "wagtail_bgcut.presets",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wagtail_bgcut' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
