"""v3 remove-bg with the Bearer key: upload-image, process-image, image reuse and every error."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.factories import ImageBytesFactory, decode

from .conftest import HEIGHT, WIDTH, detail


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=30)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_every_documented_input_format_is_accepted(api, fmt):
    image = ImageBytesFactory(red_on_white=True, fmt=fmt.upper())
    uploaded = api.upload(image, name="no-extension")
    assert uploaded.status_code == 200
    result = api.process(uploaded.json()["unique_filename"], [{"variant_name": "x"}]).json()
    source = _get(result["input_url"])
    assert source.content == image  # input_url serves the original bytes
    assert source.headers["Content-Type"] == f"image/{fmt}"


def test_variants_are_rendered_as_asked(api, png):
    uf = api.upload(png).json()["unique_filename"]
    response = api.process(
        uf,
        [
            {"variant_name": "small", "max_resolution": 250_000, "format": "png"},
            {"variant_name": "jpg", "format": "jpg", "background_color": "#0000FF"},
            {"variant_name": "crop", "format": "webp", "autocrop": True},
            {"variant_name": "lossy", "format": "webp", "output_compression": 5},
        ],
    )
    assert response.status_code == 200
    urls = response.json()["output_urls"]
    small = decode(_get(urls["small"]).content)
    assert small.size == (WIDTH, HEIGHT)  # never upscaled
    jpg = decode(_get(urls["jpg"]).content)
    assert jpg.format == "JPEG" and jpg.mode == "RGB"
    r, g, b = jpg.getpixel((1, 1))
    assert b > 200 and r < 60 and g < 60  # the background colour asked for
    crop = decode(_get(urls["crop"]).content)
    assert crop.width < WIDTH and crop.height < HEIGHT
    assert crop.getpixel((crop.width // 2, crop.height // 2))[3] == 255
    lossless = _get(urls["crop"]).content
    assert len(_get(urls["lossy"]).content) < len(lossless) * 2


def test_max_resolution_scales_down_large_inputs(api):
    large = ImageBytesFactory(red_on_white=True, fmt="PNG", width=1000, height=600)
    uf = api.upload(large).json()["unique_filename"]
    urls = api.process(uf, [{"variant_name": "t", "max_resolution": 250_000}]).json()["output_urls"]
    out = decode(_get(urls["t"]).content)
    assert out.width * out.height <= 250_000
    assert abs(out.width / out.height - 1000 / 600) < 0.02


def test_unique_filename_can_be_reused_with_new_variants(api, png):
    uf = api.upload(png).json()["unique_filename"]
    first = api.process(uf, [{"variant_name": "a"}])
    second = api.process(uf, [{"variant_name": "b", "format": "webp"}])
    assert first.status_code == second.status_code == 200
    assert second.json()["unique_filename"] == uf
    assert list(second.json()["output_urls"]) == ["b"]
    upload = api.server.state.get_upload(uf)
    assert upload.cuts == 1  # the cut-out is cached per upload and quality


def test_unknown_unique_filename_is_404(api):
    response = api.process("a1b2c3d4-e5f6-7890-abcd-ef1234567890", [{"variant_name": "x"}])
    assert response.status_code == 404
    assert "not found" in detail(response).lower()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "test-key"},
        {"Authorization": "Bearer"},
    ],
)
def test_missing_or_invalid_key_is_401(api, png, headers):
    response = requests.post(
        f"{api.base}/v3/remove-bg/upload-image/", headers=headers, files={"image": png}, timeout=30
    )
    assert response.status_code == 401
    assert detail(response)
    assert api.server.state.uploads == {}


def test_missing_image_is_400(api):
    response = requests.post(
        f"{api.base}/v3/remove-bg/upload-image/",
        headers=api.headers,
        data={"image": "not a file"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "image" in detail(response).lower()


@pytest.mark.parametrize(
    "data",
    [
        ImageBytesFactory(red_on_white=True, fmt="GIF"),
        ImageBytesFactory(red_on_white=True, fmt="BMP"),
        ImageBytesFactory(red_on_white=True, fmt="TIFF"),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\x89PNG\r\n\x1a\n" + b"broken" * 10,
    ],
    ids=["gif", "bmp", "tiff", "svg", "corrupt-png"],
)
def test_unsupported_or_corrupt_image_is_400(api, data):
    # Named .png on purpose: the emulator sniffs bytes, not filenames.
    response = api.upload(data, name="photo.png")
    assert response.status_code == 400
    assert detail(response)


def test_format_error_uses_the_documented_detail(api):
    response = api.upload(ImageBytesFactory(red_on_white=True, fmt="GIF"), name="photo.png")
    assert detail(response) == "Invalid image format. Supported: PNG, JPG, JPEG, WebP"


def test_upload_over_12_mb_is_413(api):
    # A valid PNG header followed by padding: refused on size before any decoding.
    big = ImageBytesFactory(red_on_white=True, fmt="PNG") + b"\0" * (12 * 1024 * 1024)
    response = api.upload(big)
    assert response.status_code == 413
    assert "12MB" in detail(response)


def test_malformed_json_is_400(api, png):
    response = requests.post(
        f"{api.base}/v3/remove-bg/process-image/",
        headers={**api.headers, "Content-Type": "application/json"},
        data=b'{"unique_filename": ',
        timeout=30,
    )
    assert response.status_code == 400
    assert "json" in detail(response).lower()


@pytest.mark.parametrize(
    "body",
    [{}, {"output_variants": [{"variant_name": "x"}]}, {"unique_filename": "u"}],
    ids=["empty", "no-unique-filename", "no-variants"],
)
def test_missing_fields_are_400(api, body):
    response = requests.post(
        f"{api.base}/v3/remove-bg/process-image/", headers=api.headers, json=body, timeout=30
    )
    assert response.status_code == 400


def test_duplicate_variant_name_is_400(api, png):
    uf = api.upload(png).json()["unique_filename"]
    response = api.process(uf, [{"variant_name": "x"}, {"variant_name": "x", "format": "webp"}])
    assert response.status_code == 400
    assert "x" in detail(response)
    assert api.server.ledger == []


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ({"variant_name": "x", "max_resolution": 249_999}, "max_resolution"),
        ({"variant_name": "x", "max_resolution": 25_000_001}, "max_resolution"),
        ({"variant_name": "x", "format": "gif"}, "format"),
        ({"variant_name": "x", "background_color": "white"}, "background_color"),
        ({"variant_name": "x", "quality": "ultra"}, "quality"),
        ({"variant_name": "x", "output_compression": 0}, "output_compression"),
        ({"variant_name": "x", "autocrop": "yes"}, "autocrop"),
        ({"format": "png"}, "variant_name"),
        ({"variant_name": "x", "colour": "#ffffff"}, "colour"),
    ],
)
def test_invalid_variant_options_are_422_naming_the_field(api, png, variant, field):
    uf = api.upload(png).json()["unique_filename"]
    response = api.process(uf, [variant])
    assert response.status_code == 422
    assert field in detail(response)
    assert api.server.ledger == []


def test_both_spellings_of_transparent_background_are_accepted(api, png):
    uf = api.upload(png).json()["unique_filename"]
    response = api.process(
        uf,
        [
            {"variant_name": "a", "background_color": "transparent"},
            {"variant_name": "b", "background_color": None},
        ],
    )
    assert response.status_code == 200
    for url in response.json()["output_urls"].values():
        assert decode(_get(url).content).getpixel((0, 0))[3] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v3/remove-bg/upload-image/",
        "/v3/remove-bg/process-image/",
        "/v3/remove-bg/",
        "/v3/ai-cut/initialize/",
        "/v3/ai-cut/segment/",
        "/api/v3/remove-bg/token/",
        "/api/v3/ai-cut/token/",
    ],
)
def test_wrong_method_is_405(api, path):
    response = requests.get(f"{api.base}{path}", headers=api.headers, timeout=30)
    assert response.status_code == 405
    assert detail(response)


def test_unknown_v3_path_is_404_json(api):
    response = requests.post(f"{api.base}/v3/inpaint/", headers=api.headers, timeout=30)
    assert response.status_code == 404
    assert detail(response)


def test_result_content_type_matches_the_bytes(api, png):
    uf = api.upload(png).json()["unique_filename"]
    urls = api.process(
        uf, [{"variant_name": n, "format": n} for n in ("png", "jpg", "webp")]
    ).json()["output_urls"]
    for name, url in urls.items():
        response = _get(url)
        assert url.endswith(f".{name}")
        expected = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[name]
        assert Image.open(io.BytesIO(response.content)).format == expected
        assert response.headers["Content-Type"] == f"image/{'jpeg' if name == 'jpg' else name}"
