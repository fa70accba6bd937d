"""End to end, render side: upload -> AUTO_PROCESS through the emulator -> tag and operation render
the stored cut-outs without calling the API; a changed file shows its new cut-out everywhere."""

from __future__ import annotations

from collections import Counter

import pytest
from django.template import Context, Template
from PIL import Image as PILImage
from wagtail.images import get_image_model

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout

from .conftest import bgcut_settings, replace_file

pytestmark = pytest.mark.django_db

PAGE = Template(
    "{% load bgcut_tags wagtailimages_tags %}"
    '{% bgcut img "thumbnail" class="t" %}\n'
    '{% bgcut img "full" as cut %}{{ cut.url }} {{ cut.ready }}\n'
    "{% image img bgcut-full fill-24x24 %}"
)


def calls(server, endpoint: str) -> int:
    return sum(1 for r in server.requests if r.endpoint == endpoint and r.status == 200)


def render(image) -> list[str]:
    fresh = get_image_model().objects.get(pk=image.pk)  # as a new request would load it
    return PAGE.render(Context({"img": fresh})).splitlines()


def test_upload_render_change_render(bgcut_server, make_wagtail_image):
    with bgcut_settings(AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=3, fmt="JPEG"), name="shoe.jpg")
        assert calls(bgcut_server, "upload_image") == 1
        assert calls(bgcut_server, "process_image") == 1
        rows = {c.preset: c for c in Cutout.objects.filter(status="done")}
        assert set(rows) == {"full", "thumbnail"}

        api_requests = len(bgcut_server.requests)
        thumb_tag, full_line, rendition_tag = render(image)
        assert rows["thumbnail"].file.url in thumb_tag and 'class="t"' in thumb_tag
        assert full_line == f"{rows['full'].file.url} True"
        assert 'width="24"' in rendition_tag and ".png" in rendition_tag
        rendition = image.renditions.get()
        with rendition.file.open("rb") as fh, PILImage.open(fh) as picture:
            assert picture.mode == "RGBA" and picture.size == (24, 24)
        # Rendering again (rendition and cut-outs cached) and re-saving: still no API call.
        assert render(image) == [thumb_tag, full_line, rendition_tag]
        image.title = "Shoe"
        image.save()
        assert len(bgcut_server.requests) == api_requests

        replace_file(image, ImageBytesFactory(seed=4, colour=(30, 160, 60), fmt="JPEG"))
        assert calls(bgcut_server, "upload_image") == 2
        assert calls(bgcut_server, "process_image") == 2
        new_thumb, new_full, new_rendition = render(image)
        assert new_thumb != thumb_tag and new_full != full_line
        assert new_full.endswith(" True")
        assert new_rendition != rendition_tag  # the old bgcut rendition is never served again
        new_file = image.renditions.get(pk__gt=rendition.pk).file
        with new_file.open("rb") as fh, PILImage.open(fh) as picture:
            r, g, _b, a = picture.convert("RGBA").getpixel((12, 12))
            assert g > r and a == 255  # the new green subject

        # No credit was spent twice: one charge per (source bytes, variant).
        charges = Counter(
            (charge.unique_filename, variant)
            for charge in bgcut_server.ledger
            for variant in charge.variants
        )
        assert charges and max(charges.values()) == 1
