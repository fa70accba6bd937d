"""Signal handlers: an image's file changed, so its AUTO_PROCESS presets are (re)queued.

Connected for every concrete Wagtail image model (``get_image_model()`` and any other subclass of
``AbstractImage``). Work happens only when the file itself changed: a new image, or a new file name
(Django never overwrites a stored file, so new bytes mean a new name). ``raw`` saves (fixtures) and
``update_fields`` without ``file`` do nothing. Deleting or replacing an image forgets the old
file's hash and frees its cut-outs when no other file has the same bytes; the original file itself
is never touched by this app.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

logger = logging.getLogger("wagtail_bgcut")

_LOADED = "_bgcut_loaded_file_name"
_UNKNOWN = object()


def _file_name(instance) -> object:
    value = instance.__dict__.get("file", _UNKNOWN)
    if value is _UNKNOWN:
        return _UNKNOWN
    if not value:
        return ""
    return value if isinstance(value, str) else (getattr(value, "name", "") or "")


def _file_state(instance) -> object:
    """The stored file name plus Wagtail's content hash (``file_hash``, updated by the admin when a
    file is replaced), so a file overwritten under the same name still counts as changed."""
    name = _file_name(instance)
    if name is _UNKNOWN:
        return _UNKNOWN
    return (name, instance.__dict__.get("file_hash", ""))


def remember_file(sender, instance, **kwargs) -> None:
    """post_init: note the stored file, to tell a new file from a plain re-save."""
    instance.__dict__[_LOADED] = _file_state(instance)


def _changed(before, current) -> bool:
    if before is _UNKNOWN or current is _UNKNOWN:
        return before is not current  # deferred on load and set since: treat as changed
    # Name or Wagtail's file_hash differ. A hash filled in lazily for the same bytes costs one
    # read of the file and finds nothing to do.
    return before != current


def image_saved(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    """post_save: queue AUTO_PROCESS presets when the image's bytes may have changed."""
    if raw:
        return
    if update_fields is not None and "file" not in update_fields:
        return
    before = instance.__dict__.get(_LOADED, _UNKNOWN)
    current = _file_state(instance)
    instance.__dict__[_LOADED] = current
    if not created and not _changed(before, current):
        return
    try:
        _file_changed(instance, before, created=created)
    except Exception:
        # A bad file or a storage hiccup must not break saving the image; the reason is logged
        # and bgcut_process can backfill later.
        logger.exception("wagtail_bgcut: could not queue cut-outs for image %s", instance.pk)


def _file_changed(instance, before, *, created: bool) -> None:
    from .conf import bgcut_settings
    from .models import SourceFile
    from .pipeline import purge_renditions, rehash_source, request_cutouts
    from .sources import name_key, storage_key

    presets = list(bgcut_settings.AUTO_PROCESS or [])
    old_name = before[0] if isinstance(before, tuple) else None
    renamed = old_name != _file_name(instance)
    known = SourceFile.objects.filter(name_key=name_key(instance.file)) if instance.file else None
    old_sha = known.values_list("sha256", flat=True).first() if known is not None else None
    if instance.file:
        if presets:
            request_cutouts(instance, presets, rehash=True)
        elif old_sha:
            rehash_source(instance.file)  # renders must not find the old bytes' cut-outs
    new_sha = known.values_list("sha256", flat=True).first() if known is not None else None
    if not created and (renamed or old_sha != new_sha):
        purge_renditions(instance)
    if old_name and renamed:
        _forget_on_commit(storage_key(instance.file), old_name)


def image_deleted(sender, instance, **kwargs) -> None:
    """post_delete: forget the file's hash and free its cut-outs if nothing else has the bytes."""
    from .sources import storage_key

    name = _file_name(instance)
    if isinstance(name, str) and name:
        _forget_on_commit(storage_key(instance.file), name)


def _forget_on_commit(storage_id: str, name: str) -> None:
    from .pipeline import forget_source

    transaction.on_commit(lambda: forget_source(storage_id, name), robust=True)


def image_models() -> list[type]:
    """Every concrete Wagtail image model (custom ones included)."""
    from django.apps import apps
    from wagtail.images.models import AbstractImage

    return [
        m
        for m in apps.get_models()
        if issubclass(m, AbstractImage) and not m._meta.abstract and not m._meta.proxy
    ]


def register_signal_handlers() -> None:
    """Connect the handlers; called once from ``AppConfig.ready()``."""
    try:
        models = image_models()
    except ImportError:  # Wagtail not installed: plain Django fields still work
        return
    for model in models:
        uid = f"wagtail_bgcut:image:{model._meta.label}"
        post_init.connect(remember_file, sender=model, dispatch_uid=uid)
        post_save.connect(image_saved, sender=model, dispatch_uid=uid)
        post_delete.connect(image_deleted, sender=model, dispatch_uid=uid)
