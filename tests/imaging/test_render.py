"""render_variant: every output option, checked on the decoded bytes of real files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.factories import decode
from tests.imaging.helpers import RED, cutout
from wagtail_bgcut.imaging import RenderedImage, render_variant, render_variants
from wagtail_bgcut.variants import Variant


def variant(**options) -> Variant:
    return Variant.from_dict({"variant_name": "v", **options})


def close(a, b, tolerance=12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_default_variant_is_a_transparent_png_of_the_same_size():
    result = render_variant(cutout(), variant())
    assert isinstance(result, RenderedImage)
    assert (result.format, result.content_type, result.extension) == ("png", "image/png", "png")
    img = decode(result.data)
    assert img.format == "PNG" and img.mode == "RGBA"
    assert img.size == (result.width, result.height) == (200, 100)
    assert img.getpixel((0, 0))[3] == 0
    assert img.getpixel((100, 50)) == (*RED, 255)


def test_jpg_never_has_alpha_and_transparency_becomes_white():
    result = render_variant(cutout(), variant(format="jpg"))
    assert (result.format, result.content_type) == ("jpg", "image/jpeg")
    img = decode(result.data)
    assert img.format == "JPEG" and img.mode == "RGB"
    assert close(img.getpixel((5, 5)), (255, 255, 255))
    assert close(img.getpixel((100, 50)), RED)


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_background_colour_fills_the_transparent_area(fmt):
    result = render_variant(cutout(), variant(format=fmt, background_color="#1A01FF"))
    img = decode(result.data)
    assert img.mode == "RGB"
    assert close(img.getpixel((5, 5)), (0x1A, 0x01, 0xFF), tolerance=0 if fmt == "png" else 14)
    assert close(img.getpixel((100, 50)), RED, tolerance=0 if fmt == "png" else 14)


@pytest.mark.parametrize("spelling", ["transparent", None, ""])
def test_every_spelling_of_no_background_keeps_alpha(spelling):
    img = decode(render_variant(cutout(), variant(format="webp", background_color=spelling)).data)
    assert img.format == "WEBP" and img.mode == "RGBA"
    assert img.getpixel((5, 5))[3] == 0
    assert img.getpixel((100, 50))[3] == 255


def test_webp_100_is_lossless():
    source = Image.effect_noise((64, 48), 60).convert("RGB").convert("RGBA")
    img = decode(render_variant(source, variant(format="webp", output_compression=100)).data)
    assert np.array_equal(np.asarray(img.convert("RGBA")), np.asarray(source))


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_output_compression_trades_size_for_fidelity(fmt):
    source = Image.effect_noise((160, 120), 40).convert("RGB").convert("RGBA")
    low = render_variant(source, variant(format=fmt, output_compression=10))
    high = render_variant(source, variant(format=fmt, output_compression=95))
    assert len(low.data) < len(high.data)
    original = np.asarray(source.convert("RGB"), np.float32)

    def error(r: RenderedImage) -> float:
        return float(
            np.abs(np.asarray(decode(r.data).convert("RGB"), np.float32) - original).mean()
        )

    assert error(low) > error(high)


def test_output_compression_does_not_change_png():
    a = render_variant(cutout(), variant(output_compression=5))
    b = render_variant(cutout(), variant(output_compression=100))
    assert a.data == b.data


def test_max_resolution_scales_down_proportionally():
    big = cutout((1000, 500), box=(100, 100, 900, 400))
    result = render_variant(big, variant(max_resolution=250_000))
    img = decode(result.data)
    assert img.size == (result.width, result.height)
    assert img.width * img.height <= 250_000
    assert img.width * img.height > 245_000  # as large as the budget allows
    assert abs(img.width / img.height - 2.0) < 0.01


def test_max_resolution_never_scales_up():
    img = decode(render_variant(cutout((300, 200)), variant(max_resolution=25_000_000)).data)
    assert img.size == (300, 200)


def test_autocrop_crops_to_the_subject():
    result = render_variant(cutout(), variant(autocrop=True))
    img = decode(result.data)
    assert img.size == (100, 50)
    alpha = np.asarray(img.getchannel("A"))
    assert alpha[0].max() == 255 and alpha[-1].max() == 255  # the subject touches every edge
    assert alpha[:, 0].max() == 255 and alpha[:, -1].max() == 255


def test_autocrop_ignores_faint_noise_around_the_subject():
    img = cutout()
    img.putpixel((2, 2), (0, 0, 0, 3))  # an almost invisible speck far away
    assert decode(render_variant(img, variant(autocrop=True)).data).size == (100, 50)


def test_autocrop_then_max_resolution_uses_the_whole_budget_for_the_subject():
    big = cutout((2000, 2000), box=(500, 500, 1500, 1000))  # a 1000x500 subject
    img = decode(render_variant(big, variant(autocrop=True, max_resolution=250_000)).data)
    assert img.width * img.height <= 250_000
    assert abs(img.width / img.height - 2.0) < 0.02
    assert img.width > 700


def test_autocrop_of_an_empty_cutout_returns_the_full_frame():
    empty = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    for fmt in ("png", "jpg", "webp"):
        img = decode(render_variant(empty, variant(format=fmt, autocrop=True)).data)
        assert img.size == (120, 80)


def test_autocrop_with_a_background_colour_crops_before_filling():
    img = decode(render_variant(cutout(), variant(autocrop=True, background_color="#00ff00")).data)
    assert img.size == (100, 50)
    assert img.getpixel((0, 0)) == RED  # no green border left around the subject


def test_quality_only_changes_resampling():
    source = cutout((400, 300), box=(50, 50, 350, 250))
    unscaled = {q: render_variant(source, variant(quality=q)).data for q in ("high", "low")}
    assert unscaled["high"] == unscaled["low"]
    sizes = {
        q: decode(render_variant(source, variant(quality=q, max_resolution=250_000)).data).size
        for q in ("high", "medium", "low")
    }
    assert len(set(sizes.values())) == 1


def test_downscaling_does_not_darken_edges():
    """Transparent pixels are black; a non-premultiplied resize would smear them into the edge."""
    source = cutout((1000, 1000), box=(333, 333, 667, 667), colour=(255, 255, 255))
    img = decode(render_variant(source, variant(max_resolution=250_000)).data)
    rgba = np.asarray(img)
    visible = rgba[..., 3] > 0
    assert rgba[visible][:, :3].min() >= 250


def test_non_rgba_input_is_accepted():
    img = decode(render_variant(Image.new("RGB", (30, 20), (1, 2, 3)), variant()).data)
    assert img.size == (30, 20) and img.getpixel((0, 0)) == (1, 2, 3, 255)


def test_one_pixel_image_renders_in_every_format():
    for fmt in ("png", "jpg", "webp"):
        one = Image.new("RGBA", (1, 1), (255, 0, 0, 255))
        img = decode(render_variant(one, variant(format=fmt, autocrop=True)).data)
        assert img.size == (1, 1)


def test_render_variants_returns_one_file_per_name():
    variants = [
        Variant.from_dict({"variant_name": "full"}),
        Variant.from_dict({"variant_name": "thumb", "format": "webp", "autocrop": True}),
        Variant.from_dict({"variant_name": "white", "format": "jpg"}),
    ]
    results = render_variants(cutout(), variants)
    assert list(results) == ["full", "thumb", "white"]
    assert [decode(r.data).format for r in results.values()] == ["PNG", "WEBP", "JPEG"]
    assert results["thumb"].width == 100
