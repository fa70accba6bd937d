"""The widget renders what the JavaScript needs; the field accepts only signed references."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.core import signing

from tests.factories import ImageBytesFactory
from wagtail_bgcut.direct_upload.views import REFERENCE_SALT
from wagtail_bgcut.direct_upload.widgets import DirectUploadField

from .helpers import Flow

pytestmark = pytest.mark.django_db


class Form(forms.Form):
    photo = DirectUploadField(presets=["full", "thumbnail"])


def test_the_widget_renders_the_token_url_presets_and_module(client, user, recorder):
    client.force_login(user)
    response = recorder.record(client.get("/upload-page/"))
    html = response.content.decode()
    assert 'data-token-url="/bgcut/upload/token/"' in html
    assert f'data-presets="{json.dumps(["full", "thumbnail"]).replace(chr(34), "&quot;")}"' in html
    assert '<script type="module" src="/static/wagtail_bgcut/direct-upload.js">' in html
    assert 'type="hidden" name="photo"' in html
    recorder.assert_key_absent()


def test_the_field_returns_a_finalized_reference(client, user, recorder):
    client.force_login(user)
    flow = Flow(client, recorder)
    flow.token()
    _, result = flow.process(ImageBytesFactory(squashed_ball=True))
    reference = flow.finalize(result).json()["reference"]
    response = client.post("/upload-page/", {"photo": reference})
    image_id = signing.loads(reference, salt=REFERENCE_SALT)["r"]["image_id"]
    assert f'<p id="cleaned">{image_id}</p>' in response.content.decode()


def test_the_field_refuses_a_forged_reference():
    forged = signing.dumps({"b": "u:1", "r": {"image_id": 1}}, salt="another salt")
    form = Form({"photo": forged})
    assert not form.is_valid()
    assert form.errors["photo"] == [
        "The upload could not be verified; please upload the image again."
    ]
    assert not Form({"photo": ""}).is_valid()  # required by default
