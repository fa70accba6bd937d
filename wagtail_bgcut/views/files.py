"""Keeping a cut-out: as a new image, or as the image's file with the original kept for restoring.

The original is never modified or deleted. "Replace file" stores the cut-out under a NEW name and
points the image at it; the original file stays in storage and its name (with size and hash) is
recorded in a Wagtail log entry on the image, which "Restore original" reads back. Using the log
keeps the history visible in the image's own history (Wagtail 8: Reports > Site history) and needs
no extra table.

The original's cut-outs were paid for, so they outlive the replacement: :func:`kept_for_restoring`
is registered as a keeper of names (:mod:`..source_fields`), and a name recorded as a replaced
original of an image that still exists is never treated as orphaned. Replacing and restoring drop
the image's renditions (as Wagtail's own edit form does on a new file), so previews, the library
thumbnail and ``{% image %}`` show the file the image now has.
"""

from __future__ import annotations

import io
import os
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.files.images import ImageFile
from django.db import transaction
from django.utils.translation import gettext as _
from wagtail.images import get_image_model
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from ..source_fields import name_in_use

REPLACE_ACTION = "wagtail_bgcut.replace_file"
RESTORE_ACTION = "wagtail_bgcut.restore_file"
TITLE_MAX = 255


class RestoreError(Exception):
    """Restoring is not possible; the message is safe to show."""


def removed_title(title: str) -> str:
    suffix = " " + _("(background removed)")
    return (title[: TITLE_MAX - len(suffix)] + suffix) if title else suffix.strip()


def unique_title(title: str, collection: Any) -> str:
    """``title``, or ``title (2)``, ``(3)``... if the collection already has an image so named."""
    model = get_image_model()
    taken = set(
        model.objects.filter(collection=collection, title__startswith=title[:200]).values_list(
            "title", flat=True
        )
    )
    if title not in taken:
        return title
    number = 2
    while True:
        marker = f" ({number})"
        candidate = title[: TITLE_MAX - len(marker)] + marker
        if candidate not in taken:
            return candidate
        number += 1


def kept_for_restoring(name: str) -> bool:
    """Whether ``name`` is the replaced original of an existing image (a name keeper)."""
    entries = ModelLogEntry.objects.filter(action=REPLACE_ACTION, data__original_name=name)
    for content_type, object_id in entries.values_list("content_type", "object_id").distinct():
        model = ContentType.objects.get_for_id(content_type).model_class()
        if model is not None and model._default_manager.filter(pk=object_id).exists():
            return True
    return False


def drop_renditions(image: Any) -> None:
    """Delete every rendition of the image (files and cache entries through Wagtail's signals)."""
    image.renditions.all().delete()
    cache = getattr(image, "_prefetched_objects_cache", None)
    if isinstance(cache, dict):
        cache.pop("renditions", None)


def cutout_filename(image: Any, fmt: str) -> str:
    stem = os.path.splitext(os.path.basename(image.file.name))[0] or "image"
    ext = {"jpg": "jpg", "webp": "webp"}.get(fmt, "png")
    return f"{stem}-nobg.{ext}"


def save_as_new_image(image: Any, data: bytes, fmt: str, user: Any) -> Any:
    """A new image in the same collection, tags copied, title marked "(background removed)"."""
    model = get_image_model()
    new = model(
        title=unique_title(removed_title(image.title), image.collection),
        collection=image.collection,
        uploaded_by_user=user,
        file=ImageFile(io.BytesIO(data), name=cutout_filename(image, fmt)),
    )
    if hasattr(new, "description") and getattr(image, "description", ""):
        new.description = image.description
    new._set_image_file_metadata()
    with transaction.atomic():
        new.save()
        tags = list(image.tags.all())
        if tags:
            new.tags.add(*tags)
        log(instance=new, action="wagtail.create", user=user)
    return new


def replace_file(image: Any, data: bytes, fmt: str, user: Any, preset: str) -> None:
    """Point the image at a copy of the cut-out; the original file stays where it is."""
    original = {
        "original_name": image.file.name,
        "original_width": image.width,
        "original_height": image.height,
        "original_size": image.file_size,
        "original_hash": image.file_hash,
        "original_focal_point": _focal_point(image),
        "preset": preset,
    }
    image.file = ImageFile(io.BytesIO(data), name=cutout_filename(image, fmt))
    image._set_image_file_metadata()
    if (image.width, image.height) != (original["original_width"], original["original_height"]):
        # A cropped cut-out (autocrop, smaller preset): the old focal point would be misplaced.
        _set_focal_point(image, None)
    with transaction.atomic():
        image.save()
        drop_renditions(image)
        log(
            instance=image,
            action=REPLACE_ACTION,
            user=user,
            data={**original, "replacement_name": image.file.name},
        )


def last_replacement(image: Any) -> dict[str, Any] | None:
    """The data of the newest "replaced by a cut-out" entry whose original can still be restored."""
    entry = (
        ModelLogEntry.objects.for_instance(image)
        .filter(action__in=[REPLACE_ACTION, RESTORE_ACTION])
        .order_by("-timestamp", "-pk")
        .first()
    )
    if entry is None or entry.action != REPLACE_ACTION:
        return None
    data = entry.data or {}
    if not data.get("original_name") or data.get("original_name") == image.file.name:
        return None
    return data


def restore_original(image: Any, user: Any) -> str:
    """Point the image back at its original file; returns the restored name."""
    data = last_replacement(image)
    if data is None:
        raise RestoreError(_("There is no replaced original to restore."))
    name = data["original_name"]
    storage = image.file.storage
    if not storage.exists(name):
        raise RestoreError(_("The original file is no longer in storage."))
    replacement = image.file.name
    image.file = name
    if data.get("original_width") and data.get("original_height"):
        image.width, image.height = data["original_width"], data["original_height"]
    _set_focal_point(image, data.get("original_focal_point"))
    image.file_size = data.get("original_size") or None
    image.file_hash = data.get("original_hash") or ""
    with transaction.atomic():
        image.save()
        drop_renditions(image)
        log(
            instance=image,
            action=RESTORE_ACTION,
            user=user,
            data={"original_name": name, "replacement_name": replacement},
        )
    if replacement == data.get("replacement_name"):
        # The replacement is this app's own copy of a cut-out: drop it once nothing uses it.
        transaction.on_commit(lambda: _delete_if_unused(storage, replacement), robust=True)
    return name


def _delete_if_unused(storage: Any, name: str) -> None:
    if name and not name_in_use(name) and storage.exists(name):
        storage.delete(name)


_FOCAL_FIELDS = ("focal_point_x", "focal_point_y", "focal_point_width", "focal_point_height")


def _focal_point(image: Any) -> list[int | None]:
    return [getattr(image, name, None) for name in _FOCAL_FIELDS]


def _set_focal_point(image: Any, values: list[int | None] | None) -> None:
    values = values if values and len(values) == len(_FOCAL_FIELDS) else [None] * 4
    for name, value in zip(_FOCAL_FIELDS, values, strict=True):
        setattr(image, name, value)
