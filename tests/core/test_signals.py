"""Save/delete signals of Wagtail image models: AUTO_PROCESS only when the bytes changed."""

from __future__ import annotations

import pytest
from django.core.files.storage import storages

from tests.factories import CustomImageFactory, ImageBytesFactory
from wagtail_bgcut.models import Cutout, SourceFile

from .conftest import bgcut_settings, commit_callbacks, replace_file

pytestmark = pytest.mark.django_db


def test_resave_same_file_does_no_work_and_changed_file_does(make_wagtail_image, dummy_backend):
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=2))
        assert len(dummy_backend.calls) == 1
        # Both presets in ONE backend call.
        assert sorted(dummy_backend.calls[0].variant_names) == ["full", "thumbnail"]

        image.title = "renamed"
        image.save()
        image.refresh_from_db()
        image.save()
        assert len(dummy_backend.calls) == 1

        replace_file(image, ImageBytesFactory(seed=3))
        assert len(dummy_backend.calls) == 2
        # The new bytes have both presets; the old bytes' cut-outs were freed.
        new_hash = SourceFile.objects.get(name=image.file.name).sha256
        assert {c.source_hash for c in Cutout.objects.filter(status="done")} == {new_hash}
        assert Cutout.objects.count() == 2


def test_deleting_the_image_frees_its_cutouts(make_wagtail_image, dummy_backend):
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=12))
        cutouts = list(Cutout.objects.all())
        assert len(cutouts) == 2
        with commit_callbacks():
            image.delete()
    storage = storages["default"]
    assert Cutout.objects.count() == 0
    assert SourceFile.objects.count() == 0
    for c in cutouts:
        assert not storage.exists(c.file.name)


def test_deleting_one_of_two_images_with_same_bytes_keeps_cutouts(
    make_wagtail_image, dummy_backend
):
    data = ImageBytesFactory(seed=7)
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        a = make_wagtail_image(data, name="a.png")
        make_wagtail_image(data, name="b.png")
        cutout = Cutout.objects.get()
        with commit_callbacks():
            a.delete()
    cutout.refresh_from_db()
    assert cutout.ready and storages["default"].exists(cutout.file.name)


def test_replacing_a_file_frees_the_old_cutouts(make_wagtail_image, dummy_backend):
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        image = make_wagtail_image(ImageBytesFactory(seed=8))
        old = Cutout.objects.get()
        old_name = image.file.name
        replace_file(image, ImageBytesFactory(seed=9))
    assert not Cutout.objects.filter(pk=old.pk).exists()
    assert not storages["default"].exists(old.file.name)
    assert storages["default"].exists(old_name)  # the old original stays
    assert Cutout.objects.get().ready


def test_custom_image_model_triggers_auto_process(make_wagtail_image, dummy_backend):
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        make_wagtail_image(ImageBytesFactory(seed=10), factory=CustomImageFactory)
    assert len(dummy_backend.calls) == 1
    assert Cutout.objects.get().ready


def test_raw_and_update_fields_do_nothing(make_wagtail_image, dummy_backend):
    from wagtail.images import get_image_model

    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        image = make_wagtail_image(ImageBytesFactory(seed=11))
        dummy_backend.reset()
        Cutout.objects.all().delete()
        image.file.name = "original_images/other.png"
        image.save(update_fields=["title"])
        assert dummy_backend.calls == []
        # raw (fixture loading): nothing either.
        from django.db.models.signals import post_save

        post_save.send(
            get_image_model(), instance=image, created=True, raw=True, update_fields=None
        )
        assert dummy_backend.calls == []


def test_file_overwritten_under_the_same_name_is_cut_again(make_wagtail_image, dummy_backend):
    """Storages that overwrite in place (S3's file_overwrite) keep the name; Wagtail's file_hash
    tells the change."""
    import hashlib

    from django.core.files.base import ContentFile

    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        image = make_wagtail_image(ImageBytesFactory(seed=13))
        image.refresh_from_db()
        old = Cutout.objects.get()
        new_bytes = ImageBytesFactory(seed=14)
        storage = storages["default"]
        storage.delete(image.file.name)
        assert storage.save(image.file.name, ContentFile(new_bytes)) == image.file.name
        image.file_hash = hashlib.sha1(new_bytes).hexdigest()
        with commit_callbacks():
            image.save()
    assert len(dummy_backend.calls) == 2
    new = Cutout.objects.get()
    assert new.source_hash == hashlib.sha256(new_bytes).hexdigest() != old.source_hash
    assert SourceFile.objects.get(name=image.file.name).sha256 == new.source_hash
    assert not storage.exists(old.file.name)
