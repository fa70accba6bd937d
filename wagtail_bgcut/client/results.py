"""Deprecated: renamed :mod:`wagtail_bgcut.client.responses`; import from there."""

from .._deprecation import warn_moved
from .responses import *  # noqa: F403
from .responses import __all__  # noqa: F401

warn_moved("wagtail_bgcut.client.results", "wagtail_bgcut.client.responses")
