"""Which bytes a stored file holds: a source's SHA-256, remembered under its stored name.

A source is a Wagtail image (anything with a ``.file`` FieldFile, custom image models included)
or a Django ``FieldFile``/``ImageFieldFile``. Cut-outs are keyed by the SHA-256 of the source's
bytes; the ``SourceFile`` table remembers that hash under the file's stored name, so a page can
find a cut-out with one query and never opens the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.utils.functional import LazyObject, empty

from .models import SourceFile, source_name_key

__all__ = [
    "hash_source",
    "lookup_source_hashes",
    "name_key",
    "read_source",
    "source_fieldfile",
    "storage_key",
]

_CHUNK = 1024 * 1024


def _unwrap(storage: Any) -> Any:
    """``default_storage`` is a LazyObject around ``storages["default"]``: compare the real one."""
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def storage_key(fieldfile: FieldFile | Storage) -> str:
    """A stable identifier of the storage holding ``fieldfile`` (or of a storage itself).

    The ``STORAGES`` alias when the storage is one of them (so moving MEDIA_ROOT keeps cache hits),
    otherwise the class path plus its location or bucket, so two differently configured instances of
    one class never share hashes.
    """
    storage = _unwrap(fieldfile.storage if isinstance(fieldfile, FieldFile) else fieldfile)
    for alias in getattr(settings, "STORAGES", {}):
        try:
            candidate = storages[alias]
        except Exception:  # noqa: S112 - a broken alias is reported by Django, not here
            continue
        if candidate is storage:
            return alias
    cls = type(storage)
    where = (
        getattr(storage, "bucket_name", None)
        or getattr(storage, "location", None)
        or getattr(storage, "base_location", None)
        or ""
    )
    return f"{cls.__module__}.{cls.__qualname__}:{where}"[:200]


def source_fieldfile(obj: Any) -> FieldFile:
    """The FieldFile behind a source: an image's ``.file``, or the FieldFile itself."""
    if isinstance(obj, FieldFile):
        return obj
    fieldfile = getattr(obj, "file", None)
    if isinstance(fieldfile, FieldFile):
        return fieldfile
    raise TypeError(
        f"Expected a Wagtail image or a Django FieldFile, got {type(obj).__name__}; "
        "pass image.file or an ImageField's value."
    )


def name_key(fieldfile: FieldFile) -> str:
    """The ``SourceFile.name_key`` of a FieldFile (no I/O)."""
    return source_name_key(storage_key(fieldfile), fieldfile.name)


def lookup_source_hashes(fieldfiles: Iterable[FieldFile]) -> dict[str, str]:
    """``{name_key: sha256}`` for the files already hashed, in ONE query and no file reads.

    Empty FieldFiles are skipped; files never hashed are absent from the result.
    """
    keys = {name_key(f) for f in fieldfiles if f}
    if not keys:
        return {}
    return dict(SourceFile.objects.filter(name_key__in=keys).values_list("name_key", "sha256"))


def read_source(fieldfile: FieldFile) -> tuple[SourceFile, bytes]:
    """Read the file once: its bytes and its (created if needed) ``SourceFile`` row.

    Opens the file through its storage without touching the FieldFile's own state, and never
    writes to it: originals are read-only for this app.
    """
    if not fieldfile:
        raise ValueError("The source has no file.")
    storage_id = storage_key(fieldfile)
    with fieldfile.storage.open(fieldfile.name, "rb") as fh:
        data = fh.read()
    digest = hashlib.sha256(data).hexdigest()
    key = source_name_key(storage_id, fieldfile.name)
    width = height = None
    instance = getattr(fieldfile, "instance", None)
    if instance is not None:
        width = getattr(instance, "width", None)
        height = getattr(instance, "height", None)
        if not isinstance(width, int) or not isinstance(height, int):
            width = height = None
    defaults = {
        "storage_key": storage_id,
        "name": fieldfile.name,
        "sha256": digest,
        "size": len(data),
        "width": width,
        "height": height,
    }
    row = SourceFile.objects.filter(name_key=key).first()
    if row is None:
        try:
            with transaction.atomic():
                row = SourceFile.objects.create(name_key=key, **defaults)
        except IntegrityError:
            row = SourceFile.objects.get(name_key=key)
    if row.sha256 != digest:
        # The storage overwrote a file in place (Django never does; some storages can be set to).
        # The bytes win: the row follows them so renders never show a stale cut-out.
        SourceFile.objects.filter(pk=row.pk).update(sha256=digest, size=len(data))
        row.sha256, row.size = digest, len(data)
    return row, data


def hash_source(fieldfile: FieldFile) -> SourceFile:
    """The ``SourceFile`` row for a file; its bytes are read (once) only if it was never hashed."""
    row = SourceFile.objects.filter(name_key=name_key(fieldfile)).first()
    if row is not None:
        return row
    return read_source(fieldfile)[0]
