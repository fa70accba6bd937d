"""End to end with the offline local engine: save a Wagtail image, find its cut-outs in storage."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import storages
from PIL import Image as PILImage

from tests.factories import ImageBytesFactory, ProductFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout, SourceFile
from wagtail_bgcut.tasks import request_cutouts

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db


def _open(cutout: Cutout) -> PILImage.Image:
    with cutout.file.open("rb") as fh:
        img = PILImage.open(fh)
        img.load()
    return img


def test_auto_process_makes_every_preset_in_storage(make_wagtail_image):
    with bgcut_settings(AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=1))
    rows = {c.preset: c for c in Cutout.objects.all()}
    assert set(rows) == {"full", "thumbnail"}
    full, thumb = rows["full"], rows["thumbnail"]
    assert full.ready and thumb.ready
    assert full.backend == "local" and full.attempts == 1 and full.error == ""
    # The files really exist in the cut-out storage, with the recorded sizes and formats.
    storage = storages["default"]
    assert storage.exists(full.file.name) and storage.exists(thumb.file.name)
    assert full.file.name.startswith("bgcut/") and full.file.name.endswith(".png")
    assert thumb.format == "webp" and thumb.file.name.endswith(".webp")
    img = _open(full)
    assert img.mode == "RGBA" and (img.width, img.height) == (full.width, full.height) == (64, 48)
    assert full.size == storage.size(full.file.name)
    # Transparent background, opaque subject.
    assert img.getpixel((1, 1))[3] < 40
    assert img.getpixel((32, 24))[3] > 200
    # autocrop: the thumbnail is cropped to the subject.
    assert thumb.width < 64
    # The source is remembered under its stored name with its real hash.
    source = SourceFile.objects.get(name=image.file.name)
    with image.file.open("rb") as fh:
        assert source.sha256 == hashlib.sha256(fh.read()).hexdigest()
    assert {full.source_hash, thumb.source_hash} == {source.sha256}


def test_same_bytes_on_two_images_are_processed_once(make_wagtail_image, dummy_backend):
    data = ImageBytesFactory(seed=4)
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        a = make_wagtail_image(data, name="a.png")
        b = make_wagtail_image(data, name="b.png")
    assert a.file.name != b.file.name
    assert len(dummy_backend.calls) == 1
    assert Cutout.objects.count() == 1
    assert SourceFile.objects.count() == 2


def test_process_now_and_request_cutouts_share_rows(make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=5))
    assert dummy_backend.calls == []  # AUTO_PROCESS is empty in the test settings
    rows = pipeline.process_now(image, ["full", "thumbnail"])
    assert [r.preset for r in rows] == ["full", "thumbnail"]
    assert all(r.ready for r in rows)
    again = request_cutouts(image, ["full", "thumbnail"])
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert len(dummy_backend.calls) == 1


def test_unknown_preset_is_a_clear_error(make_wagtail_image):
    from wagtail_bgcut.exceptions import UnknownPreset

    image = make_wagtail_image()
    with pytest.raises(UnknownPreset, match=r"nope.*known: full, thumbnail"):
        request_cutouts(image, ["nope"])


def test_original_is_never_modified(make_wagtail_image, dummy_backend):
    from django.core.management import call_command

    data = ImageBytesFactory(seed=6)
    storage = storages["default"]
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(data)
        name = image.file.name
        pipeline.process_now(image, ["full"])
        pipeline.retry(Cutout.objects.values_list("pk", flat=True))
        image.save()
        call_command("bgcut_cleanup", stdout=io.StringIO())
    image.refresh_from_db()
    assert image.file.name == name
    with storage.open(name, "rb") as fh:
        assert fh.read() == data


def test_corrupt_source_fails_with_a_clear_reason(committed):
    with committed():  # saving never raises: the failure is recorded on the cut-out rows
        product = ProductFactory(
            name="broken", data=b"\x89PNG\r\n\x1a\n not really", filename="broken.png"
        )
    product.refresh_from_db()
    assert not product.cutout
    rows = list(Cutout.objects.all())
    assert {r.status for r in rows} == {"failed"}
    assert all(r.error.startswith("UnsupportedImage: ") for r in rows)


def test_oversized_source_is_refused(make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=15))
    with bgcut_settings(MAX_SOURCE_PIXELS=1000):
        (row,) = pipeline.process_now(image, ["full"])
    assert row.status == "failed"
    assert row.error.startswith("DecompressionBomb: ")
