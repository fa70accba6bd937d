"""Which model fields hold original files: the registry the core asks before freeing cut-outs.

Cut-outs are shared by every file with the same bytes, so they may only be freed when no field
anywhere still stores a file name that has them. The core cannot know which models those are
without reaching up into Wagtail or into user models, so the layers above register them here:
Wagtail glue registers every image model's ``file`` in ``AppConfig.ready()``, and each
``BackgroundRemovedImageField`` registers its ``source`` when its model class is built.

A name may also be kept by something that is not a field: an original replaced by its cut-out is
still the file "Restore original" brings back, so its paid cut-outs must survive. Such holders
register a *keeper* (:func:`register_name_keeper`), a callable asked with the name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import models

__all__ = ["name_in_use", "register_name_keeper", "register_source_field", "source_fields"]

_fields: list[tuple[type[models.Model], str]] = []
_keepers: list[Callable[[str], bool]] = []
_lock = threading.Lock()


def register_source_field(model: type[models.Model], field_name: str) -> None:
    """Record that ``model.field_name`` stores original files (idempotent)."""
    with _lock:
        if (model, field_name) not in _fields:
            _fields.append((model, field_name))


def source_fields() -> list[tuple[type[models.Model], str]]:
    """Every registered ``(model, file field name)``, in registration order."""
    return list(_fields)


def register_name_keeper(keeper: Callable[[str], bool]) -> None:
    """Record a callable telling whether a name is still kept although no field stores it."""
    with _lock:
        if keeper not in _keepers:
            _keepers.append(keeper)


def name_in_use(name: str) -> bool:
    """Whether any registered field still stores a file under this name, or a keeper keeps it."""
    return any(
        model._default_manager.filter(**{field: name}).exists() for model, field in source_fields()
    ) or any(keeper(name) for keeper in list(_keepers))
