"""Visitors' uploads land in ``DIRECT_UPLOAD_COLLECTION``, not in the root collection."""

from __future__ import annotations

import hashlib

import pytest
from django.test import RequestFactory
from wagtail.models import Collection

from tests.factories import CollectionFactory, ImageBytesFactory
from wagtail_bgcut.direct_upload.finalize import FinishedUpload
from wagtail_bgcut.direct_upload.handlers import create_wagtail_image
from wagtail_bgcut.exceptions import BgcutConfigurationError

pytestmark = pytest.mark.django_db


def finish() -> FinishedUpload:
    data = ImageBytesFactory(seed=5)
    return FinishedUpload(
        source_bytes=data,
        source_format="png",
        source_hash=hashlib.sha256(data).hexdigest(),
        width=64,
        height=48,
        unique_filename="u.png",
    )


def handle():
    from django.contrib.auth.models import AnonymousUser
    from wagtail.images import get_image_model

    request = RequestFactory().post("/")
    request.user = AnonymousUser()
    return get_image_model().objects.get(pk=create_wagtail_image(request, finish())["image_id"])


def test_by_default_a_visitor_uploads_collection_is_made_and_used(root_collection):
    image = handle()
    assert image.collection.name == "Visitor uploads"
    assert image.collection.get_parent() == root_collection
    assert handle().collection_id == image.collection_id  # made once


def test_a_collection_id_or_none_for_the_root(root_collection, settings):
    shop = CollectionFactory(name="Shop")
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_COLLECTION": shop.pk}
    assert handle().collection_id == shop.pk
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_COLLECTION": None}
    assert handle().collection_id == root_collection.pk
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_COLLECTION": 999_999}
    with pytest.raises(BgcutConfigurationError, match="999999"):
        handle()
    assert Collection.objects.count() == 2  # nothing made for a wrong id
