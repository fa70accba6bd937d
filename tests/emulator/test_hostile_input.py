"""Bad input gets a clear error, never a crash or a hang; the emulator keeps to its layer."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.factories import ImageBytesFactory, decode, png_bomb

from .conftest import detail


def test_decompression_bomb_is_400(api):
    response = api.upload(png_bomb(60_000, 60_000))
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
    sideways = ImageBytesFactory(
        red_on_white=True,
        subject="rectangle",
        box=(8, 8, 55, 39),
        fmt="JPEG",
        orientation=6,  # rotate 90° clockwise for display: shown as 48 x 64
    )
    uf = api.initialize(sideways).json()["unique_filename"]
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
