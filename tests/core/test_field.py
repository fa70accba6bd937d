"""BackgroundRemovedImageField: filled by the pipeline, refilled only when the bytes change."""

from __future__ import annotations

import io

import pytest
from django.core import serializers
from django.core.files.images import ImageFile
from django.core.files.storage import storages
from django.core.management import call_command

from tests.factories import ImageBytesFactory, ProductFactory
from tests.testapp.models import Product
from wagtail_bgcut.fields import BackgroundRemovedImageField
from wagtail_bgcut.models import Cutout

pytestmark = pytest.mark.django_db


def _product(committed, data: bytes, name: str = "p.png") -> Product:
    with committed():
        product = ProductFactory(data=data, filename=name)
    product.refresh_from_db()
    return product


def test_deconstruct_round_trips():
    field = Product._meta.get_field("cutout")
    _name, path, args, kwargs = field.deconstruct()
    assert path == "wagtail_bgcut.fields.BackgroundRemovedImageField"
    assert kwargs == {"source": "photo", "preset": "full"}
    clone = BackgroundRemovedImageField(*args, **kwargs)
    assert clone.deconstruct()[1:] == (path, args, kwargs)
    custom = BackgroundRemovedImageField(source="photo", preset="thumbnail", blank=False, null=True)
    assert custom.deconstruct()[3] == {
        "source": "photo",
        "preset": "thumbnail",
        "blank": False,
        "null": True,
    }


def test_makemigrations_sees_no_change():
    out = io.StringIO()
    call_command("makemigrations", "testapp", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_filled_from_the_source(committed, dummy_backend):
    product = _product(committed, ImageBytesFactory(seed=41))
    assert product.cutout and product.thumb
    full = Cutout.objects.get(preset="full")
    assert product.cutout.name == full.file.name
    assert storages["default"].exists(product.cutout.name)
    assert (product.cutout.width, product.cutout.height) == (64, 48)
    # The original photo is untouched.
    with product.photo.open("rb") as fh:
        assert fh.read() == ImageBytesFactory(seed=41)
    # Both fields of the same source were served by ONE backend call.
    assert len(dummy_backend.calls) == 1
    assert sorted(dummy_backend.calls[0].variant_names) == ["full", "thumbnail"]


def test_refilled_only_when_bytes_change(committed, dummy_backend):
    product = _product(committed, ImageBytesFactory(seed=42))
    first = product.cutout.name
    calls = len(dummy_backend.calls)
    product.name = "renamed"
    with committed():
        product.save()
    assert len(dummy_backend.calls) == calls
    product.refresh_from_db()
    assert product.cutout.name == first

    product.photo = ImageFile(io.BytesIO(ImageBytesFactory(seed=43)), name="q.png")
    with committed():
        product.save()
    product.refresh_from_db()
    assert product.cutout.name and product.cutout.name != first
    assert len(dummy_backend.calls) > calls


def test_same_bytes_fill_without_processing(committed, dummy_backend):
    data = ImageBytesFactory(seed=44)
    a = _product(committed, data, "a.png")
    calls = len(dummy_backend.calls)
    b = _product(committed, data, "b.png")
    assert len(dummy_backend.calls) == calls
    assert b.cutout.name == a.cutout.name


def test_update_fields_without_the_source_does_nothing(committed, dummy_backend):
    product = _product(committed, ImageBytesFactory(seed=45))
    calls = len(dummy_backend.calls)
    product.photo = ImageFile(io.BytesIO(ImageBytesFactory(seed=46)), name="r.png")
    with committed():
        product.save(update_fields=["name"])
    assert len(dummy_backend.calls) == calls


def test_raw_fixture_load_does_nothing(committed, dummy_backend, tmp_path):
    product = _product(committed, ImageBytesFactory(seed=47))
    data = serializers.serialize("json", [product])
    Product.objects.all().delete()
    Cutout.objects.all().delete()
    dummy_backend.reset()
    fixture = tmp_path / "products.json"
    fixture.write_text(data)
    with committed():
        call_command("loaddata", str(fixture), verbosity=0)
    assert dummy_backend.calls == []
    assert Cutout.objects.count() == 0
    loaded = Product.objects.get()
    assert loaded.cutout.name == product.cutout.name  # exactly what the fixture says


def test_clearing_the_source_clears_the_cutout(committed, dummy_backend):
    product = _product(committed, ImageBytesFactory(seed=48))
    product.photo = None
    with committed():
        product.save()
    product.refresh_from_db()
    assert not product.cutout and not product.thumb
