"""prepare_upload: acceptable files go out untouched, everything else becomes what the API takes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.factories import decode, encode, png_bomb
from wagtail_bgcut.imaging import (
    DecompressionBomb,
    PreparedUpload,
    UnsupportedImage,
    prepare_upload,
)


def photo(size=(120, 80)) -> Image.Image:
    arr = np.random.default_rng(3).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_acceptable_files_are_sent_byte_for_byte(fmt, content_type, extension):
    data = encode(photo(), fmt)
    prepared = prepare_upload(data)
    assert isinstance(prepared, PreparedUpload)
    assert prepared.data is data or prepared.data == data
    assert prepared.changed is False
    assert (prepared.format, prepared.content_type, prepared.extension) == (
        fmt,
        content_type,
        extension,
    )
    assert (prepared.width, prepared.height, prepared.scale) == (120, 80, 1.0)


def test_a_binary_stream_is_read():
    data = encode(photo(), "PNG")
    assert prepare_upload(io.BytesIO(data)).data == data


def test_gif_without_transparency_becomes_jpeg():
    prepared = prepare_upload(encode(photo().convert("P"), "GIF"))
    assert prepared.changed and prepared.format == "JPEG" and prepared.extension == "jpg"
    img = decode(prepared.data)
    assert img.format == "JPEG" and img.size == (120, 80)


def test_transparent_gif_becomes_png_and_keeps_transparency():
    pal = Image.new("P", (20, 20), 1)
    pal.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)
    pal.paste(0, (0, 0, 10, 20))
    prepared = prepare_upload(encode(pal, "GIF", transparency=1))
    img = decode(prepared.data)
    assert prepared.format == "PNG" and img.format == "PNG" and img.mode == "RGBA"
    assert img.getpixel((15, 5))[3] == 0
    assert img.getpixel((5, 5)) == (255, 0, 0, 255)


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "AVIF"])
def test_other_formats_are_converted(fmt):
    prepared = prepare_upload(encode(photo(), fmt))
    assert prepared.changed and prepared.format == "JPEG"
    assert decode(prepared.data).size == (120, 80)


def test_cmyk_jpeg_is_converted_to_rgb():
    prepared = prepare_upload(encode(Image.new("CMYK", (30, 30), (0, 255, 255, 0)), "JPEG"))
    img = decode(prepared.data)
    assert prepared.changed and img.mode == "RGB"
    r, g, b = img.getpixel((15, 15))
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_png_is_converted():
    arr = np.full((10, 10), 40000, np.uint16)
    prepared = prepare_upload(encode(Image.fromarray(arr), "PNG"))
    assert prepared.changed
    assert decode(prepared.data).mode == "RGB"


def test_exif_rotation_is_applied_and_the_size_is_the_displayed_one():
    exif = Image.Exif()
    exif[0x0112] = 8  # viewers rotate 90 degrees counter-clockwise
    prepared = prepare_upload(encode(photo((60, 30)), "JPEG", exif=exif.tobytes()))
    img = decode(prepared.data)
    assert prepared.changed
    assert (prepared.width, prepared.height) == img.size == (30, 60)
    assert img.getexif().get(0x0112, 1) == 1
    assert prepared.scale == 1.0


def test_too_many_pixels_are_scaled_down_never_past_the_limit():
    prepared = prepare_upload(encode(photo((600, 400)), "PNG"), max_pixels=60_000)
    img = decode(prepared.data)
    assert prepared.changed
    assert img.width * img.height <= 60_000
    assert img.size == (prepared.width, prepared.height)
    assert prepared.scale == pytest.approx(img.width / 600)
    assert prepared.scale == pytest.approx((60_000 / 240_000) ** 0.5, abs=0.01)


def test_too_many_bytes_are_reduced_below_the_limit():
    noisy = encode(photo((400, 400)), "PNG")  # random pixels: a big PNG
    assert len(noisy) > 300_000
    prepared = prepare_upload(noisy, max_bytes=100_000)
    assert prepared.changed and len(prepared.data) <= 100_000
    assert decode(prepared.data).format == "JPEG"


def test_transparent_image_too_big_in_bytes_stays_png_and_shrinks():
    arr = np.random.default_rng(5).integers(0, 255, (300, 300, 4), dtype=np.uint8)
    data = encode(Image.fromarray(arr, "RGBA"), "PNG")
    prepared = prepare_upload(data, max_bytes=len(data) // 3)
    img = decode(prepared.data)
    assert prepared.format == "PNG" and img.mode == "RGBA"
    assert len(prepared.data) <= len(data) // 3
    assert img.width < 300 and prepared.scale < 1.0


def test_small_images_are_never_upscaled():
    prepared = prepare_upload(encode(photo((5, 3)), "BMP"))
    assert decode(prepared.data).size == (5, 3)


def test_corrupt_data_is_refused():
    with pytest.raises(UnsupportedImage):
        prepare_upload(b"definitely not an image")
    truncated = encode(photo((300, 300)), "PNG")[:2000]
    with pytest.raises(UnsupportedImage):
        prepare_upload(truncated)


def test_bomb_is_refused_before_decoding():
    with pytest.raises(DecompressionBomb):
        prepare_upload(png_bomb())
    with pytest.raises(DecompressionBomb):
        prepare_upload(encode(photo((200, 200)), "PNG"), max_source_pixels=39_999)
