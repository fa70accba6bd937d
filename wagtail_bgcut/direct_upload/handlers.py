"""What finalize does with a finished upload: ``WAGTAIL_BGCUT['DIRECT_UPLOAD_HANDLER']``.

A handler is ``callable(request, upload: FinishedUpload) -> dict``; it runs inside the finalize
transaction after the cut-outs are stored, and its dict (JSON-safe) is returned to the browser
and signed into ``reference`` for a form field (``DirectUploadField``) to read back.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.core.files.images import ImageFile
from django.http import HttpRequest
from django.utils.module_loading import import_string
from wagtail.images import get_image_model
from wagtail.models import Collection

from ..conf import bgcut_settings
from ..exceptions import BgcutConfigurationError
from ..source_hashes import hash_source
from .finalize import FinishedUpload

Handler = Callable[[HttpRequest, FinishedUpload], dict[str, Any]]


def create_wagtail_image(request: HttpRequest, upload: FinishedUpload) -> dict[str, Any]:
    """Save the original as a Wagtail image; its cut-outs are already in the cache."""
    image_model = get_image_model()
    user = request.user if request.user.is_authenticated else None
    image = image_model(
        title=upload.source_filename,
        file=ImageFile(io.BytesIO(upload.source_bytes), name=upload.source_filename),
        uploaded_by_user=user,
        collection=upload_collection(),
    )
    image._set_image_file_metadata()
    image.save()
    # Remember the file's hash now, so renders find the cut-outs without reading the file.
    hash_source(image.file)
    return {"image_id": image.pk}


def upload_collection() -> Collection:
    """``DIRECT_UPLOAD_COLLECTION``: a collection id, or a name (made under the root if missing).

    Visitors' uploads stay out of the root collection unless the setting is ``None``.
    """
    wanted = bgcut_settings.DIRECT_UPLOAD_COLLECTION
    root = Collection.get_first_root_node()
    if wanted is None:
        return root
    if isinstance(wanted, int):
        try:
            return Collection.objects.get(pk=wanted)
        except Collection.DoesNotExist:
            raise BgcutConfigurationError(
                f"WAGTAIL_BGCUT['DIRECT_UPLOAD_COLLECTION'] is {wanted}: no collection has that id."
            ) from None
    found = root.get_children().filter(name=str(wanted)).first()
    return found or root.add_child(instance=Collection(name=str(wanted)))


def resolve_handler(handler: str | Handler | None = None) -> Handler:
    handler = handler or bgcut_settings.DIRECT_UPLOAD_HANDLER
    if callable(handler):
        return handler
    try:
        return import_string(handler)
    except ImportError as exc:
        raise BgcutConfigurationError(
            f"WAGTAIL_BGCUT['DIRECT_UPLOAD_HANDLER'] is {handler!r}, which cannot be imported "
            f"({exc})."
        ) from exc
