"""Telling that a model's stored file changed: one helper for Wagtail images and cut-out fields.

Django never overwrites a stored file, so new bytes arrive under a new name. The helper remembers
the stored name at ``post_init``, compares it at ``post_save`` and calls the listeners only when
the file really changed (a new row, a new name, or, for Wagtail images, a new ``file_hash``, which
the admin updates when a file is replaced under the same name). Once the transaction commits, the
old name's hash is forgotten, which frees its cut-outs when no other file has the same bytes; the
original file itself is never touched. ``raw`` saves (fixtures) and ``update_fields`` that leave
the file out do nothing, and a failing listener is logged without breaking the save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_init, post_save

from .pipeline import forget_source
from .source_fields import register_source_field
from .source_hashes import storage_key

__all__ = ["FileChange", "watch_file_field"]

logger = logging.getLogger("wagtail_bgcut")

_UNKNOWN = object()  # the field was deferred when the instance was loaded


@dataclass(frozen=True)
class FileChange:
    """What changed: ``old_name`` is ``None`` when the old name is not known (deferred field)."""

    created: bool
    old_name: str | None
    new_name: str

    @property
    def renamed(self) -> bool:
        return self.old_name != self.new_name


Listener = Callable[[models.Model, FileChange], None]


def _name_of(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else (getattr(value, "name", "") or "")


@dataclass(eq=False)
class _Watch:
    """The signal handlers for one ``model.field_name``, shared by all its listeners."""

    model: type[models.Model]
    field_name: str
    state_fields: list[str] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    @property
    def _memo(self) -> str:
        return f"_bgcut_file_state_{self.field_name}"

    def _state(self, instance: models.Model) -> Any:
        # Read from __dict__: getattr would load a deferred field with one query per instance.
        value = instance.__dict__.get(self.field_name, _UNKNOWN)
        if value is _UNKNOWN:
            return _UNKNOWN
        extra = tuple(instance.__dict__.get(name, "") for name in self.state_fields)
        return (_name_of(value), *extra)

    def remember(self, sender: Any, instance: models.Model, **kwargs: Any) -> None:
        instance.__dict__[self._memo] = self._state(instance)

    def saved(
        self,
        sender: Any,
        instance: models.Model,
        created: bool,
        raw: bool = False,
        update_fields: Any = None,
        **kwargs: Any,
    ) -> None:
        if raw or (update_fields is not None and self.field_name not in update_fields):
            return
        before = instance.__dict__.get(self._memo, _UNKNOWN)
        current = self._state(instance)
        instance.__dict__[self._memo] = current
        if current is _UNKNOWN or (not created and before == current):
            return  # deferred and never set, or nothing changed: a plain re-save
        change = FileChange(
            created=created,
            old_name=before[0] if isinstance(before, tuple) else None,
            new_name=current[0],
        )
        for listener in list(self.listeners):
            try:
                listener(instance, change)
            except Exception:
                # A bad file or a storage hiccup must not break saving the model; the reason is
                # logged and bgcut_process can backfill later.
                logger.exception(
                    "wagtail_bgcut: %r failed for %s %s",
                    listener,
                    self.model._meta.label,
                    instance.pk,
                )
        if change.old_name and change.renamed:
            self._forget_on_commit(instance, change.old_name)

    def deleted(self, sender: Any, instance: models.Model, **kwargs: Any) -> None:
        state = self._state(instance)
        name = state[0] if isinstance(state, tuple) else ""
        if name:
            self._forget_on_commit(instance, name)

    def _forget_on_commit(self, instance: models.Model, name: str) -> None:
        storage_id = storage_key(self.model._meta.get_field(self.field_name).storage)
        transaction.on_commit(lambda: forget_source(storage_id, name), robust=True)


_watches: dict[tuple[type[models.Model], str], _Watch] = {}


def watch_file_field(
    model: type[models.Model],
    field_name: str,
    listener: Listener,
    *,
    state_fields: Sequence[str] = (),
) -> None:
    """Call ``listener(instance, change)`` after a save that changed ``model.field_name``'s file.

    Also registers the field as a holder of originals (:mod:`.source_fields`). Idempotent: a
    listener equal to one already added is not added twice, and the model's signals are
    connected once per field whatever the number of listeners.
    """
    register_source_field(model, field_name)
    key = (model, field_name)
    watch = _watches.get(key)
    if watch is None:
        watch = _watches[key] = _Watch(model, field_name)
        uid = f"wagtail_bgcut:{model._meta.label}:{field_name}"
        post_init.connect(watch.remember, sender=model, weak=False, dispatch_uid=uid)
        post_save.connect(watch.saved, sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(watch.deleted, sender=model, weak=False, dispatch_uid=uid)
    for name in state_fields:
        if name not in watch.state_fields:
            watch.state_fields.append(name)
    if listener not in watch.listeners:
        watch.listeners.append(listener)
