"""``BackgroundRemovedImageField``: a model field that holds the cut-out of another image field.

::

    class Product(models.Model):
        photo = models.ImageField(upload_to="products")
        cutout = BackgroundRemovedImageField(source="photo", preset="full", blank=True)

The field stores the name of the cut-out file in the cut-out storage (``WAGTAIL_BGCUT['STORAGE']``).
When the source's bytes change (new row, or a new file in ``photo``) the field's preset is
requested, and :func:`fill_fields`, a receiver of the core's ``cutouts_ready`` signal, writes the
name once the cut-out is made in the background; until then it is empty. Saving without touching
``photo`` (or with ``update_fields`` that leave it out, or loading fixtures, ``raw``) does nothing.
The original is never modified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core import checks
from django.db import models

from .backends.base import get_backend
from .conf import bgcut_settings
from .file_changes import FileChange, watch_file_field
from .models import Cutout, SourceFile, get_cutout_storage
from .presets import cutout_options_key, get_preset
from .source_hashes import storage_key
from .tasks import request_cutouts

logger = logging.getLogger("wagtail_bgcut")

__all__ = ["BackgroundRemovedImageField", "fill_fields_for_hash", "registered_fields"]

_FIELDS: list[BackgroundRemovedImageField] = []


def registered_fields() -> list[BackgroundRemovedImageField]:
    """Every cut-out field on a concrete model, in definition order."""
    return list(_FIELDS)


def _name_of(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else (getattr(value, "name", "") or "")


class BackgroundRemovedImageField(models.ImageField):
    """An ``ImageField`` filled with the cut-out of the image in ``source`` (``preset`` options)."""

    description = "Background-removed copy of another image field"

    def __init__(
        self,
        verbose_name: str | None = None,
        name: str | None = None,
        *,
        source: str,
        preset: str = "full",
        **kwargs: Any,
    ):
        if not source or not isinstance(source, str):
            raise TypeError("BackgroundRemovedImageField needs source='<name of an image field>'.")
        self.source = source
        self.preset = preset
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs["storage"] = get_cutout_storage
        kwargs.setdefault("upload_to", _field_upload_to)
        super().__init__(verbose_name, name, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        path = "wagtail_bgcut.fields.BackgroundRemovedImageField"
        kwargs["source"] = self.source
        kwargs["preset"] = self.preset
        kwargs.pop("storage", None)
        if kwargs.get("upload_to") is _field_upload_to:
            kwargs.pop("upload_to")
        if kwargs.get("max_length") == 255:
            kwargs.pop("max_length")
        if kwargs.get("editable", True) is False:
            kwargs.pop("editable")
        kwargs.setdefault("blank", False)
        if kwargs["blank"] is True:
            kwargs.pop("blank")
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            source = self.model._meta.get_field(self.source)
        except Exception:
            source = None
        if not isinstance(source, models.FileField):
            errors.append(
                checks.Error(
                    f"source={self.source!r} is not a file or image field on "
                    f"{self.model._meta.label}.",
                    obj=self,
                    id="wagtail_bgcut.E009",
                )
            )
        return errors

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        if cls._meta.abstract or getattr(cls._meta, "proxy", False):
            return
        _FIELDS.append(self)
        watch_file_field(cls, self.source, _RefillCutoutFields(self.source))


@dataclass(frozen=True)
class _RefillCutoutFields:
    """Listener for a source field's file changes: every cut-out field of that source at once.

    Frozen (compared by value) so the second cut-out field of one source adds no second listener:
    all of them are served by one request, and so by one backend call.
    """

    source: str

    def __call__(self, instance: models.Model, change: FileChange) -> None:
        fields = [f for f in _FIELDS if f.model is type(instance) and f.source == self.source]
        if fields:
            _refill(instance, getattr(instance, self.source), fields)


def _refill(instance, fieldfile, fields: list[BackgroundRemovedImageField]) -> None:
    """Queue the presets of ``fields`` for the new source in one request; fill what is ready."""
    manager = type(instance)._default_manager
    values: dict[str, str] = {}
    if fieldfile:
        rows = request_cutouts(fieldfile, [f.preset for f in fields], rehash=True)
        for f, row in zip(fields, rows, strict=True):
            # Re-read: with an immediate task backend the work may already be done.
            row.refresh_from_db()
            values[f.attname] = row.file.name if row.ready else ""
    else:
        values = {f.attname: "" for f in fields}
    changed = {k: v for k, v in values.items() if _name_of(getattr(instance, k)) != v}
    if changed:
        manager.filter(pk=instance.pk).update(**changed)
        for key, value in changed.items():
            setattr(instance, key, value)


def _field_upload_to(instance, filename: str) -> str:
    # Never used to write (the pipeline writes cut-out files); kept so the field validates.
    return f"{bgcut_settings.UPLOAD_TO.strip('/')}/{filename}"


def fill_fields(sender: Any, *, source_hash: str, **kwargs: Any) -> None:
    """Receiver of :data:`~wagtail_bgcut.signals.cutouts_ready` (connected in ``ready()``)."""
    fill_fields_for_hash(source_hash)


def fill_fields_for_hash(source_hash: str) -> int:
    """Write finished cut-outs of these bytes into every cut-out field whose source has them.

    Uses ``QuerySet.update`` so no save signal (and no loop) is triggered. Returns rows updated.
    """
    if not _FIELDS:
        return 0
    known = list(SourceFile.objects.filter(sha256=source_hash).values_list("storage_key", "name"))
    if not known:
        return 0
    backend = get_backend()
    updated = 0
    for field in _FIELDS:
        source = field.model._meta.get_field(field.source)
        wanted_key = storage_key(source.storage)
        names = [name for key, name in known if key == wanted_key]
        if not names:
            continue
        options_key = cutout_options_key(get_preset(field.preset), backend)
        cutout = Cutout.objects.filter(
            source_hash=source_hash, options_key=options_key, status=Cutout.Status.DONE
        ).first()
        if cutout is None or not cutout.file:
            continue
        updated += (
            field.model._default_manager.filter(**{f"{source.attname}__in": names})
            .exclude(**{field.attname: cutout.file.name})
            .update(**{field.attname: cutout.file.name})
        )
    return updated
