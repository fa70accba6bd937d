"""Serializer fields for headless sites: Wagtail's API v2 and Django REST framework.

A cut-out may not be ready when an API client asks for it, and the answer must still be usable by
a front end that knows nothing of us: the ORIGINAL as the fallback, with ``"ready": false``, never
an error object. Wagtail's own ``ImageRenditionField`` gives a picture for a ``bgcut-`` spec (the
operation renders the original while the cut-out is pending) but cannot say which one it is.
Hence two fields:

* :class:`CutoutField` (``preset``): the cut-out file itself, like ``{% bgcut %}``; works for
  Wagtail images and for any Django ``FieldFile`` (``BackgroundRemovedImageField``'s source).
* :class:`BgcutRenditionField` (a ``bgcut-`` filter spec): a drop-in for ``ImageRenditionField``,
  the same keys plus ``ready``; while the cut-out is pending, the rest of the chain applied to the
  original.

Neither waits on the API: a missing cut-out is queued exactly as a page render queues it.
"""

from __future__ import annotations

from typing import Any

from django.db.models.fields.files import FieldFile
from rest_framework.fields import Field
from wagtail.images.api.fields import ImageRenditionField
from wagtail.images.models import SourceImageIOError
from wagtail.images.utils import to_svg_safe_spec

from .cutouts import CutoutResult, get_cutout
from .image_operations import OPERATION_NAME, CutoutNotReady

__all__ = ["BgcutRenditionField", "CutoutField", "cutout_representation"]


def _full_url(url: str, context: dict[str, Any]) -> str:
    request = context.get("request")
    if url and request is not None and "://" not in url:
        return request.build_absolute_uri(url)
    return url


def cutout_representation(result: CutoutResult, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON for a :class:`~wagtail_bgcut.cutouts.CutoutResult` (blocks use it too)."""
    return {
        "url": result.url,
        "full_url": _full_url(result.url, context),
        "width": result.width,
        "height": result.height,
        "alt": result.alt,
        "ready": result.ready,
    }


class CutoutField(Field):
    """The cut-out of an image for a preset: ``url``, ``full_url``, ``width``, ``height``, ``alt``,
    ``ready``; the original's url and size while it is not ready.

    Read-only. The value is a Wagtail image or a ``FieldFile``; ``None`` or an empty file gives
    ``None``. An unknown preset raises ``UnknownPreset`` (a configuration error, not data).
    """

    def __init__(self, preset: str, *, request_missing: bool = True, **kwargs: Any):
        self.preset = preset
        self.request_missing = request_missing
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        if value is None or (isinstance(value, FieldFile) and not value):
            return None
        result = get_cutout(value, self.preset, request=self.request_missing)
        if not result.url:
            return None
        return cutout_representation(result, self.context)


class BgcutRenditionField(ImageRenditionField):
    """``ImageRenditionField`` for ``bgcut-`` specs: the same keys plus ``ready``, never an error.

    ``BgcutRenditionField("bgcut-full|fill-300x300|format-webp")``. While the cut-out is not ready
    the answer is the same chain without its ``bgcut-`` step, made from the original
    (``ready: false``); if even the original cannot be read, the stored file's url and the size
    from the database (or the cut-out itself when that exists).
    """

    def __init__(self, filter_spec: str, *args: Any, **kwargs: Any):
        steps = filter_spec.split("|")
        bgcut = [s for s in steps if s.startswith(f"{OPERATION_NAME}-")]
        if len(bgcut) != 1:
            raise ValueError(
                f"BgcutRenditionField needs exactly one bgcut-<preset> step, got {filter_spec!r}"
            )
        self.preset = bgcut[0][len(OPERATION_NAME) + 1 :]
        self.fallback_spec = "|".join(s for s in steps if s != bgcut[0]) or "original"
        kwargs["read_only"] = True
        super().__init__(filter_spec, *args, **kwargs)

    def _spec(self, image: Any, spec: str) -> str:
        return to_svg_safe_spec(spec) if self.preserve_svg and image.is_svg() else spec

    def _rendition(self, image: Any, spec: str, *, ready: bool) -> dict[str, Any]:
        rendition = image.get_rendition(self._spec(image, spec))
        return {
            "url": rendition.url,
            "full_url": rendition.full_url,
            "width": rendition.width,
            "height": rendition.height,
            "alt": rendition.alt,
            "ready": ready,
        }

    def to_representation(self, image: Any) -> dict[str, Any]:
        # Asked first, not learnt from an exception: while the cut-out is pending the bgcut-
        # operation renders the original (for {% image %}), which must not be called "ready".
        if get_cutout(image, self.preset).ready:
            try:
                return self._rendition(image, self.filter_spec, ready=True)
            except CutoutNotReady:
                pass  # its file vanished since: the original's chain below
            except SourceImageIOError:
                # The original cannot be read; an existing cut-out can still be shown as it is.
                return cutout_representation(get_cutout(image, self.preset), self.context)
        try:
            return self._rendition(image, self.fallback_spec, ready=False)
        except SourceImageIOError:
            return cutout_representation(
                get_cutout(image, self.preset, request=False), self.context
            )
