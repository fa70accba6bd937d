"""Headless: the serializer fields and the StreamField block through Wagtail's real API v2 views.

A cut-out pending means the original, with ``"ready": false`` (never an error object); once it is
made, the same request answers with the cut-out, whose pixels are checked.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ecosystem.urls")]


def fetch(client, page) -> dict:
    response = client.get(f"/api/v2/pages/{page.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def stored_picture(url: str) -> PILImage.Image:
    name = url.removeprefix("/media/")
    with default_storage.open(name, "rb") as fh:
        picture = PILImage.open(io.BytesIO(fh.read()))
        picture.load()
    return picture


@pytest.fixture
def page(make_page, photo):
    return make_page(photo=photo, body=[("cutout", photo), ("text", "hello")])


def test_wagtails_own_rendition_field_answers_the_original_while_pending(client, page):
    # Wagtail's own ImageRenditionField used to answer {"error": "SourceImageIOError"} here
    # (CutoutNotReady is a SourceImageIOError); the bgcut- operation now renders the original
    # while the cut-out is pending, so even Wagtail's field gives a picture, just no `ready` flag.
    answer = fetch(client, page)["photo_wagtail"]
    assert "error" not in answer
    assert answer["url"] and stored_picture(answer["url"]).mode == "RGB"  # the uncut photo


def test_pending_cutout_answers_the_original_not_an_error(client, page, photo):
    data = fetch(client, page)

    card = data["photo_card"]
    assert card["ready"] is False
    assert "error" not in card
    assert (card["width"], card["height"]) == (60, 40)  # the chain, made from the original
    assert "bgcut" not in card["url"] and card["full_url"].startswith("http://")
    original = stored_picture(card["url"])
    assert original.mode == "RGB"  # the uncut photo: no alpha

    cut = data["photo_cutout"]
    assert cut["ready"] is False
    assert cut["url"] == photo.file.url
    assert (cut["width"], cut["height"]) == (120, 80)
    assert cut["full_url"] == f"http://testserver{photo.file.url}"

    block = data["body"][0]
    assert block["type"] == "cutout"
    assert block["value"]["id"] == photo.pk
    assert block["value"]["ready"] is False and block["value"]["url"] == photo.file.url
    assert data["body"][1]["value"] == "hello"
    # The API asked for the cut-out (queued, not waited on).
    assert Cutout.objects.get(preset="full").status == "pending"


def test_ready_cutout_is_served_with_alpha(client, page, photo):
    pipeline.process_now(photo, ["full"])
    data = fetch(client, page)

    card = data["photo_card"]
    assert card["ready"] is True
    assert (card["width"], card["height"]) == (60, 40)
    assert "bgcut-full" in card["url"]
    picture = stored_picture(card["url"]).convert("RGBA")
    assert picture.getpixel((1, 1))[3] < 20 and picture.getpixel((30, 20))[3] > 230

    cutout = Cutout.objects.get(preset="full")
    for value in (data["photo_cutout"], data["body"][0]["value"]):
        assert value["ready"] is True
        assert value["url"] == cutout.file.url
        assert (value["width"], value["height"]) == (cutout.width, cutout.height)
    assert stored_picture(data["photo_cutout"]["url"]).mode == "RGBA"
    # Wagtail's own field works too once the cut-out exists.
    assert data["photo_wagtail"]["width"] == 60


def test_unreadable_original_still_answers_urls_not_an_error(client, page, photo):
    default_storage.delete(photo.file.name)
    data = fetch(client, page)
    assert data["photo_wagtail"] == {"error": "SourceImageIOError"}
    for value in (data["photo_card"], data["photo_cutout"], data["body"][0]["value"]):
        assert value["ready"] is False
        assert value["url"] == photo.file.url
        assert (value["width"], value["height"]) == (120, 80)


def test_page_without_a_photo_gives_null(client, make_page):
    data = fetch(client, make_page(slug="empty"))
    assert data["photo_cutout"] is None
