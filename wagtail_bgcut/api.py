"""Deprecated: the render-side lookups moved to :mod:`wagtail_bgcut.cutouts`."""

from ._deprecation import warn_moved
from .cutouts import *  # noqa: F403
from .cutouts import __all__, options_key_for  # noqa: F401

warn_moved("wagtail_bgcut.api", "wagtail_bgcut.cutouts")
