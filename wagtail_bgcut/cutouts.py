"""Finding an image's cached cut-outs for a render, without touching its files.

``get_cutout(image_or_fieldfile, "thumbnail")`` answers with a :class:`CutoutResult` (url, width,
height, ready). Lookups go through the ``SourceFile`` table (stored name -> bytes hash) and the
``Cutout`` table in ONE joined query, so a render never opens, hashes or ``exists()``-checks a file:
URLs come from ``storage.url(name)`` alone, which is pure string work even on S3.

``prefetch_cutouts(images, presets)`` does that one query for a whole listing and leaves the answers
on each instance, where ``get_cutout`` and the ``{% bgcut %}`` tag find them (the idea of Wagtail's
``prefetch_renditions``).

When a cut-out is not ready the result falls back to the original file's URL and size, and the
work is queued with :func:`wagtail_bgcut.tasks.request_cutouts` (never waited on) - or, with
``WAGTAIL_BGCUT['PROCESS_ON_RENDER']``, made on the spot with ``pipeline.process_now``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models.fields.files import FieldFile
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

from .backends.base import get_backend
from .conf import bgcut_settings
from .models import Cutout, SourceFile
from .pipeline import process_now
from .presets import cutout_options_key, get_preset
from .source_hashes import name_key, source_fieldfile
from .tasks import request_cutouts
from .variants import Variant

__all__ = [
    "CutoutResult",
    "forget_cutouts",
    "get_cutout",
    "prefetch_cutouts",
    "resolve_cutout",
]

logger = logging.getLogger(__name__)

# Where looked-up cut-outs are remembered: on the model instance that owns the file (the Wagtail
# image itself for images), keyed by (field, stored name, options key). A changed file has a new
# name, so an entry can never answer for other bytes.
_CACHE_ATTR = "_bgcut_cutouts"
# Name keys per query: well under SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500

_options_keys: dict[tuple[Variant, str], str] = {}
_options_keys_lock = threading.Lock()


@dataclass(frozen=True)
class CutoutResult:
    """What a template needs to show a cut-out, or the original while it is not ready.

    ``url``/``width``/``height`` describe the cut-out when ``ready`` is true and the original file
    otherwise (``width``/``height`` are ``None`` when the original's size is not known without
    reading it). ``cutout`` is the :class:`~wagtail_bgcut.models.Cutout` row, if any. Rendering the
    object (``{{ cut }}``) gives the ``<img>`` tag.
    """

    url: str
    width: int | None
    height: int | None
    ready: bool
    cutout: Cutout | None = None
    preset: str = ""
    alt: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def attrs_dict(self) -> dict[str, Any]:
        """``src``, ``width``, ``height``, ``alt``, then extra attributes (which may override)."""
        attrs: dict[str, Any] = {
            "src": self.url,
            "width": self.width,
            "height": self.height,
            "alt": self.alt,
        }
        attrs.update(self.attributes)
        return attrs

    @property
    def attrs(self) -> SafeString:
        """The attributes as escaped HTML (``src="..." width="..." ...``), for hand-written tags."""
        return flatatt(self.attrs_dict)

    def img_tag(self, extra_attributes: Mapping[str, Any] | None = None) -> SafeString:
        """An ``<img>`` tag; ``None`` values are left out, everything else is escaped."""
        attrs = self.attrs_dict
        if extra_attributes:
            attrs.update(extra_attributes)
        if not attrs.get("src"):
            return mark_safe("")
        return mark_safe(f"<img{flatatt(attrs)}>")  # noqa: S308 - flatatt escapes every value

    def __html__(self) -> str:
        return self.img_tag()

    def __str__(self) -> str:
        return self.img_tag()

    def __bool__(self) -> bool:
        return bool(self.url)


def options_key_for(variant: Variant) -> str:
    """``Cutout.options_key`` for a variant made by the configured backend (memoised: hot path)."""
    engine_id = get_backend().engine_id
    key = (variant, engine_id)
    cached = _options_keys.get(key)
    if cached is None:
        cached = cutout_options_key(variant, engine_id)
        with _options_keys_lock:
            if len(_options_keys) > 1024:  # presets registered in a loop must not grow this forever
                _options_keys.clear()
            _options_keys[key] = cached
    return cached


def _fetch(name_keys: Iterable[str], options_keys: Iterable[str]) -> dict[str, dict[str, Cutout]]:
    """``{name_key: {options_key: Cutout}}`` for every row there is, one query per 500 files.

    One INNER JOIN of the name table to the cut-out table: the ORM cannot join two models that have
    no relation, and two separate queries would double the cost of every listing. Table and column
    names come from the models' metadata and are quoted; every value is a bound parameter.
    """
    keys = sorted(set(name_keys))
    okeys = sorted(set(options_keys))
    found: dict[str, dict[str, Cutout]] = {}
    if not keys or not okeys:
        return found
    db = Cutout.objects.db
    qn = connections[db].ops.quote_name
    cutout_table = qn(Cutout._meta.db_table)
    source_table = qn(SourceFile._meta.db_table)
    okey_marks = ", ".join(["%s"] * len(okeys))
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        sql = (
            f"SELECT c.*, s.{qn('name_key')} AS bgcut_name_key "  # noqa: S608 - quoted identifiers
            f"FROM {cutout_table} c INNER JOIN {source_table} s "
            f"ON s.{qn('sha256')} = c.{qn('source_hash')} "
            f"WHERE s.{qn('name_key')} IN ({marks}) AND c.{qn('options_key')} IN ({okey_marks})"
        )
        for cutout in Cutout.objects.raw(sql, [*chunk, *okeys]):
            found.setdefault(cutout.bgcut_name_key, {})[cutout.options_key] = cutout
    return found


def _cache_for(fieldfile: FieldFile) -> dict[tuple[str, str, str], Cutout | None]:
    owner = getattr(fieldfile, "instance", None)
    holder = owner if owner is not None else fieldfile
    try:
        return holder.__dict__.setdefault(_CACHE_ATTR, {})
    except AttributeError:  # an object without __dict__: nowhere to remember, so nothing is
        return {}


def _cache_key(fieldfile: FieldFile, options_key: str) -> tuple[str, str, str]:
    field_obj = getattr(fieldfile, "field", None)
    return (getattr(field_obj, "attname", ""), fieldfile.name, options_key)


def forget_cutouts(source: Any) -> None:
    """Drop what ``prefetch_cutouts``/``get_cutout`` remembered on an instance (after a change)."""
    try:
        fieldfile = source_fieldfile(source)
    except TypeError:
        return
    owner = getattr(fieldfile, "instance", None)
    holder = owner if owner is not None else fieldfile
    getattr(holder, "__dict__", {}).pop(_CACHE_ATTR, None)


def prefetch_cutouts(sources: Iterable[Any], presets: str | Iterable[str]) -> list[Any]:
    """Look up the cut-outs of many images (or FieldFiles) for some presets in one query.

    The answers are stored on the instances, so ``get_cutout`` and ``{% bgcut %}`` then cost no
    query for them. ``None`` items and empty files are skipped. Returns the sources as a list
    (evaluate a queryset once and render that list). Raises ``UnknownPreset`` for a bad name.
    """
    names = [presets] if isinstance(presets, str) else list(presets)
    okeys = [options_key_for(get_preset(name)) for name in names]
    items = list(sources)
    fieldfiles = [source_fieldfile(item) for item in items if item is not None]
    fieldfiles = [ff for ff in fieldfiles if ff]
    keyed = [(ff, name_key(ff)) for ff in fieldfiles]
    found = _fetch((key for _, key in keyed), okeys)
    for ff, key in keyed:
        cache = _cache_for(ff)
        rows = found.get(key, {})
        for okey in okeys:
            cache[_cache_key(ff, okey)] = rows.get(okey)
    return items


def _lookup(fieldfile: FieldFile, options_key: str) -> Cutout | None:
    cache = _cache_for(fieldfile)
    key = _cache_key(fieldfile, options_key)
    if key in cache:
        return cache[key]
    own_key = name_key(fieldfile)
    result = _fetch([own_key], [options_key]).get(own_key, {}).get(options_key)
    cache[key] = result
    return result


def _request(source: Any, preset: str, options_key: str, cutout: Cutout | None) -> Cutout | None:
    """Ask the pipeline for a missing cut-out: queue it, or make it now with PROCESS_ON_RENDER.

    A failed cut-out is not retried from a page view (``bgcut_process --failed`` does that), and a
    pending one is already queued, so neither costs anything here unless PROCESS_ON_RENDER is on.
    """
    process_on_render = bool(bgcut_settings.PROCESS_ON_RENDER)
    if cutout is not None:
        if cutout.status == Cutout.Status.FAILED:
            return cutout
        if not process_on_render:
            return cutout
    try:
        if process_on_render:
            rows = process_now(source, [preset])
        else:
            rows = request_cutouts(source, [preset])
    except OSError as exc:
        # The original cannot be read (deleted, storage down): the page shows what it can, as
        # Wagtail does for a missing file, and the reason is logged.
        logger.warning(
            "wagtail_bgcut: cannot request the %r cut-out of %s: %s",
            preset,
            getattr(source_fieldfile(source), "name", source),
            exc,
        )
        return cutout
    row = next((r for r in rows if r.options_key == options_key), None)
    if row is not None and not row.ready and not process_on_render:
        # With an in-process task backend (django-tasks' ImmediateBackend) the work has already run
        # by now, on another instance of the row: one query tells us.
        row = Cutout.objects.filter(pk=row.pk).first() or row
    return row if row is not None else cutout


def resolve_cutout(source: Any, preset: str, *, request: bool = True) -> Cutout | None:
    """The ``Cutout`` row of ``source`` for ``preset`` (any status), or ``None``.

    With ``request`` (the default) a missing cut-out is queued (or processed, with
    PROCESS_ON_RENDER) before answering. Raises ``UnknownPreset`` for an unknown preset name.
    """
    variant = get_preset(preset)
    fieldfile = source_fieldfile(source)
    if not fieldfile:
        return None
    okey = options_key_for(variant)
    cutout = _lookup(fieldfile, okey)
    if request and (cutout is None or not cutout.ready):
        cutout = _request(source, preset, okey, cutout)
        _cache_for(fieldfile)[_cache_key(fieldfile, okey)] = cutout
    return cutout


def _original_size(source: Any, fieldfile: FieldFile) -> tuple[int | None, int | None]:
    """The original's size from database columns only; reading the file would cost a request."""
    if not isinstance(source, FieldFile):
        width, height = getattr(source, "width", None), getattr(source, "height", None)
        if isinstance(width, int) and isinstance(height, int):
            return width, height
    dims = getattr(fieldfile, "_dimensions_cache", None)
    if dims:
        return dims[0], dims[1]
    field_obj = getattr(fieldfile, "field", None)
    instance = getattr(fieldfile, "instance", None)
    width_field = getattr(field_obj, "width_field", None)
    height_field = getattr(field_obj, "height_field", None)
    if instance is not None and width_field and height_field:
        return getattr(instance, width_field, None), getattr(instance, height_field, None)
    return None, None


def default_alt(source: Any) -> str:
    """Alt text as Wagtail's ``{% image %}`` gives it: contextual, else description, else title."""
    if isinstance(source, FieldFile):
        return ""
    if getattr(source, "decorative", False):
        return ""
    contextual = getattr(source, "contextual_alt_text", None)
    if contextual:
        return str(contextual)
    default = getattr(source, "default_alt_text", None)
    if default is None:
        default = getattr(source, "title", "")
    return str(default or "")


def get_cutout(source: Any, preset: str, *, request: bool = True) -> CutoutResult:
    """The cut-out of a Wagtail image or Django FieldFile for a preset, ready or not.

    When it is not ready the result carries the ORIGINAL file's url and size and ``ready=False``;
    the cut-out is queued (``request=False`` skips that). Raises
    :class:`~wagtail_bgcut.exceptions.UnknownPreset` for a preset that does not exist and
    ``TypeError`` for something that is neither an image nor a FieldFile.
    """
    cutout = resolve_cutout(source, preset, request=request)
    fieldfile = source_fieldfile(source)
    alt = default_alt(source)
    if cutout is not None and cutout.ready:
        return CutoutResult(
            url=cutout.file.url,
            width=cutout.width,
            height=cutout.height,
            ready=True,
            cutout=cutout,
            preset=preset,
            alt=alt,
        )
    if not fieldfile:
        return CutoutResult(
            url="", width=None, height=None, ready=False, cutout=cutout, preset=preset, alt=alt
        )
    width, height = _original_size(source, fieldfile)
    return CutoutResult(
        url=fieldfile.url,
        width=width,
        height=height,
        ready=False,
        cutout=cutout,
        preset=preset,
        alt=alt,
    )
