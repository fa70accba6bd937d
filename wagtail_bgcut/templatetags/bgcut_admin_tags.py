"""Template helpers for the admin templates that override Wagtail's own (not for site templates).

They let one override serve Wagtail 7.4 LTS and 8.0, whose templates offer different blocks.
"""

from __future__ import annotations

from django import template

from ..wagtail_compat import IMAGE_EDIT_HAS_STATS_BLOCK

register = template.Library()


@register.simple_tag
def bgcut_image_edit_has_stats_block() -> bool:
    """Whether Wagtail's image edit page has ``{% block stats %}`` (8.0 and later)."""
    return IMAGE_EDIT_HAS_STATS_BLOCK
