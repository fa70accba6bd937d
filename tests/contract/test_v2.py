"""Legacy /v2/cut/ through the client: binary results of the asked kind."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from wagtail_bgcut.client import V2Result


def _open(result: V2Result) -> Image.Image:
    img = Image.open(io.BytesIO(result.data))
    img.load()
    return img


def test_default_png(client, png):
    result = client.cut_v2(png)
    assert isinstance(result, V2Result) and result.content_type == "image/png"
    img = _open(result)
    assert img.mode == "RGBA" and img.getpixel((1, 1))[3] == 0


@pytest.mark.parametrize("send_base64", [False, True])
def test_webp_alpha_with_options(client, jpeg, send_base64):
    result = client.cut_v2(
        jpeg,
        return_type="WEBP_80",
        channels="alpha",
        quality="high",
        max_resolution=1_000,
        send_base64=send_base64,
    )
    assert result.content_type == "image/webp"
    img = _open(result)
    assert img.format == "WEBP" and img.width * img.height <= 1_000
    assert img.convert("L").getpixel((0, 0)) < 30  # alpha mask: background is black
