"""Purging cached pages when a cut-out lands, through ``wagtail.contrib.frontend_cache``.

While a cut-out is pending, pages show the original (by design: renders never wait on the API).
A page cache or CDN (Varnish, Cloudflare, CloudFront...) keeps that page after the cut-out is
made, until something tells it to forget it. :func:`purge_pages_for_cutouts` is that something:
a receiver of ``cutouts_ready`` that finds, through Wagtail's reference index, the live pages that
use an image with these bytes (a ``ForeignKey`` or a StreamField chooser block) and purges their
URLs with the site's ``WAGTAILFRONTENDCACHE`` backends.

Optional: a site connects it in its ``AppConfig.ready()`` (docs/caches.md)::

    from wagtail_bgcut.frontend_cache import connect_frontend_cache_purge
    connect_frontend_cache_purge()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from wagtail.contrib.frontend_cache.utils import PurgeBatch
from wagtail.models import Page, ReferenceIndex

from .models import SourceFile
from .signal_handlers import image_models
from .signals import cutouts_ready

__all__ = [
    "DISPATCH_UID",
    "connect_frontend_cache_purge",
    "images_with_hash",
    "pages_using_images",
    "purge_pages_for_cutouts",
]

DISPATCH_UID = "wagtail_bgcut:frontend_cache_purge"


def images_with_hash(source_hash: str) -> list[Any]:
    """Every Wagtail image (of every image model) whose file has these bytes."""
    names = list(SourceFile.objects.filter(sha256=source_hash).values_list("name", flat=True))
    if not names:
        return []
    return [image for model in image_models() for image in model.objects.filter(file__in=names)]


def pages_using_images(images: Iterable[Any]) -> list[Page]:
    """The live pages that refer to any of these images, according to the reference index.

    References from other objects (snippets, settings) are not followed: which pages show a
    snippet is the site's knowledge (see the recipe in docs/integrations.md).
    """
    images = list(images)
    if not images:
        return []
    page_type = ContentType.objects.get_for_model(Page)
    page_ids = (
        ReferenceIndex.get_references_to_in_bulk(images)
        .filter(base_content_type=page_type)
        .values_list("object_id", flat=True)
        .distinct()
    )
    return list(Page.objects.live().filter(pk__in=[int(pk) for pk in page_ids]).specific())


def purge_pages_for_cutouts(
    sender: Any, *, source_hash: str, backends: list[str] | None = None, **kwargs: Any
) -> int:
    """Receiver of ``cutouts_ready``: purge the pages that show images with these bytes.

    Returns the number of URLs purged (for code that calls it directly). With no
    ``WAGTAILFRONTENDCACHE`` configured, Wagtail purges nothing.
    """
    if backends is None and not getattr(settings, "WAGTAILFRONTENDCACHE", None):
        return 0  # no cache to purge (e.g. a development site): no queries either
    pages = pages_using_images(images_with_hash(source_hash))
    if not pages:
        return 0
    batch = PurgeBatch()
    batch.add_pages(pages)
    batch.purge(backends=backends)
    return len(batch.urls)


def connect_frontend_cache_purge() -> None:
    """Connect :func:`purge_pages_for_cutouts` to ``cutouts_ready`` (once, however often called)."""
    cutouts_ready.connect(purge_pages_for_cutouts, dispatch_uid=DISPATCH_UID)
