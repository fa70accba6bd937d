"""Template helpers for the admin templates that override Wagtail's own (not for site templates).

They let one override serve Wagtail 7.4 LTS and 8.0, whose templates offer different blocks.
"""

from __future__ import annotations

from typing import Any

from django import template

from ..conf import bgcut_settings
from ..cutouts import prefetch_cutouts, resolve_cutout
from ..models import Cutout
from ..presets import all_presets, preset_labels
from ..wagtail_compat import IMAGE_EDIT_HAS_STATS_BLOCK

register = template.Library()


@register.simple_tag
def bgcut_image_edit_has_stats_block() -> bool:
    """Whether Wagtail's image edit page has ``{% block stats %}`` (8.0 and later)."""
    return IMAGE_EDIT_HAS_STATS_BLOCK


@register.inclusion_tag("wagtail_bgcut/admin/_cutout_badge.html", takes_context=True)
def bgcut_cutout_badge(context: template.Context, image: Any) -> dict[str, Any]:
    """The image listing's cut-out indicator: made, being made, or needing a look.

    The first call looks up the cut-outs of every image on the listing page in one query
    (``prefetch_cutouts``); the others read what it stored on the images.
    """
    presets = list(all_presets())
    if not getattr(image, "_bgcut_badge_ready", False):
        images = [i for i in (context.get("object_list") or [image]) if hasattr(i, "file")]
        if image not in images:
            images.append(image)
        try:
            prefetch_cutouts(images, presets)
        except (OSError, ValueError):
            return {"state": ""}
        for item in images:
            item._bgcut_badge_ready = True
    labels = preset_labels()
    rows = [(name, resolve_cutout(image, name, request=False)) for name in presets]
    made = [labels[name] for name, c in rows if c is not None and c.ready and not c.suspicious]
    look = [
        labels[name]
        for name, c in rows
        if c is not None and (c.status == Cutout.Status.FAILED or c.suspicious)
    ]
    busy = any(c is not None and c.status in ("pending", "processing") for _n, c in rows)
    return {"made": made, "look": look, "busy": busy, "image": image}


@register.simple_tag
def bgcut_auto_process_labels() -> list[str]:
    """The labels of the ``AUTO_PROCESS`` presets (made after every upload)."""
    labels = preset_labels()
    return [labels.get(name, name) for name in (bgcut_settings.AUTO_PROCESS or [])]
