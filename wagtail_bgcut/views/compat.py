"""Deprecated: the Wagtail version shims moved to :mod:`wagtail_bgcut.wagtail_compat`."""

from .._deprecation import warn_moved
from ..wagtail_compat import IMAGE_EDIT_HAS_STATS_BLOCK, image_permission_policy

__all__ = ["IMAGE_EDIT_HAS_STATS_BLOCK", "image_permission_policy"]

warn_moved("wagtail_bgcut.views.compat", "wagtail_bgcut.wagtail_compat")
