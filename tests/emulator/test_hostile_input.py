"""Bad input gets a clear error, never a crash or a hang; the emulator keeps to its layer."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import requests
from PIL import Image

from .conftest import decode, detail


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: a decompression bomb, refused from the header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    body = zlib.compress(b"\0" * 1024)
    idat = b"IDAT" + body
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + crc
        + struct.pack(">I", len(body))
        + idat
        + struct.pack(">I", zlib.crc32(idat) & 0xFFFFFFFF)
    )


def test_decompression_bomb_is_400(api):
    response = api.upload(_png_header_only(60_000, 60_000))
    assert response.status_code == 400
    assert detail(response)


def test_truncated_jpeg_is_400(api, jpeg):
    assert api.upload(jpeg[: len(jpeg) // 3]).status_code == 400


def test_not_json_content_type_on_a_json_endpoint_is_400(api):
    response = requests.post(
        f"{api.base}/v3/remove-bg/process-image/",
        headers=api.headers,
        data={"unique_filename": "x"},
        timeout=30,
    )
    assert response.status_code == 400


def test_json_that_is_not_an_object_is_400(api):
    response = requests.post(
        f"{api.base}/v3/remove-bg/process-image/", headers=api.headers, json=[1, 2], timeout=30
    )
    assert response.status_code == 400


def test_output_variants_of_the_wrong_type(api, png):
    uf = api.upload(png).json()["unique_filename"]
    assert api.process(uf, "full").status_code == 400
    assert api.process(uf, ["full"]).status_code == 422
    assert api.process(uf, []).status_code == 400


def test_ai_cut_dots_are_in_displayed_pixels(api):
    """A JPEG stored sideways with an EXIF rotation: dots address the upright image."""
    img = Image.new("RGB", (64, 48), "white")
    img.paste((220, 20, 20), (8, 8, 56, 40))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display: shown as 48 x 64
    img.save(out, "JPEG", exif=exif)
    uf = api.initialize(out.getvalue()).json()["unique_filename"]
    assert api.segment(uf, [(60, 10)]).status_code == 400  # x=60 is outside a 48-wide image
    response = api.segment(uf, [(24, 32)])
    assert response.status_code == 200
    cut = decode(requests.get(response.json()["output_url"], timeout=30).content)
    assert cut.size == (48, 64)


def test_emulator_imports_neither_django_nor_the_client():
    code = (
        "import sys, wagtail_bgcut.testing as t\n"
        "s = t.EmulatorServer().start(); s.stop()\n"
        "from wagtail_bgcut.testing import engine; engine._imaging()\n"
        "bad = [m for m in sys.modules if m.startswith(('django', 'wagtail_bgcut.client'))]\n"
        "assert not bad, bad\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
