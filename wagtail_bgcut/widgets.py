"""``CutoutPreviewWidget``: a cut-out shown over a checkerboard, so its transparency is visible.

For plain Django sites (no Wagtail admin). ``BackgroundRemovedImageField`` is not editable (the
pipeline fills it), so the widget only displays; it submits nothing, and a form field using it
keeps the stored value. :class:`wagtail_bgcut.admin.CutoutPreviewAdminMixin` puts one preview per
cut-out field on a model's Django admin change page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

__all__ = ["CutoutPreviewWidget", "render_cutout_preview"]

TEMPLATE = "wagtail_bgcut/widgets/cutout_preview.html"


def render_cutout_preview(
    value: Any,
    *,
    width: int | None = None,
    height: int | None = None,
    max_size: int = 240,
    caption: str = "",
) -> SafeString:
    """The preview HTML of a cut-out file (a FieldFile, or empty while it is being made).

    The size comes from ``width``/``height`` when known (a ``Cutout`` row has them), else from an
    ``ImageFieldFile`` (its model's dimension cache or the file's header).
    """
    url = None
    if value:
        url = value.url
        if (width is None or height is None) and hasattr(value, "width"):
            try:
                width, height = value.width, value.height
            except (OSError, ValueError):  # the file is gone: the browser shows what it can
                width = height = None
    if width and height:
        scale = min(1.0, max_size / max(width, height))
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    context = {"url": url, "width": width, "height": height, "max_size": max_size}
    context["caption"] = caption
    return render_to_string(TEMPLATE, context)


class CutoutPreviewWidget(forms.Widget):
    """Displays the cut-out (or "not made yet"); never submits a value."""

    def __init__(self, attrs: dict[str, Any] | None = None, *, max_size: int = 240):
        self.max_size = max_size
        super().__init__(attrs)

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        return render_cutout_preview(value, max_size=self.max_size)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> None:
        return None

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return True  # so a ModelForm keeps the stored value
