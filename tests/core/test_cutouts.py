"""The render-side Python API (get_cutout, prefetch_cutouts, CutoutResult) on real rows."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.images import ImageFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage
from wagtail.images import get_image_model

import wagtail_bgcut
from tests.factories import ImageBytesFactory, WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.cutouts import CutoutResult, get_cutout, prefetch_cutouts
from wagtail_bgcut.exceptions import UnknownPreset
from wagtail_bgcut.models import Cutout

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_not_ready_falls_back_to_the_original_and_queues_the_work(
    django_capture_on_commit_callbacks,
):
    image = WagtailImageFactory(yellow_disc=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = get_cutout(image, "full")
    assert result.ready is False
    assert result.url == image.file.url
    assert (result.width, result.height) == (96, 64)
    assert result.alt == "Yellow disc"
    # Queued, not waited on: a pending row and one job waiting for the commit.
    row = Cutout.objects.get()
    assert row.status == Cutout.Status.PENDING
    assert result.cutout is not None and result.cutout.pk == row.pk
    assert len(callbacks) == 1


def test_ready_cutout_gives_its_own_url_and_size():
    image = WagtailImageFactory(yellow_disc=True)
    pipeline.process_now(image, ["full", "thumbnail"])
    full = get_cutout(image, "full")
    thumb = get_cutout(image, "thumbnail")
    assert full.ready and thumb.ready
    assert full.url.endswith(".png") and thumb.url.endswith(".webp")
    assert full.url != image.file.url
    assert (full.width, full.height) == (96, 64)
    # autocrop trims the background around the disc
    assert thumb.width < 96 and thumb.height < 64
    with full.cutout.file.open("rb") as fh, PILImage.open(fh) as png:
        assert png.mode == "RGBA"
        assert png.getpixel((0, 0))[3] == 0  # background removed
        assert png.getpixel((48, 32))[3] == 255  # subject kept


def test_fieldfile_sources_work_and_have_empty_default_alt():
    image = WagtailImageFactory(yellow_disc=True)
    pipeline.process_now(image.file, ["full"])
    result = get_cutout(image.file, "full")
    assert result.ready
    assert result.alt == ""
    assert get_cutout(image, "full").url == result.url  # same bytes, same cut-out


def test_identical_bytes_share_one_cutout():
    data = ImageBytesFactory(yellow_on_blue=True)
    first = WagtailImageFactory(title="First", data=data, filename="a.jpg")
    second = WagtailImageFactory(title="Second", data=data, filename="b.jpg")
    pipeline.process_now(first, ["full"])
    pipeline.process_now(second, ["full"])
    assert Cutout.objects.count() == 1
    assert get_cutout(first, "full").url == get_cutout(second, "full").url


def test_unknown_preset_names_the_known_ones():
    image = WagtailImageFactory(yellow_disc=True)
    with pytest.raises(UnknownPreset) as excinfo:
        get_cutout(image, "nope")
    assert "'nope'" in str(excinfo.value)
    assert "full" in str(excinfo.value) and "thumbnail" in str(excinfo.value)


def test_not_an_image_is_a_clear_type_error():
    with pytest.raises(TypeError, match="Wagtail image or a Django FieldFile"):
        get_cutout("photo.jpg", "full")


def test_process_on_render_makes_the_cutout_now(settings):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "PROCESS_ON_RENDER": True}
    image = WagtailImageFactory(yellow_disc=True)
    result = get_cutout(image, "full")
    assert result.ready
    assert Cutout.objects.get().status == Cutout.Status.DONE


def test_failed_cutout_is_not_retried_by_a_page_view(django_capture_on_commit_callbacks):
    image = WagtailImageFactory(yellow_disc=True)
    with django_capture_on_commit_callbacks(execute=False):
        get_cutout(image, "full")
    Cutout.objects.update(status=Cutout.Status.FAILED, error="Boom", attempts=3)
    fresh = get_image_model().objects.get(pk=image.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = get_cutout(fresh, "full")
    assert not result.ready
    assert result.url == image.file.url
    assert callbacks == []


def test_prefetch_100_images_costs_one_query_and_rendering_none():
    data = ImageBytesFactory(yellow_on_blue=True)
    first = WagtailImageFactory(title="Product 0", data=data, filename="p0.jpg")
    pipeline.process_now(first, ["full", "thumbnail"])
    # 99 more images with the same bytes: hashed (SourceFile rows) and sharing the cut-outs.
    for i in range(1, 100):
        image = WagtailImageFactory(title=f"Product {i}", data=data, filename=f"p{i}.jpg")
        pipeline.process_now(image, ["full", "thumbnail"])
    images = list(get_image_model().objects.order_by("pk"))
    assert len(images) == 100
    with CaptureQueriesContext(connection) as prefetch_queries:
        prefetch_cutouts(images, ["full", "thumbnail"])
    assert len(prefetch_queries) == 1
    with CaptureQueriesContext(connection) as render_queries:
        results = [get_cutout(image, "thumbnail") for image in images]
        results += [get_cutout(image, "full") for image in images]
    assert len(render_queries) == 0
    assert all(r.ready for r in results)


def test_listing_with_the_images_query_costs_at_most_two(django_assert_max_num_queries):
    for i in range(3):
        image = WagtailImageFactory(
            title=f"P{i}",
            data__yellow_on_blue=True,
            data__background=(40, 120, 200 - i * 40),
            filename=f"p{i}.jpg",
        )
        pipeline.process_now(image, ["thumbnail"])
    with django_assert_max_num_queries(2):
        images = prefetch_cutouts(get_image_model().objects.all(), "thumbnail")
        urls = [get_cutout(image, "thumbnail").url for image in images]
    assert len(set(urls)) == 3


def test_prefetch_remembers_missing_cutouts_too(django_capture_on_commit_callbacks):
    image = WagtailImageFactory(yellow_disc=True)
    prefetch_cutouts([image, None], "full")
    with CaptureQueriesContext(connection) as queries:
        result = get_cutout(image, "full", request=False)
    assert not result.ready
    assert len(queries) == 0


def test_a_changed_file_is_never_answered_from_the_old_lookup():
    image = WagtailImageFactory(yellow_disc=True)
    pipeline.process_now(image, ["full"])
    before = get_cutout(image, "full")
    red = ImageBytesFactory(yellow_on_blue=True, colour=(200, 30, 30), background=(40, 120, 110))
    image.file = ImageFile(io.BytesIO(red), name="red.jpg")
    image.save()
    pipeline.process_now(image, ["full"])
    after = get_cutout(image, "full")
    assert after.ready and before.ready
    assert after.url != before.url


def test_cutout_result_renders_an_escaped_img_tag():
    result = CutoutResult(url="/m/a.png", width=10, height=5, ready=True, alt='A "quote" <b>')
    html = result.img_tag({"class": "x y", "data-z": "<script>"})
    # Attributes come out sorted (Django's flatatt, as in Wagtail's own img tags).
    assert html == (
        '<img alt="A &quot;quote&quot; &lt;b&gt;" class="x y" data-z="&lt;script&gt;" '
        'height="5" src="/m/a.png" width="10">'
    )
    assert str(result) == (
        '<img alt="A &quot;quote&quot; &lt;b&gt;" height="5" src="/m/a.png" width="10">'
    )
    unknown_size = CutoutResult(url="/m/b.jpg", width=None, height=None, ready=False)
    assert unknown_size.img_tag() == '<img alt="" src="/m/b.jpg">'
    assert CutoutResult(url="", width=None, height=None, ready=False).img_tag() == ""


def test_package_exports_the_api_lazily():
    assert wagtail_bgcut.get_cutout is get_cutout
    assert wagtail_bgcut.prefetch_cutouts is prefetch_cutouts
    assert wagtail_bgcut.CutoutResult is CutoutResult
    with pytest.raises(AttributeError):
        wagtail_bgcut.no_such_name
    # Importing the package alone (no settings, no app registry) must not import models.
    code = (
        "import sys, wagtail_bgcut; "
        "assert 'wagtail_bgcut.models' not in sys.modules, 'models imported'; "
        "print(wagtail_bgcut.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == wagtail_bgcut.__version__
