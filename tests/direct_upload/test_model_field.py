"""A handler that attaches the upload to a model with ``BackgroundRemovedImageField``s."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from tests.factories import ImageBytesFactory
from tests.testapp.models import Product
from wagtail_bgcut.models import Cutout

from .helpers import Flow

pytestmark = pytest.mark.django_db


def attach_to_product(request, upload):
    product = Product(name="from the browser")
    product.photo.save(upload.source_filename, ContentFile(upload.source_bytes), save=False)
    product.save()
    return {"product_id": product.pk}


def test_the_fields_are_filled_from_the_upload_without_a_second_charge(
    client, user, recorder, bgcut_server, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_BGCUT = {
        **settings.WAGTAIL_BGCUT,
        "DIRECT_UPLOAD_HANDLER": f"{__name__}.attach_to_product",
    }
    client.force_login(user)
    flow = Flow(client, recorder)
    flow.token(["full", "thumbnail"])
    _, result = flow.process(ImageBytesFactory(squashed_ball=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = flow.finalize(result)
    assert response.status_code == 200, response.content
    product = Product.objects.get(pk=response.json()["result"]["product_id"])
    assert product.cutout.name == Cutout.objects.get(preset="full").file.name
    assert product.thumb.name == Cutout.objects.get(preset="thumbnail").file.name
    # Saving the photo found both cut-outs done: no upload-image, no process-image.
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg"]
    assert {r.endpoint for r in bgcut_server.requests} == {
        "remove_bg_token",
        "remove_bg",
        "result_file",
    }
    recorder.assert_key_absent()
