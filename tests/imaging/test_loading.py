"""open_image: awkward files come out upright, 8-bit RGB/RGBA; hostile ones get a clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.factories import encode, png_bomb
from wagtail_bgcut.imaging import (
    DecompressionBomb,
    ImageError,
    UnsupportedImage,
    open_image,
    remove_background,
)


def two_halves(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


def test_exif_orientation_is_applied_so_pixels_match_the_display():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; viewers rotate 90 degrees clockwise
    data = encode(two_halves(), "JPEG", quality=95, exif=exif.tobytes())
    img = open_image(data)
    assert img.size == (20, 40)
    top = img.getpixel((10, 5))
    bottom = img.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the stored left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour():
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)
    img = open_image(data)
    assert img.mode == "RGB"
    r, g, b = img.getpixel((8, 8))
    assert r > 200 and g < 60 and b < 60


def test_palette_with_transparency_keeps_its_alpha():
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.paste(1, (0, 0, 5, 10))
    img = open_image(encode(pal, "PNG", transparency=1))
    assert img.mode == "RGBA"
    assert img.getpixel((2, 2))[3] == 0
    assert img.getpixel((7, 2)) == (255, 0, 0, 255)


def test_palette_without_transparency_is_rgb():
    pal = Image.new("RGB", (10, 10), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    img = open_image(encode(pal, "PNG"))
    assert img.mode == "RGB"
    assert img.getpixel((5, 5)) == (10, 200, 30)


def test_la_image_keeps_grey_and_alpha():
    la = Image.merge("LA", (Image.new("L", (8, 8), 120), Image.new("L", (8, 8), 77)))
    img = open_image(encode(la, "PNG"))
    assert img.mode == "RGBA"
    assert img.getpixel((3, 3)) == (120, 120, 120, 77)


def test_sixteen_bit_grey_png_is_scaled_to_eight_bits():
    arr = np.full((6, 6), 65535, np.uint16)
    arr[:, :3] = 32896  # mid grey in 16 bits (128 * 257)
    data = encode(Image.fromarray(arr), "PNG")
    assert data[24] == 16  # really a 16-bit file
    img = open_image(data)
    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) == (128, 128, 128)
    assert img.getpixel((5, 0)) == (255, 255, 255)


def test_float_image_in_unit_range_is_stretched():
    arr = np.full((4, 4), 0.5, np.float32)
    img = open_image(Image.fromarray(arr, "F"))
    assert img.getpixel((0, 0)) == (128, 128, 128)


def test_grayscale_jpeg_becomes_rgb():
    img = open_image(encode(Image.new("L", (9, 9), 90), "JPEG"))
    assert img.mode == "RGB"
    assert all(abs(c - 90) <= 2 for c in img.getpixel((4, 4)))


def test_existing_alpha_is_kept():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 0))
    rgba.paste((0, 255, 0, 255), (5, 0, 10, 10))
    img = open_image(encode(rgba, "PNG"))
    assert img.mode == "RGBA"
    assert img.getpixel((1, 1))[3] == 0
    assert img.getpixel((8, 1)) == (0, 255, 0, 255)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (12, 12), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = open_image(out.getvalue())
    assert img.size == (12, 12)
    r, _g, b = img.getpixel((6, 6))[:3]
    assert r > 200 and b < 50


def test_paths_and_streams_are_read_and_nothing_stays_open(tmp_path):
    path = tmp_path / "photo.png"
    two_halves().save(path)
    from_path = open_image(path)
    from_str = open_image(str(path))
    with open(path, "rb") as fh:
        from_stream = open_image(fh)
    assert from_path.tobytes() == from_str.tobytes() == from_stream.tobytes()
    path.unlink()  # Windows-style check: no handle left holding the file
    assert from_path.getpixel((0, 0)) == (255, 0, 0)


def test_a_pillow_image_is_not_modified():
    original = Image.new("L", (5, 5), 40)
    img = open_image(original)
    assert img.mode == "RGB" and original.mode == "L"


@pytest.mark.parametrize("size", [(1, 1), (3000, 2), (2, 1500)])
def test_tiny_and_extremely_thin_images_are_cut_out_without_error(size):
    img = Image.new("RGB", size, (30, 60, 90))
    img.paste((250, 250, 250), (0, 0, max(1, size[0] // 3), size[1]))
    cut = remove_background(img)
    assert cut.mode == "RGBA"
    assert cut.size == size


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # would run Ghostscript
    ],
    ids=["empty", "text", "broken-png", "eps"],
)
def test_corrupt_or_refused_data_is_a_clear_error(data):
    with pytest.raises(UnsupportedImage, match=r"not an image|corrupt"):
        open_image(data)


def test_truncated_jpeg_is_refused_not_half_decoded():
    data = encode(two_halves((200, 200)), "JPEG", quality=95)
    with pytest.raises(UnsupportedImage):
        open_image(data[: len(data) // 2])


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UnsupportedImage, match="Cannot read"):
        open_image(tmp_path / "nope.png")


def test_decompression_bomb_is_refused_from_the_header():
    with pytest.raises(DecompressionBomb) as info:
        open_image(png_bomb())
    assert info.value.pixels == 3_600_000_000
    assert "3,600,000,000 pixels" in str(info.value)
    assert isinstance(info.value, ImageError)


def test_max_pixels_is_respected_for_ordinary_images():
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(DecompressionBomb):
        open_image(data, max_pixels=9_999)
    assert open_image(data, max_pixels=10_000).size == (100, 100)
    with pytest.raises(DecompressionBomb):
        open_image(Image.new("RGB", (100, 100)), max_pixels=9_999)
