"""``CutoutField`` on a plain Django model through a real Django REST framework view."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ImageBytesFactory, ProductFactory
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


def test_a_prefetched_listing_looks_cutouts_up_once(client):
    products = [ProductFactory(data=ImageBytesFactory(seed=seed)) for seed in range(4)]
    for product in products[:2]:
        pipeline.process_now(product.photo, ["full", "thumbnail"])
    with CaptureQueriesContext(connection) as queries:
        data = client.get("/products/").json()
    assert [item["cutout"]["ready"] for item in data] == [True, True, False, False]
    assert [item["thumbnail"]["ready"] for item in data] == [True, True, False, False]
    lookups = [q["sql"] for q in queries if "SELECT" in q["sql"] and "bgcut_cutout" in q["sql"]]
    assert len(lookups) == 1
