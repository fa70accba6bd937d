"""The ``bgcut-<preset>`` Wagtail image operation, and the purge of its renditions.

``{% image photo bgcut-thumbnail %}`` and chains such as ``bgcut-full|fill-300x300|format-webp``
swap the original's pixels for the CACHED cut-out (one paid cut serves every size), then apply the
chain's crop and resize to the cut-out. How it can never cache a wrong picture:

* Not ready (pending or failed) means the ORIGINAL, run through the rest of the chain: never
  Wagtail's 0x0 not-found placeholder. The cut-out is queued first (or made on the spot with
  ``PROCESS_ON_RENDER``; with an in-process task backend it is ready in the same render). The
  stand-in rendition is purged by the ``cutouts_ready`` receiver when the cut-out is made, so the
  next render shows the cut-out.
* A changed source file gives other rendition keys: the operation varies on the image's file name
  and ``file_hash`` (Wagtail's ``vary_fields``), so a rendition made from old bytes is never found.
* :func:`purge_bgcut_renditions` deletes an image's ``bgcut-`` renditions (files and cache entries
  too, through Wagtail's own delete signals); a receiver of the core's ``cutouts_ready`` signal
  (:mod:`.signal_handlers`) calls it when a cut-out is (re)made, e.g. after switching engines, so
  the next render uses the new cut-out.

Wagtail gives filter operations the willow image after the chain's crop/resize has been applied to
the ORIGINAL, and no handle on that transform. To apply the same chain to the cut-out we find the
``Filter`` that is running us (by identity, in the caller's frame) and re-run its transform
operations on the cut-out's geometry. Should a future Wagtail call us differently, we fall back to
fitting the cut-out inside the size Wagtail produced, which is never distorted.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _
from PIL import Image as PILImage
from wagtail.images.exceptions import InvalidFilterSpecError
from wagtail.images.image_operations import FilterOperation, FormatOperation
from wagtail.images.models import Filter, SourceImageIOError
from wagtail.images.rect import Rect
from willow.plugins.pillow import PillowImage

from .cutouts import forget_cutouts, resolve_cutout
from .exceptions import UnknownPreset
from .presets import get_preset

__all__ = [
    "OPERATION_NAME",
    "BgcutOperation",
    "CutoutNotReady",
    "output_format",
    "purge_bgcut_renditions",
]

OPERATION_NAME = "bgcut"

# Output formats Wagtail knows, for the preset's own format when the cut-out has no alpha.
_WAGTAIL_FORMATS = {"jpg": "jpeg", "png": "png", "webp": "webp"}
# Output formats Wagtail can save with an alpha channel.
_ALPHA_FORMATS = frozenset({"png", "webp", "avif", "heic"})


class CutoutNotReady(SourceImageIOError):
    """The cut-out a ``bgcut-`` rendition needs does not exist yet (or failed, or its file is gone).

    The operation catches it and renders the original through the rest of the chain; the
    ``cutouts_ready`` receiver purges that stand-in when the cut-out lands. A ``SourceImageIOError``
    so that code calling the helpers directly meets the error Wagtail uses for unreadable files.
    """


class BgcutOperation(FilterOperation):
    """``bgcut-<preset>``: replace the image with its cached cut-out for that preset."""

    # A rendition made from one file's bytes must never answer for another's.
    vary_fields = ("file", "file_hash")

    def construct(self, *name_parts: str) -> None:
        # Wagtail splits the spec on "-", so "bgcut-my-preset" arrives as ("my", "preset").
        if not name_parts or not all(name_parts):
            raise ValueError(_("bgcut- needs a preset name, e.g. bgcut-thumbnail"))
        self.preset = "-".join(name_parts)
        try:
            self.variant = get_preset(self.preset)
        except UnknownPreset as exc:
            raise ValueError(str(exc)) from exc

    def run(self, willow: Any, image: Any, env: dict[str, Any]) -> Any:
        if env.get("original-format") == "svg":
            raise InvalidFilterSpecError(
                _("bgcut- operations need a raster image; %(name)s is an SVG.")
                % {"name": getattr(image, "filename", image)}
            )
        try:
            cut = _open_cutout(_ready_cutout(image, self.preset))
        except CutoutNotReady:
            return willow  # the original through the chain until the cut-out is made
        running = _running_filter(self)
        if running is not None:
            geometry = _CutoutGeometry(
                image, cut.get_size(), keeps_geometry=not self.variant.autocrop
            )
            transform = running.get_transform(geometry, cut.get_size())
            cut = cut.crop(transform.get_rect().round())
            cut = cut.resize(transform.size)
        else:
            cut = _fit_inside(cut, willow.get_size())
        if "output-format" not in env:
            # Wagtail would keep the original's format (JPEG for photos), losing the alpha channel.
            # A format-* operation earlier in the chain set env already; a later one overrides this.
            env["output-format"] = output_format(self.variant, has_alpha=cut.has_alpha())
        return cut


def output_format(variant: Any, *, has_alpha: bool) -> str:
    """The format a ``bgcut-`` rendition is saved in when its chain names none.

    The cut-out's own format (PNG while it has transparency, else the preset's), then the site's
    ``WAGTAILIMAGES_FORMAT_CONVERSIONS`` looked up by that format, as Wagtail looks up the
    original's. A conversion to a format without alpha (JPEG) is not applied to a transparent
    cut-out: a site-wide rule written for photos must not flatten it; ``format-jpeg`` in the chain
    still does.
    """
    natural = "png" if has_alpha else _WAGTAIL_FORMATS[variant.format]
    conversions = getattr(settings, "WAGTAILIMAGES_FORMAT_CONVERSIONS", None) or {}
    target = conversions.get(natural, natural)
    if not isinstance(target, str) or target not in FormatOperation.supported_formats:
        return natural
    if has_alpha and target not in _ALPHA_FORMATS:
        return natural
    return target


def _ready_cutout(image: Any, preset: str) -> Any:
    cutout = resolve_cutout(image, preset)
    if cutout is None or not cutout.ready:
        status = cutout.status if cutout is not None else "missing"
        raise CutoutNotReady(
            f"The {preset!r} cut-out of image {getattr(image, 'pk', '?')} is not ready "
            f"({status}); no rendition was saved."
        )
    return cutout


def _open_cutout(cutout: Any) -> Any:
    """The cut-out file as a Willow ``PillowImage`` (RGBA when it has transparency)."""
    try:
        with cutout.file.storage.open(cutout.file.name, "rb") as fh:
            data = fh.read()
        picture = PILImage.open(io.BytesIO(data))
        picture.load()
    except (OSError, ValueError) as exc:
        raise CutoutNotReady(
            f"The cut-out file {cutout.file.name!r} cannot be read: {exc}"
        ) from exc
    if picture.mode not in ("RGB", "RGBA"):
        has_alpha = picture.mode in ("LA", "RGBa", "PA") or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    return PillowImage(picture)


def _running_filter(operation: BgcutOperation) -> Filter | None:
    """The ``Filter`` whose ``run()`` called us: checked by identity, never guessed."""
    frame = sys._getframe(2)  # 0: here, 1: BgcutOperation.run, 2: its caller (Filter.run)
    for _depth in range(4):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Filter):
            operations = candidate.__dict__.get("operations", ())
            if any(op is operation for op in operations):
                return candidate
        frame = frame.f_back
    return None


class _CutoutGeometry:
    """The image as the chain's transform operations should see it: the cut-out's size.

    The focal point is scaled into the cut-out when the cut-out has the original's framing; an
    autocropped cut-out has other framing, so its transforms centre on the subject instead.
    """

    def __init__(self, image: Any, size: tuple[int, int], *, keeps_geometry: bool):
        self._image = image
        self.width, self.height = size
        self._keeps_geometry = keeps_geometry

    def get_focal_point(self) -> Rect | None:
        focal = self._image.get_focal_point() if self._keeps_geometry else None
        if focal is None or not self._image.width or not self._image.height:
            return None
        sx = self.width / self._image.width
        sy = self.height / self._image.height
        return Rect(focal.left * sx, focal.top * sy, focal.right * sx, focal.bottom * sy)

    def is_svg(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._image, name)


def _fit_inside(cut: Any, size: tuple[int, int]) -> Any:
    width, height = cut.get_size()
    scale = min(size[0] / width, size[1] / height, 1.0)
    if scale >= 1.0:
        return cut
    return cut.resize((max(1, round(width * scale)), max(1, round(height * scale))))


def _uses_bgcut(spec: str, presets: set[str] | None) -> bool:
    """Whether a filter spec has a ``bgcut-`` operation (for one of ``presets``, if given)."""
    prefix = f"{OPERATION_NAME}-"
    for part in spec.split("|"):
        if part.startswith(prefix) and (presets is None or part[len(prefix) :] in presets):
            return True
    return False


def _images_of(source: Any) -> list[Any]:
    """The Wagtail images behind a source: an image, a FieldFile of one, or an iterable of them."""
    if source is None:
        return []
    if isinstance(source, FieldFile):
        instance = getattr(source, "instance", None)
        return [instance] if hasattr(instance, "get_rendition_model") else []
    if hasattr(source, "get_rendition_model"):
        return [source]
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        return [image for item in source for image in _images_of(item)]
    return []


def purge_bgcut_renditions(source: Any, presets: Iterable[str] | None = None) -> int:
    """Delete the ``bgcut-`` renditions of an image (or images); returns how many went.

    Other renditions are untouched. ``presets`` limits it to chains using those presets. Wagtail's
    delete signals remove the files and the rendition cache entries. Anything that is not a Wagtail
    image (a plain FieldFile) has no renditions: 0.
    """
    images = [image for image in _images_of(source) if image.pk is not None]
    if not images:
        return 0
    wanted = set(presets) if presets is not None else None
    deleted = 0
    by_model: dict[type, list[Any]] = {}
    for image in images:
        by_model.setdefault(image.get_rendition_model(), []).append(image.pk)
    for rendition_model, pks in by_model.items():
        # A cheap SQL prefilter, then the exact test on the parsed spec.
        candidates = rendition_model.objects.filter(
            image_id__in=pks, filter_spec__contains=f"{OPERATION_NAME}-"
        )
        for rendition in candidates:
            if _uses_bgcut(rendition.filter_spec, wanted):
                # One by one so Wagtail's post_delete handlers drop the file and the cache entry.
                rendition.delete()
                deleted += 1
    for image in images:
        _forget_on_instance(image, wanted)
    return deleted


def _forget_on_instance(image: Any, presets: set[str] | None) -> None:
    """Drop purged renditions and remembered cut-outs from an instance that is still in use."""
    prefetched = getattr(image, "prefetched_renditions", None)
    if isinstance(prefetched, list):
        image.prefetched_renditions = [
            r for r in prefetched if not _uses_bgcut(r.filter_spec, presets)
        ]
    cache = getattr(image, "_prefetched_objects_cache", None)
    if isinstance(cache, dict):
        cache.pop("renditions", None)
    forget_cutouts(image)
