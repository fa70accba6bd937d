"""Signal handlers: Wagtail images and cut-out fields react to file changes and new cut-outs.

Connected once, from ``AppConfig.ready()`` (:func:`register_signal_handlers`), as Wagtail's own
``wagtail.images.signal_handlers`` are:

- every concrete Wagtail image model (custom ones included) is watched through
  :func:`~wagtail_bgcut.file_changes.watch_file_field`: when an image's file changes, its
  ``AUTO_PROCESS`` presets are requested and its stale ``bgcut-`` renditions purged;
- :data:`~wagtail_bgcut.signals.cutouts_ready` fills ``BackgroundRemovedImageField`` values and
  purges the renditions of every image whose file has the new cut-out's bytes;
- an original replaced by its cut-out keeps its paid cut-outs: the admin's
  :func:`~wagtail_bgcut.views.files.kept_for_restoring` is registered as a keeper of names.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from wagtail.images import get_image_model
from wagtail.images.models import AbstractImage

from .conf import bgcut_settings
from .fields import fill_fields
from .file_changes import FileChange, watch_file_field
from .image_operations import purge_bgcut_renditions
from .models import SourceFile
from .pipeline import rehash_source
from .signals import cutouts_ready
from .source_fields import register_name_keeper
from .source_hashes import name_key
from .tasks import request_cutouts
from .views.files import kept_for_restoring

__all__ = ["image_file_changed", "purge_renditions_for_new_cutouts", "register_signal_handlers"]

logger = logging.getLogger("wagtail_bgcut")


def image_file_changed(image: AbstractImage, change: FileChange) -> None:
    """A Wagtail image has a new file: request its AUTO_PROCESS presets, purge old renditions."""
    presets = list(bgcut_settings.AUTO_PROCESS or [])
    known = SourceFile.objects.filter(name_key=name_key(image.file)) if image.file else None
    old_sha = known.values_list("sha256", flat=True).first() if known is not None else None
    if image.file:
        if presets:
            request_cutouts(image, presets, rehash=True)
        elif old_sha:
            rehash_source(image.file)  # renders must not find the old bytes' cut-outs
    new_sha = known.values_list("sha256", flat=True).first() if known is not None else None
    if not change.created and (change.renamed or old_sha != new_sha):
        purge_bgcut_renditions(image)


def purge_renditions_for_new_cutouts(sender: Any, *, source_hash: str, **kwargs: Any) -> None:
    """Receiver of ``cutouts_ready``: the next render of these images uses the new cut-out."""
    names = list(SourceFile.objects.filter(sha256=source_hash).values_list("name", flat=True))
    if names:
        purge_bgcut_renditions(get_image_model().objects.filter(file__in=names))


def image_models() -> list[type[AbstractImage]]:
    """Every concrete Wagtail image model (custom ones included)."""
    return [
        m
        for m in apps.get_models()
        if issubclass(m, AbstractImage) and not m._meta.abstract and not m._meta.proxy
    ]


def register_signal_handlers() -> None:
    """Connect the handlers; called once from ``AppConfig.ready()``."""
    for model in image_models():
        # file_hash too: the admin updates it when a file is replaced under the same name.
        watch_file_field(model, "file", image_file_changed, state_fields=["file_hash"])
    register_name_keeper(kept_for_restoring)
    cutouts_ready.connect(fill_fields, dispatch_uid="wagtail_bgcut:fill_fields")
    cutouts_ready.connect(
        purge_renditions_for_new_cutouts, dispatch_uid="wagtail_bgcut:purge_renditions"
    )
