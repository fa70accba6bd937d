"""Without an API key the same flow runs against the site's own endpoint and local engine."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from tests.factories import ImageBytesFactory
from wagtail_bgcut.direct_upload.finalize import local_folder
from wagtail_bgcut.models import Cutout, cutout_storage

from .conftest import media_files
from .helpers import Flow, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(client, user, recorder):
    client.force_login(user)
    return Flow(client, recorder)


def test_local_flow_returns_the_api_shape_and_stores_a_real_cutout(flow, recorder):
    grant = flow.token(["full", "thumbnail"]).json()
    assert grant["mode"] == "local"
    assert grant["process_url"] == "/bgcut/upload/process/"
    status, result = flow.process(ImageBytesFactory(squashed_ball=True))
    assert status == 200
    assert result["status"] == "success"
    assert set(result["output_urls"]) == {"full", "thumbnail"}
    assert result["unique_filename"] and result["input_url"].startswith("http://testserver/media/")
    response = flow.finalize(result)
    assert response.status_code == 200, response.content
    row = Cutout.objects.get(preset="full")
    assert row.ready and row.backend == "local"
    with cutout_storage.open(row.file.name, "rb") as fh:
        img = Image.open(fh)
        img.load()
    # The background is gone: the corner is transparent, the red disc in the middle is kept.
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0
    assert img.getpixel((img.width // 2, img.height // 2))[3] == 255
    # The temporary files of the local endpoint are gone after finalize.
    folder = local_folder(result["unique_filename"])
    assert not [n for n in media_files(settings.MEDIA_ROOT) if n.startswith(folder)]
    recorder.assert_key_absent()


def test_a_local_token_works_once(flow):
    flow.token()
    assert flow.process(ImageBytesFactory(squashed_ball=True))[0] == 200
    status, body = flow.process(ImageBytesFactory(squashed_ball=True, seed=2))
    assert status == 401
    assert body == {"detail": "Missing, invalid or expired access token."}


def test_a_forged_local_token_is_refused(flow):
    flow.token()
    status, _ = flow.process(
        ImageBytesFactory(squashed_ball=True), token=flow.grant["token"][:-2] + "xx"
    )
    assert status == 401


def test_a_bad_image_does_not_spend_the_token(flow):
    flow.token()
    status, body = flow.process(b"GIF89a not really")
    assert status == 400
    assert body["detail"] == "Invalid image format. Supported: PNG, JPG, JPEG, WebP"
    assert flow.process(ImageBytesFactory(squashed_ball=True))[0] == 200


def test_finalize_only_accepts_the_files_its_ticket_names(flow, user):
    flow.token()
    _, mine = flow.process(ImageBytesFactory(squashed_ball=True))
    # A second upload by the same user, finalized with the first ticket: refused.
    first_grant = dict(flow.grant)
    flow.token()
    _, other = flow.process(ImageBytesFactory(squashed_ball=True, seed=4))
    flow.grant = first_grant
    before = snapshot()
    response = flow.finalize(other)
    assert response.status_code == 403
    assert response.json()["detail"] == "This result does not belong to the upload ticket."
    assert snapshot() == before
    assert flow.finalize(mine).status_code == 200


def test_the_local_endpoint_is_off_in_api_mode(flow, bgcut_server):
    response = flow.client.post("/bgcut/upload/process/", {"token": "x"})
    assert response.status_code == 404


def test_a_ticket_from_local_mode_is_refused_in_api_mode(client, user, recorder, settings):
    client.force_login(user)
    flow = Flow(client, recorder)
    flow.token()
    _, result = flow.process(ImageBytesFactory(squashed_ball=True))
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "BACKEND": "backgroundcut", "API_KEY": "k"}
    before = snapshot()
    response = flow.finalize(result)
    assert response.status_code == 409
    assert snapshot() == before


def test_anonymous_visitors_need_a_public_include(recorder):
    visitor = Client()
    response = visitor.post(
        "/bgcut/upload/token/", json.dumps({"presets": ["full"]}), content_type="application/json"
    )
    assert response.status_code == 403


def test_an_oversized_upload_is_refused_before_it_is_read(flow):
    flow.token()
    status, body = flow.process(b"\0" * (13 * 1024 * 1024))
    assert status == 413
    assert body == {"detail": "Image too large. The limit is 12 MB."}
    assert flow.process(ImageBytesFactory(squashed_ball=True))[0] == 200  # the token was not spent


def test_a_token_request_that_is_not_json_is_a_clear_400(flow):
    response = flow.client.post(
        "/bgcut/upload/token/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON."}
