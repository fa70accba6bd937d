"""``CutoutField`` on a plain Django model through a real Django REST framework view."""

from __future__ import annotations

import pytest

from tests.factories import ProductFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ecosystem.urls")]


def test_product_api_falls_back_to_the_photo_then_serves_the_cutout(client):
    product = ProductFactory(data__width=120, data__height=80)
    data = client.get(f"/products/{product.pk}/").json()
    assert data["cutout"] == {
        "url": product.photo.url,
        "full_url": f"http://testserver{product.photo.url}",
        # Product's ImageField has no width_field/height_field: the size is not known without
        # reading the file, which an API answer must not do.
        "width": None,
        "height": None,
        "alt": "",
        "ready": False,
    }

    pipeline.process_now(product.photo, ["full", "thumbnail"])
    data = client.get(f"/products/{product.pk}/").json()
    for key, preset in (("cutout", "full"), ("thumbnail", "thumbnail")):
        row = Cutout.objects.get(preset=preset)
        assert data[key]["ready"] is True
        assert data[key]["url"] == row.file.url
        assert (data[key]["width"], data[key]["height"]) == (row.width, row.height)
    assert data["thumbnail"]["url"].endswith(".webp")


def test_product_without_a_photo_gives_null(client):
    product = ProductFactory(photo=None)
    assert client.get(f"/products/{product.pk}/").json()["cutout"] is None
