"""Direct uploads and money, against the faithful emulator: the token is the paid call (page 01),
the budget guard answers before it, results come from the provider's result host, and a sideways
output of a phone photo is turned upright instead of refused after it was paid for."""

from __future__ import annotations

import io
import json

import pytest
import requests
from django.core.cache import cache
from django.test import Client, override_settings
from PIL import Image

from tests.factories import ImageBytesFactory, UserFactory
from wagtail_bgcut.direct_upload.finalize import OutputFile, upright_output
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.presets import get_preset
from wagtail_bgcut.testing.pytest_plugin import settings_for

FAITHFUL = pytest.mark.bgcut_server(faithful=True)


@pytest.fixture
def alice(db, settings):
    settings.ROOT_URLCONF = "tests.direct_upload.urls"
    cache.clear()
    browser = Client()
    browser.force_login(UserFactory(username="alice"))
    yield browser
    cache.clear()


def token(client, presets=("full",)):
    return client.post(
        "/bgcut/upload/token/",
        data=json.dumps({"presets": list(presets)}),
        content_type="application/json",
    )


@FAITHFUL
def test_a_direct_upload_is_paid_once_at_the_token_and_stored_from_the_result_host(
    alice, bgcut_server
):
    grant = token(alice, ["full", "thumbnail"]).json()
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg_token"]  # 01: charged here
    processed = requests.post(
        grant["process_url"],
        data={"token": grant["token"]},
        files={"image": ("p.png", ImageBytesFactory(squashed_ball=True))},
        timeout=60,
    ).json()
    assert processed["output_urls"]["full"].startswith(bgcut_server.result_base)
    response = alice.post(
        grant["finalize_url"],
        data=json.dumps(
            {
                "ticket": grant["ticket"],
                "token": grant["token"],
                "unique_filename": processed["unique_filename"],
                "input_url": processed["input_url"],
                "output_urls": processed["output_urls"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert set(response.json()["cutouts"]) == {"full", "thumbnail"}
    assert Cutout.objects.filter(status=Cutout.Status.DONE).count() == 2
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg_token"]  # nothing more


@FAITHFUL
def test_a_user_over_their_cap_gets_a_clear_refusal_and_no_token_is_bought(alice, bgcut_server):
    settings = {**settings_for(bgcut_server), "BUDGET_USER_MONTHLY_CREDITS": 2}
    with override_settings(WAGTAIL_BGCUT=settings):
        assert token(alice, ["full"]).status_code == 200  # 1 credit
        refused = token(alice, ["full", "thumbnail"])  # 2.5 more: over 2
    assert refused.status_code == 402
    assert "Your monthly BackgroundCut budget is used up" in refused.json()["detail"]
    assert [r.endpoint for r in bgcut_server.requests] == ["remove_bg_token"]
    assert len(bgcut_server.ledger) == 1


def _sideways_photo() -> bytes:
    """64x48 stored, displayed 48x64: a phone's portrait JPEG (EXIF orientation 6)."""
    return ImageBytesFactory(
        red_on_white=True, subject="rectangle", box=(4, 4, 20, 40), fmt="JPEG", orientation=6
    )


def _png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def test_an_output_rendered_from_the_stored_pixels_is_turned_upright():
    source = _sideways_photo()
    with Image.open(io.BytesIO(source)) as img:
        stored = img.convert("RGBA")  # what an API that ignores EXIF would cut out
    out = OutputFile(_png(stored), "png", *stored.size)
    turned = upright_output(source, out, get_preset("full"))
    assert (turned.width, turned.height) == (48, 64)
    with Image.open(io.BytesIO(turned.data)) as img:
        assert img.size == (48, 64)
        expected = stored.transpose(Image.Transpose.ROTATE_270)
        assert img.convert("RGBA").tobytes() == expected.tobytes()


def test_an_upright_output_and_an_autocropped_one_are_left_alone():
    source = _sideways_photo()
    upright = Image.new("RGBA", (48, 64), (255, 0, 0, 255))
    out = OutputFile(_png(upright), "png", 48, 64)
    assert upright_output(source, out, get_preset("full")) is out
    sideways = OutputFile(_png(Image.new("RGBA", (64, 48))), "png", 64, 48)
    assert upright_output(source, sideways, get_preset("thumbnail")) is sideways  # autocrop
