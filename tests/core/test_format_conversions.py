"""``bgcut-`` renditions and the output format: the site's conversions and explicit ``format-*``.

Real renditions from real cut-outs (the local engine), decoded again with Pillow: what a browser
would receive, alpha channel included.
"""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image as PILImage

from tests.factories import WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.presets import register_preset, unregister_preset

pytestmark = pytest.mark.django_db

SIZE = {"data__width": 120, "data__height": 80}


def open_rendition(rendition) -> PILImage.Image:
    with rendition.file.open("rb") as fh:
        picture = PILImage.open(io.BytesIO(fh.read()))
        picture.load()
    if os.environ.get("BGCUT_KEEP_OUTPUT"):  # to look at the files: BGCUT_KEEP_OUTPUT=/tmp/dir
        name = os.path.basename(rendition.file.name)
        picture.save(os.path.join(os.environ["BGCUT_KEEP_OUTPUT"], f"{name}.png"))
    return picture


def transparent_corner_opaque_centre(picture: PILImage.Image) -> bool:
    rgba = picture.convert("RGBA")
    return rgba.getpixel((1, 1))[3] < 20 and rgba.getpixel((60, 40))[3] > 230


@pytest.fixture
def image():
    image = WagtailImageFactory(yellow_disc=True, title="Disc", **SIZE)
    pipeline.process_now(image, ["full"])
    return image


@pytest.fixture
def opaque_preset():
    register_preset("white", {"format": "jpg", "background_color": "#ffffff"})
    yield "white"
    unregister_preset("white")


@pytest.mark.parametrize(("target", "pillow_format"), [("webp", "WEBP"), ("avif", "AVIF")])
def test_site_conversion_applies_to_bgcut_renditions_and_keeps_alpha(
    image, settings, target, pillow_format
):
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"png": target}
    rendition = image.get_rendition("bgcut-full|fill-60x40")
    picture = open_rendition(rendition)
    assert picture.format == pillow_format
    assert rendition.file.name.endswith(f".{target}")
    assert picture.size == (60, 40)
    # Transparent where the blue background was, opaque on the disc: the alpha survived.
    rgba = picture.convert("RGBA")
    assert rgba.getpixel((1, 1))[3] < 20
    assert rgba.getpixel((30, 20))[3] > 230


def test_without_conversions_a_transparent_cutout_is_png(image, settings):
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"jpeg": "webp"}  # the original's format: no match
    picture = open_rendition(image.get_rendition("bgcut-full"))
    assert picture.format == "PNG"
    assert transparent_corner_opaque_centre(picture)


def test_conversion_to_a_format_without_alpha_does_not_flatten_a_cutout(image, settings):
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"png": "jpeg"}
    picture = open_rendition(image.get_rendition("bgcut-full"))
    assert picture.format == "PNG"
    assert transparent_corner_opaque_centre(picture)


def test_opaque_preset_follows_the_conversion_of_its_own_format(image, settings, opaque_preset):
    pipeline.process_now(image, [opaque_preset])
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"jpeg": "webp"}
    picture = open_rendition(image.get_rendition(f"bgcut-{opaque_preset}"))
    assert picture.format == "WEBP"
    r, g, b = picture.convert("RGB").getpixel((1, 1))
    assert min(r, g, b) > 230  # the preset's white background, not the original blue


@pytest.mark.parametrize("spec", ["bgcut-full|format-avif", "format-avif|bgcut-full"])
def test_explicit_format_in_the_chain_wins_over_conversions(image, settings, spec):
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"png": "webp"}
    picture = open_rendition(image.get_rendition(spec))
    assert picture.format == "AVIF"
    assert transparent_corner_opaque_centre(picture)


def test_explicit_lossless_webp_keeps_every_alpha_value(image):
    rendition = image.get_rendition("bgcut-full|format-webp-lossless")
    webp = open_rendition(rendition).convert("RGBA")
    png = open_rendition(image.get_rendition("bgcut-full")).convert("RGBA")
    assert webp.getchannel("A").tobytes() == png.getchannel("A").tobytes()


def test_explicit_jpeg_flattens_on_white_as_wagtail_does(image, settings):
    settings.WAGTAILIMAGES_FORMAT_CONVERSIONS = {"png": "webp"}
    picture = open_rendition(image.get_rendition("bgcut-full|format-jpeg"))
    assert picture.format == "JPEG" and picture.mode == "RGB"
    r, g, b = picture.getpixel((1, 1))
    assert min(r, g, b) > 230  # white where the background was cut away
