"""``CutoutImageBlock``: a StreamField image chooser whose value renders as the image's cut-out.

Editors pick an image as with ``ImageChooserBlock``; the page shows the cut-out for the block's
preset, or the original while the cut-out is being made (queued, never waited on), exactly like
``{% bgcut %}``. The value is still the Wagtail image, so a template may use ``{% image value
bgcut-full fill-300x300 %}`` or ``{% bgcut value "full" %}`` instead of ``{{ value }}``.

A StreamField loads every image of a stream in one query (``bulk_to_python``); the cut-outs of
those images are looked up with one more (``prefetch_cutouts``), not one per block.
"""

from __future__ import annotations

from typing import Any

from django.utils.safestring import SafeString
from wagtail.images.blocks import ImageChooserBlock

from .cutouts import get_cutout, prefetch_cutouts
from .serializers import cutout_representation

__all__ = ["CutoutImageBlock"]


class CutoutImageBlock(ImageChooserBlock):
    """An image chooser with a preset: ``CutoutImageBlock(preset="full")``.

    Renders an ``<img>`` of the cut-out (the original until it is ready); its API v2
    representation is ``{"id", "url", "full_url", "width", "height", "alt", "ready"}``.
    """

    def __init__(self, preset: str, required: bool = True, **kwargs: Any):
        self.preset = preset
        super().__init__(required=required, **kwargs)

    def bulk_to_python(self, values: Any) -> list[Any]:
        images = super().bulk_to_python(values)
        prefetch_cutouts([image for image in images if image is not None], self.preset)
        return images

    def render_basic(self, value: Any, context: Any = None) -> SafeString | str:
        if not value:
            return ""
        return get_cutout(value, self.preset).img_tag()

    def get_api_representation(self, value: Any, context: Any = None) -> dict[str, Any] | None:
        if not value:
            return None
        result = get_cutout(value, self.preset)
        return {"id": value.pk, **cutout_representation(result, context or {})}

    class Meta:
        icon = "image"
