"""Legacy /v2/cut/: raw-key Authorization, file or base64 input, binary answers, its error codes."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.factories import ImageBytesFactory, decode

from .conftest import detail


def test_png_rgba_by_default(api, png):
    response = api.v2(png)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    out = decode(response.content)
    assert out.mode == "RGBA" and out.size == (64, 48)
    assert out.getpixel((1, 1))[3] == 0 and out.getpixel((32, 24))[3] == 255
    assert [(c.endpoint, c.credits) for c in api.server.ledger] == [("v2_cut", 1)]


@pytest.mark.parametrize("return_type", ["WEBP", "webp", "WEBP_50", "WEBP_100"])
def test_webp_return_types(api, png, return_type):
    response = api.v2(png, data={"return_type": return_type})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    out = decode(response.content)
    assert out.format == "WEBP" and out.getpixel((1, 1))[3] == 0


def test_webp_100_is_lossless(api, png):
    lossless = decode(api.v2(png, data={"return_type": "WEBP_100"}).content)
    reference = decode(api.v2(png, data={"return_type": "PNG"}).content)
    assert lossless.convert("RGBA").tobytes() == reference.convert("RGBA").tobytes()


def test_alpha_channel_only(api, png):
    out = decode(api.v2(png, data={"channels": "alpha"}).content)
    assert out.mode == "L"
    assert out.getpixel((1, 1)) == 0 and out.getpixel((32, 24)) == 255


def test_base64_input_and_options(api, jpeg):
    response = api.v2(
        data={
            "image_file_b64": base64.b64encode(jpeg).decode(),
            "quality": "High",
            "max_resolution": "1000",
        }
    )
    assert response.status_code == 200
    out = decode(response.content)
    assert out.width * out.height <= 1000


@pytest.mark.parametrize(
    "data",
    [
        {"return_type": "JPG"},
        {"return_type": "WEBP_0"},
        {"return_type": "WEBP_101"},
        {"channels": "rgb"},
        {"quality": "Ultra"},
        {"max_resolution": "12000001"},
        {"max_resolution": "lots"},
    ],
)
def test_invalid_parameters_are_400_and_free(api, png, data):
    response = api.v2(png, data=data)
    assert response.status_code == 400
    assert detail(response)
    assert api.server.ledger == []


def test_missing_or_unsupported_image_is_400(api):
    assert api.v2().status_code == 400
    assert api.v2(ImageBytesFactory(red_on_white=True, fmt="GIF")).status_code == 400
    assert api.v2(data={"image_file_b64": "!!!not base64!!!"}).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong"}, {"Authorization": "Bearer test-key"}],
    ids=["missing", "wrong", "bearer-prefix"],
)
def test_v2_auth_is_the_bare_key(api, png, headers):
    if "Bearer" in headers.get("Authorization", ""):
        headers = {"Authorization": f"Bearer {api.key}"}
    response = api.v2(png, headers=headers)
    assert response.status_code == 401


def test_no_credits_is_402(api, png):
    api.server.set_credits(0)
    response = api.v2(png)
    assert response.status_code == 402
    assert api.server.credits == 0


def test_get_is_405(api):
    response = requests.get(f"{api.base}/v2/cut/", headers={"Authorization": api.key}, timeout=30)
    assert response.status_code == 405


def test_over_12_mb_is_413(api, png):
    response = api.v2(png + b"\0" * (12 * 1024 * 1024))
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/v2/cutt/", "/v2/", "/v2/remove/"])
def test_unknown_v2_url_is_450(api, png, path):
    response = requests.post(
        f"{api.base}{path}",
        headers={"Authorization": api.key},
        files={"image_file": png},
        timeout=30,
    )
    assert response.status_code == 450
