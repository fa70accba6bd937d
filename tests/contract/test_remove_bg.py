"""remove-bg through the client: upload + process, image reuse, the token flow, downloads."""

from __future__ import annotations

from PIL import Image

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import AccessToken, ProcessResult, Upload

from .conftest import IMAGE

VARIANTS = [
    {"variant_name": "full", "format": "png"},
    {"variant_name": "thumbnail", "format": "webp", "max_resolution": 250_000, "autocrop": True},
    {"variant_name": "white_bg", "format": "jpg", "background_color": "#ffffff"},
]


def test_upload_then_process_several_variants(target, client, png):
    upload = client.upload_image(png)
    assert isinstance(upload, Upload) and upload.unique_filename
    assert (upload.width, upload.height, upload.scale) == (96, 72, 1.0)
    result = client.process_image(upload.unique_filename, VARIANTS)
    assert isinstance(result, ProcessResult)
    assert result.unique_filename == upload.unique_filename
    assert set(result.output_urls) == {"full", "thumbnail", "white_bg"}
    expected = {"full": ("png", "RGBA"), "thumbnail": ("webp", "RGBA"), "white_bg": ("jpg", "RGB")}
    for name, (fmt, mode) in expected.items():
        with client.download(result.output_urls[name], expected_format=fmt) as file:
            assert file.format == fmt
            with Image.open(file.path) as img:
                assert img.mode == mode
                if name == "full":
                    assert img.size == (96, 72)
                    assert img.getpixel((1, 1))[3] == 0 and img.getpixel((48, 36))[3] == 255
                if name == "thumbnail":
                    assert img.width < 96 and img.height < 72  # autocropped
    if target.server is not None:
        assert [c.credits for c in target.server.ledger] == [3.5]


def test_reuse_unique_filename(client, jpeg):
    upload = client.upload_image(jpeg)
    first = client.process_image(upload.unique_filename, [{"variant_name": "a"}])
    second = client.process_image(upload.unique_filename, [{"variant_name": "b", "format": "webp"}])
    assert first.unique_filename == second.unique_filename == upload.unique_filename
    assert list(second.output_urls) == ["b"]


def test_client_normalises_formats_the_api_refuses(target, client):
    # The emulator refuses GIF and BMP (as the pages say); the client converts them first.
    for fmt in ("GIF", "BMP"):
        upload = client.upload_image(ImageBytesFactory(**IMAGE, fmt=fmt))
        assert upload.unique_filename
    if target.server is not None:
        formats = {u.format for u in target.server.state.uploads.values()}
        assert formats <= {"png", "jpeg"}


def test_remove_bg_token_flow(target, client, png):
    token = client.create_remove_bg_token(VARIANTS[:2])
    assert isinstance(token, AccessToken) and token.access_token not in repr(token)
    result = client.remove_bg_with_token(token, png)
    assert result.status == "success"
    assert set(result.output_urls) == {"full", "thumbnail"}
    with client.download(result.output_urls["thumbnail"], expected_format="webp") as file:
        assert file.width * file.height <= 250_000


def test_remove_bg_token_for_an_uploaded_image(client, png):
    upload = client.upload_image(png)
    token = client.create_remove_bg_token(VARIANTS[:1], unique_filename=upload.unique_filename)
    result = client.remove_bg_with_token(token.access_token)  # no image: the token names it
    assert result.unique_filename == upload.unique_filename
    assert list(result.output_urls) == ["full"]
