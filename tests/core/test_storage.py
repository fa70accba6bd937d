"""Cut-outs are stored through Django storage: FileSystemStorage and S3 (moto over real HTTP)."""

from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage, storages
from django.test import override_settings
from PIL import Image as PILImage

from tests.factories import ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout, get_cutout_storage
from wagtail_bgcut.source_hashes import storage_key

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db


def test_filesystem_storage_alias_is_followed(tmp_path, make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=51))
    setting = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "cutouts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/cutouts/"},
        },
    }
    with override_settings(STORAGES=setting), bgcut_settings(BACKEND="dummy", STORAGE="cutouts"):
        (row,) = pipeline.process_now(image, ["full"])
        assert isinstance(get_cutout_storage()._wrapped, FileSystemStorage)
        assert (tmp_path / row.file.name).is_file()
        assert row.file.url == f"/cutouts/{row.file.name}"
        # Stable, hashed name: bytes hash / options key.
        assert (
            row.file.name == f"bgcut/{row.source_hash[:2]}/{row.source_hash}/{row.options_key}.png"
        )
        # The original stays in its own storage.
        assert storage_key(image.file) == "default"
        assert storages["default"].exists(image.file.name)


def test_leftover_file_of_an_interrupted_run_is_replaced(make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=52))
    (row,) = pipeline.process_now(image, ["full"])
    name = row.file.name
    # Pretend the row was lost after the file was written: the next run writes the same name.
    Cutout.objects.all().delete()
    (again,) = pipeline.process_now(image, ["full"])
    assert again.file.name == name
    files = storages["default"].listdir(name.rsplit("/", 1)[0])[1]
    assert [f for f in files if f.startswith(again.options_key)] == [name.rsplit("/", 1)[1]]


def test_s3_storage_end_to_end(s3_storage_settings, make_wagtail_image):
    with bgcut_settings(AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=53))
    rows = list(Cutout.objects.order_by("preset"))
    assert [r.preset for r in rows] == ["full", "thumbnail"] and all(r.ready for r in rows)
    puts = [path for method, path in s3_storage_settings.requests if method == "PUT"]
    for row in rows:
        assert f"/{s3_storage_settings.bucket}/{row.file.name}" in puts
        # Read back over HTTP from the S3 server: a real image of the recorded size.
        with s3_storage_settings.storage.open(row.file.name, "rb") as fh:
            img = PILImage.open(fh)
            assert (img.width, img.height) == (row.width, row.height)
        assert row.size == s3_storage_settings.storage.size(row.file.name)
    # The original stayed in the default (filesystem) storage.
    assert storages["default"].exists(image.file.name)
    assert not any(image.file.name in path for _, path in s3_storage_settings.requests)


def test_s3_url_of_a_cached_cutout_makes_no_request(s3_storage_settings, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=54))
    (row,) = pipeline.process_now(image, ["full"])
    s3_storage_settings.clear_requests()
    row = Cutout.objects.get(pk=row.pk)
    url = row.file.url
    assert url.endswith(f"/{s3_storage_settings.bucket}/{row.file.name}")
    assert row.ready and row.width and row.height
    assert s3_storage_settings.requests == []


def test_s3_cleanup_deletes_the_object(s3_storage_settings, make_wagtail_image, committed):
    with bgcut_settings(AUTO_PROCESS=["full"]):
        image = make_wagtail_image(ImageBytesFactory(seed=55))
    row = Cutout.objects.get()
    assert s3_storage_settings.storage.exists(row.file.name)
    with committed():
        image.delete()
    assert not s3_storage_settings.storage.exists(row.file.name)
    assert ("DELETE", f"/{s3_storage_settings.bucket}/{row.file.name}") in (
        s3_storage_settings.requests
    )
