"""The ``bgcut-<preset>`` Wagtail image operation: real renditions from real cut-outs."""

from __future__ import annotations

import io

import pytest
from django.core.files.images import ImageFile
from django.template import Context, Template
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.images.exceptions import InvalidFilterSpecError

from tests.factories import ImageBytesFactory, WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.cutouts import prefetch_cutouts
from wagtail_bgcut.image_operations import (
    BgcutOperation,
    purge_bgcut_renditions,
)
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.presets import register_preset, unregister_preset

pytestmark = pytest.mark.django_db


# The images are 120x80 (3:2), so a crop or a resize shows in a rendition's size.
SIZE = {"data__width": 120, "data__height": 80}


def open_rendition(rendition) -> PILImage.Image:
    with rendition.file.open("rb") as fh:
        picture = PILImage.open(io.BytesIO(fh.read()))
        picture.load()
    return picture


@pytest.fixture
def image():
    image = WagtailImageFactory(yellow_disc=True, title="Disc", **SIZE)
    pipeline.process_now(image, ["full", "thumbnail"])
    return image


def test_jpeg_original_becomes_a_png_with_alpha(image):
    rendition = image.get_rendition("bgcut-full")
    picture = open_rendition(rendition)
    assert picture.format == "PNG"
    assert picture.mode == "RGBA"
    assert picture.size == (120, 80)
    assert picture.getpixel((2, 2))[3] == 0  # the blue background is gone
    assert picture.getpixel((60, 40))[3] == 255  # the disc stays


def test_chain_resizes_the_cutout_and_honours_format(image):
    rendition = image.get_rendition("bgcut-full|fill-40x40|format-webp")
    picture = open_rendition(rendition)
    assert picture.format == "WEBP"
    assert picture.size == (40, 40) == (rendition.width, rendition.height)
    assert picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] < 20
    assert picture.getpixel((20, 20))[3] > 200


def test_width_chain_on_autocropped_preset_uses_the_cutout_geometry(image):
    cut = Cutout.objects.get(preset="thumbnail")
    rendition = image.get_rendition("bgcut-thumbnail|width-30")
    picture = open_rendition(rendition)
    assert picture.width == 30
    # The autocropped cut-out's aspect ratio, not the original's 3:2.
    assert picture.height == pytest.approx(30 * cut.height / cut.width, abs=1)
    assert picture.format == "PNG" and picture.mode == "RGBA"


def test_one_cut_serves_every_size(image):
    done_before = Cutout.objects.filter(status="done").count()
    for spec in ("bgcut-full|fill-20x20", "bgcut-full|max-50x50", "bgcut-full|scale-50"):
        assert open_rendition(image.get_rendition(spec)).mode == "RGBA"
    assert Cutout.objects.filter(status="done").count() == done_before


def test_opaque_preset_keeps_its_own_format(image):
    register_preset("white", {"format": "jpg", "background_color": "#ffffff"})
    try:
        pipeline.process_now(image, ["white"])
        rendition = image.get_rendition("bgcut-white|fill-24x24")
        picture = open_rendition(rendition)
        assert picture.format == "JPEG"
        assert picture.size == (24, 24)
        r, g, b = picture.getpixel((0, 0))
        assert min(r, g, b) > 230  # white, not the original blue
    finally:
        unregister_preset("white")


def test_while_pending_the_original_is_shown_then_the_cutout(django_capture_on_commit_callbacks):
    fresh = WagtailImageFactory(
        yellow_disc=True, title="Fresh", filename="fresh.jpg", data__colour=(200, 40, 40), **SIZE
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stand_in = fresh.get_rendition("bgcut-full|fill-30x30")
    assert Cutout.objects.get().status == "pending"
    assert len(callbacks) == 1  # the cut-out was queued, not made during the render
    # The original through the rest of the chain (cropped to 30x30, still an opaque JPEG)...
    picture = open_rendition(stand_in)
    assert picture.size == (30, 30) and picture.mode == "RGB"
    # ...and {% image %} shows it, never Wagtail's 0x0 not-found placeholder.
    html = Template("{% load wagtailimages_tags %}{% image img bgcut-full width-60 %}").render(
        Context({"img": fresh})
    )
    assert "not-found" not in html and 'width="60"' in html
    # Once the queued work has run, the stand-ins are gone and the next render is the cut-out.
    for callback in callbacks:
        callback()
    again = get_image_model().objects.get(pk=fresh.pk)
    rendition = again.get_rendition("bgcut-full|fill-30x30")
    assert open_rendition(rendition).mode == "RGBA"


def test_a_failed_cutout_shows_the_original(django_capture_on_commit_callbacks):
    fresh = WagtailImageFactory(yellow_disc=True, title="Fresh", filename="f.jpg", **SIZE)
    with django_capture_on_commit_callbacks(execute=False):
        fresh.get_rendition("bgcut-full|width-40")
    Cutout.objects.update(status=Cutout.Status.FAILED, error="boom")
    fresh.renditions.all().delete()
    again = get_image_model().objects.get(pk=fresh.pk)
    with django_capture_on_commit_callbacks(execute=False):
        picture = open_rendition(again.get_rendition("bgcut-full|width-40"))
    assert picture.size == (40, 26) and picture.mode == "RGB"  # 120x80 scaled


def test_process_on_render_makes_it_during_the_render(settings):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "PROCESS_ON_RENDER": True}
    fresh = WagtailImageFactory(
        yellow_disc=True, title="Fresh", filename="fresh.jpg", data__colour=(200, 40, 40), **SIZE
    )
    html = Template("{% load wagtailimages_tags %}{% image img bgcut-full width-60 %}").render(
        Context({"img": fresh})
    )
    assert 'width="60"' in html and ".png" in html
    assert Cutout.objects.get().status == "done"


def test_changed_file_never_serves_the_old_rendition(image):
    old = image.get_rendition("bgcut-full")
    green = ImageBytesFactory(yellow_on_blue=True, width=120, height=80, colour=(30, 200, 60))
    image.file = ImageFile(io.BytesIO(green), name="green.jpg")
    image.save()
    pipeline.process_now(image, ["full"])
    new = image.get_rendition("bgcut-full")
    assert new.pk != old.pk
    assert new.focal_point_key != old.focal_point_key
    r, g, _b, a = open_rendition(new).getpixel((60, 40))
    assert g > r and a == 255  # the green disc, not the old yellow one


def test_purge_deletes_only_bgcut_renditions(image, django_capture_on_commit_callbacks):
    plain = image.get_rendition("fill-20x20")
    cut = image.get_rendition("bgcut-full|fill-20x20")
    chained = image.get_rendition("fill-30x30|bgcut-thumbnail")
    storage = cut.file.storage
    cut_name = cut.file.name
    assert purge_bgcut_renditions(image, presets=["thumbnail"]) == 1
    assert set(image.renditions.values_list("pk", flat=True)) == {plain.pk, cut.pk}
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_bgcut_renditions(image) == 1
    assert list(image.renditions.values_list("pk", flat=True)) == [plain.pk]
    assert not storage.exists(cut_name)  # Wagtail's delete handler removed the file
    assert chained.pk is not None
    assert purge_bgcut_renditions(image.file) == 0
    assert purge_bgcut_renditions(None) == 0


def test_unknown_preset_is_a_clear_filter_error(image):
    with pytest.raises(
        InvalidFilterSpecError, match=r"No preset named 'nope'.*known: full, thumbnail"
    ):
        image.get_rendition("bgcut-nope|fill-10x10")
    with pytest.raises(InvalidFilterSpecError, match="preset name"):
        image.get_rendition("bgcut")


def test_preset_registered_at_run_time_works_in_the_image_tag(image):
    register_preset("card-small", {"format": "webp", "max_resolution": 250_000})
    try:
        pipeline.process_now(image, ["card-small"])
        html = Template(
            "{% load wagtailimages_tags %}{% image img bgcut-card-small fill-16x16 %}"
        ).render(Context({"img": image}))
        assert 'width="16"' in html and 'height="16"' in html
        assert image.renditions.get().filter_spec == "bgcut-card-small|fill-16x16"
    finally:
        unregister_preset("card-small")


def test_focal_point_is_honoured_on_the_cutout(image):
    # Without a focal point the 40x80 crop is centred (x 40..80): the disc (x 30..~92) fills it.
    centred = open_rendition(image.get_rendition("bgcut-full|fill-40x80"))
    assert centred.size == (40, 80)
    assert centred.getpixel((39, 40))[3] == 255

    # A focal point on the disc's right edge moves the crop right. Wagtail keeps the focal point's
    # relative position (85/120 of the width), so the crop spans x ~56.7..96.7 and its right-hand
    # columns are past the disc: transparent but for the anti-aliased edge.
    image.focal_point_x, image.focal_point_y = 85, 40
    image.focal_point_width, image.focal_point_height = 10, 10
    image.save()
    moved = open_rendition(image.get_rendition("bgcut-full|fill-40x80"))
    assert moved.size == (40, 80)
    assert moved.getpixel((5, 40))[3] == 255
    assert moved.getpixel((39, 40))[3] < 32


def test_srcset_image_with_prefetched_cutouts(image):
    # Wagtail makes several new renditions in worker threads; with the cut-out prefetched on the
    # instance those threads need no database connection of their own.
    fresh = prefetch_cutouts(get_image_model().objects.filter(pk=image.pk), "full")[0]
    html = Template(
        "{% load wagtailimages_tags %}{% srcset_image img bgcut-full width-{20,40} sizes='20px' %}"
    ).render(Context({"img": fresh}))
    assert "20w" in html and "40w" in html
    specs = set(image.renditions.values_list("filter_spec", flat=True))
    assert specs == {"bgcut-full|width-20", "bgcut-full|width-40"}
    for rendition in image.renditions.all():
        assert open_rendition(rendition).mode == "RGBA"


def test_missing_original_file_does_not_break_the_page(django_capture_on_commit_callbacks):
    gone = WagtailImageFactory(
        yellow_disc=True, title="Gone", filename="gone.jpg", data__colour=(20, 200, 200), **SIZE
    )
    gone.file.storage.delete(gone.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        html = Template("{% load wagtailimages_tags %}{% image img bgcut-full %}").render(
            Context({"img": gone})
        )
    assert 'src="/media/not-found"' in html
    assert not gone.renditions.exists()


def test_format_before_bgcut_is_respected(image):
    picture = open_rendition(image.get_rendition("format-webp|bgcut-full"))
    assert picture.format == "WEBP" and picture.mode == "RGBA"


def test_called_outside_a_wagtail_filter_the_cutout_fits_the_size(image):
    # Not how Wagtail calls it, but code of your own (or a future Wagtail) might: the cut-out is
    # then fitted inside the size produced so far, never stretched.
    operation = BgcutOperation("bgcut", "full")
    env = {"original-format": "jpeg"}
    with image.get_willow_image() as willow:
        out = operation.run(willow.resize((60, 40)), image, env)
    assert out.get_size() == (60, 40)
    assert out.has_alpha()
    assert env["output-format"] == "png"


def test_changed_preset_options_reach_renditions_after_bgcut_process(image, settings):
    from django.core.management import call_command

    old = open_rendition(image.get_rendition("bgcut-full|fill-20x20"))
    assert old.mode == "RGBA" and old.getpixel((0, 0))[3] == 0
    presets = {
        **settings.WAGTAIL_BGCUT["PRESETS"],
        "full": {"format": "png", "background_color": "#00ff00"},
    }
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "PRESETS": presets}
    call_command("bgcut_process", "--preset", "full", "--yes", stdout=io.StringIO())
    fresh = get_image_model().objects.get(pk=image.pk)
    new = open_rendition(fresh.get_rendition("bgcut-full|fill-20x20"))
    assert new.getpixel((0, 0))[:3] == (0, 255, 0)  # the new cut-out, on green
