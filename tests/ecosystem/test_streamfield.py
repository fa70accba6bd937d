"""``CutoutImageBlock`` rendered in a real page served by Wagtail."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.blocks import CutoutImageBlock
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ecosystem.urls")]


def images_in(html: str) -> list[dict[str, str | None]]:
    """The attributes of every ``<img>`` of a page, as a browser would read them."""
    found: list[dict[str, str | None]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                found.append(dict(attrs))

    Parser().feed(html)
    return found


def test_block_renders_the_original_then_the_cutout(client, make_page, photo):
    make_page(body=[("cutout", photo)], slug="stream")
    html = client.get("/stream/").content.decode()
    assert images_in(html) == [
        {"src": photo.file.url, "width": "120", "height": "80", "alt": "Yellow disc"}
    ]
    assert Cutout.objects.get(preset="full").status == "pending"  # asked for, not waited on

    pipeline.process_now(photo, ["full"])
    cutout = Cutout.objects.get(preset="full")
    html = client.get("/stream/").content.decode()
    assert images_in(html) == [
        {
            "src": cutout.file.url,
            "width": str(cutout.width),
            "height": str(cutout.height),
            "alt": "Yellow disc",
        }
    ]


def test_cutouts_of_a_whole_stream_cost_one_lookup(client, make_page):
    images = [WagtailImageFactory(data__seed=seed, filename=f"p{seed}.png") for seed in range(3)]
    for image in images:
        pipeline.process_now(image, ["full"])
    make_page(body=[("cutout", image) for image in images], slug="many")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/many/").content.decode()
    lookups = [q["sql"] for q in queries if "bgcut_cutout" in q["sql"]]
    assert len(lookups) == 1
    assert sorted(img["src"] for img in images_in(html)) == sorted(
        cutout.file.url for cutout in Cutout.objects.all()
    )


def test_block_definition_survives_migrations():
    block = CutoutImageBlock(preset="full", required=False)
    path, args, kwargs = block.deconstruct()
    assert path == "wagtail_bgcut.blocks.CutoutImageBlock"
    assert kwargs == {"preset": "full", "required": False}
    assert CutoutImageBlock(*args, **kwargs).preset == "full"
