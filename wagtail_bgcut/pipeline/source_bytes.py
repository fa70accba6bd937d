"""Finding a source's bytes again from a worker, which only has primary keys and hashes."""

from __future__ import annotations

import hashlib
import logging

from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from django.db.models.fields.files import FieldFile

from ..models import SourceFile

logger = logging.getLogger("wagtail_bgcut")

SourceRef = list[str]  # [app_label.ModelName, pk, field name]: JSON-friendly for task queues


def source_ref(fieldfile: FieldFile) -> SourceRef | None:
    """A reference to the model field holding a file, or None for a bare file."""
    instance = getattr(fieldfile, "instance", None)
    field = getattr(fieldfile, "field", None)
    if instance is None or field is None or instance.pk is None:
        return None
    return [instance._meta.label, str(instance.pk), field.name]


def fieldfile_from_ref(ref: SourceRef | None) -> FieldFile | None:
    """The FieldFile a :func:`source_ref` points at, or None if the row or model is gone."""
    if not ref:
        return None
    try:
        label, pk, field_name = ref
        model = apps.get_model(label)
    except (LookupError, ValueError, TypeError):
        return None
    instance = model._default_manager.filter(pk=pk).first()
    value = getattr(instance, field_name, None) if instance is not None else None
    return value if isinstance(value, FieldFile) and value else None


def _read(storage, name: str) -> bytes | None:
    try:
        with storage.open(name, "rb") as fh:
            return fh.read()
    except Exception as exc:  # OSError, or a storage's own error (botocore ClientError, ...)
        logger.info("wagtail_bgcut: cannot read source %s: %s", name, exc)
        return None


def bytes_for_hash(source_hash: str, ref: SourceRef | None = None) -> bytes | None:
    """The bytes with this SHA-256, from the referenced field or any known file that has them."""
    candidates = []
    fieldfile = fieldfile_from_ref(ref)
    if fieldfile is not None:
        candidates.append((fieldfile.storage, fieldfile.name))
    aliases = getattr(settings, "STORAGES", {})
    for storage_key, name in (
        SourceFile.objects.filter(sha256=source_hash)
        .order_by("-id")
        .values_list("storage_key", "name")
    ):
        if storage_key in aliases:
            candidates.append((storages[storage_key], name))
    for storage, name in candidates:
        data = _read(storage, name)
        if data is not None and hashlib.sha256(data).hexdigest() == source_hash:
            return data
    return None
