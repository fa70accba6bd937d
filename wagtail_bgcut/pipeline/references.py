"""Which models hold original files, so the app knows when a source is gone for good."""

from __future__ import annotations

from django.apps import apps


def source_fields() -> list[tuple[type, str]]:
    """``(model, file field)`` for every Wagtail image model and every cut-out field's source."""
    found: list[tuple[type, str]] = []
    try:
        from wagtail.images.models import AbstractImage
    except ImportError:  # pragma: no cover - Wagtail is a dependency, but the core works without it
        AbstractImage = None
    from ..fields import registered_fields

    for model in apps.get_models():
        if AbstractImage is not None and issubclass(model, AbstractImage):
            found.append((model, "file"))
    for field in registered_fields():
        pair = (field.model, field.source)
        if pair not in found:
            found.append(pair)
    return found


def name_in_use(name: str) -> bool:
    """Whether any image or source field still stores a file under this name."""
    return any(
        model._default_manager.filter(**{field: name}).exists() for model, field in source_fields()
    )
