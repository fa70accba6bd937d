"""The provider pages' own example requests, unchanged except for the base URL and the key.

02/03/04 are the Python snippets, 05 the curl command, and the 01 overview's token flow is
spelled exactly as its request tables show it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests

from tests.factories import ImageBytesFactory, decode


@pytest.fixture
def photo(tmp_path, monkeypatch):
    """photo.jpg in the working directory, big enough for the AI Cut example's dots."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(
        ImageBytesFactory(red_on_white=True, fmt="JPEG", width=400, height=400)
    )
    return tmp_path / "photo.jpg"


def test_page_02_remove_bg_basic(bgcut_server, photo, tmp_path):
    API_KEY = bgcut_server.api_key
    API_BASE = bgcut_server.api_base
    HEADERS = {"Authorization": f"Bearer {API_KEY}"}

    # Step 1 — Upload image (multipart/form-data)
    with open("photo.jpg", "rb") as f:
        upload_response = requests.post(
            f"{API_BASE}/v3/remove-bg/upload-image/",
            headers=HEADERS,
            files={"image": f},
            timeout=60,
        )

    upload_response.raise_for_status()
    unique_filename = upload_response.json()["unique_filename"]

    # Step 2 — Process image (application/json)
    result = requests.post(
        f"{API_BASE}/v3/remove-bg/process-image/",
        headers={**HEADERS, "Content-Type": "application/json"},
        json={"unique_filename": unique_filename, "output_variants": [{"variant_name": "result"}]},
        timeout=300,
    )

    result.raise_for_status()
    output = result.json()
    print(output["output_urls"]["result"])

    import urllib.request

    urllib.request.urlretrieve(output["output_urls"]["result"], "output.png")

    out = decode((tmp_path / "output.png").read_bytes())
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (400, 400))
    assert out.getpixel((2, 2))[3] == 0  # white background removed
    assert out.getpixel((200, 200))[3] == 255  # red subject kept
    assert set(output) == {"unique_filename", "input_url", "output_urls"}
    assert output["unique_filename"] == unique_filename


def test_page_03_multiple_variants(bgcut_server, photo):
    API_KEY = bgcut_server.api_key
    API_BASE = bgcut_server.api_base
    HEADERS = {"Authorization": f"Bearer {API_KEY}"}

    with open("photo.jpg", "rb") as f:
        upload_response = requests.post(
            f"{API_BASE}/v3/remove-bg/upload-image/",
            headers=HEADERS,
            files={"image": f},
            timeout=60,
        )

    upload_response.raise_for_status()
    unique_filename = upload_response.json()["unique_filename"]

    result = requests.post(
        f"{API_BASE}/v3/remove-bg/process-image/",
        headers={**HEADERS, "Content-Type": "application/json"},
        json={
            "unique_filename": unique_filename,
            "output_variants": [
                {
                    "variant_name": "full",
                    "max_resolution": 12000000,
                    "format": "png",
                    "quality": "high",
                },
                {
                    "variant_name": "thumbnail",
                    "max_resolution": 250000,
                    "format": "webp",
                    "quality": "medium",
                    "autocrop": True,
                },
                {
                    "variant_name": "white_bg",
                    "max_resolution": 12000000,
                    "format": "jpg",
                    "background_color": "#ffffff",
                    "output_compression": 85,
                },
            ],
        },
        timeout=300,
    )

    result.raise_for_status()
    output = result.json()
    assert set(output["output_urls"]) == {"full", "thumbnail", "white_bg"}

    full = decode(requests.get(output["output_urls"]["full"], timeout=30).content)
    thumb = decode(requests.get(output["output_urls"]["thumbnail"], timeout=30).content)
    white = decode(requests.get(output["output_urls"]["white_bg"], timeout=30).content)
    assert (full.format, full.mode, full.size) == ("PNG", "RGBA", (400, 400))
    assert thumb.format == "WEBP" and thumb.mode == "RGBA"
    # autocrop: cropped to the disc (200x268 in a 400x400 photo)
    assert thumb.width < 260 and thumb.height < 330
    assert white.format == "JPEG" and white.mode == "RGB"
    assert min(white.getpixel((2, 2))) > 240  # white background
    # 1 credit per variant + 0.5 for the autocropped one
    assert bgcut_server.ledger[-1].credits == 3.5


def test_page_04_ai_cut_basic(bgcut_server, photo):
    API_KEY = bgcut_server.api_key
    API_BASE = bgcut_server.api_base
    HEADERS = {"Authorization": f"Bearer {API_KEY}"}
    before = bgcut_server.credits

    with open("photo.jpg", "rb") as f:
        init_response = requests.post(
            f"{API_BASE}/v3/ai-cut/initialize/", headers=HEADERS, files={"image": f}, timeout=300
        )

    init_response.raise_for_status()
    unique_filename = init_response.json()["unique_filename"]

    segment_response = requests.post(
        f"{API_BASE}/v3/ai-cut/segment/",
        headers={**HEADERS, "Content-Type": "application/json"},
        json={
            "unique_filename": unique_filename,
            "greenDots": [{"x": 250, "y": 300}],
            "redDots": [],
            "request_number": 1,
        },
        timeout=300,
    )

    segment_response.raise_for_status()
    result = segment_response.json()
    assert result["status"] == "completed" and result["request_number"] == 1

    refine_response = requests.post(
        f"{API_BASE}/v3/ai-cut/segment/",
        headers={**HEADERS, "Content-Type": "application/json"},
        json={
            "unique_filename": unique_filename,
            "greenDots": [{"x": 250, "y": 300}, {"x": 270, "y": 320}],
            "redDots": [{"x": 50, "y": 50}],
            "request_number": 2,
        },
        timeout=300,
    )

    refine_response.raise_for_status()
    refined = refine_response.json()
    assert refined["request_number"] == 2 and refined["unique_filename"] == unique_filename

    cut = decode(requests.get(refined["output_url"], timeout=30).content)
    assert (cut.format, cut.mode, cut.size) == ("PNG", "RGBA", (400, 400))
    assert cut.getpixel((250, 300))[3] == 255  # green dot: subject
    assert cut.getpixel((50, 50))[3] == 0  # red dot: background
    assert before - bgcut_server.credits == 1  # initialize 1 credit, segments free


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_page_05_v2_curl(bgcut_server, photo, tmp_path):
    completed = subprocess.run(
        [
            "curl",
            "-s",
            "-H",
            f"Authorization: {bgcut_server.api_key}",
            "-F",
            f"image_file=@{photo}",
            "-f",
            f"{bgcut_server.api_base}/v2/cut/",
            "-o",
            "output.png",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    out = decode((tmp_path / "output.png").read_bytes())
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (400, 400))
    assert out.getpixel((2, 2))[3] == 0 and out.getpixel((200, 200))[3] == 255


def test_page_01_token_flow_remove_bg(bgcut_server, photo):
    """Server asks the Token API for a token; the "browser" posts token + image."""
    token_response = requests.post(
        f"{bgcut_server.token_api_base}/v3/remove-bg/token/",
        headers={
            "Authorization": f"Bearer {bgcut_server.api_key}",
            "Content-Type": "application/json",
        },
        json={
            "output_variants": [
                {
                    "variant_name": "full",
                    "max_resolution": 12000000,
                    "format": "png",
                    "background_color": "transparent",
                    "quality": "high",
                    "output_compression": 90,
                    "autocrop": False,
                },
                {
                    "variant_name": "thumbnail",
                    "max_resolution": 250000,
                    "format": "webp",
                    "background_color": "#ffffff",
                    "quality": "medium",
                    "output_compression": 80,
                    "autocrop": True,
                },
            ]
        },
        timeout=30,
    )
    token_response.raise_for_status()
    access_token = token_response.json()["access_token"]

    with open("photo.jpg", "rb") as f:
        response = requests.post(
            f"{bgcut_server.api_base}/v3/remove-bg/",
            data={"token": access_token},
            files={"image": f},
            timeout=300,
        )
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success"
    assert set(body["output_urls"]) == {"full", "thumbnail"}
    thumb = decode(requests.get(body["output_urls"]["thumbnail"], timeout=30).content)
    assert thumb.format == "WEBP" and thumb.width * thumb.height <= 250_000
    assert thumb.getpixel((0, 0))[:3] >= (240, 240, 240)  # white background
    assert [c.credits for c in bgcut_server.ledger] == [2.5]


def test_page_01_token_flow_ai_cut(bgcut_server, photo):
    token_response = requests.post(
        f"{bgcut_server.token_api_base}/v3/ai-cut/token/",
        headers={"Authorization": f"Bearer {bgcut_server.api_key}"},
        timeout=30,
    )
    token_response.raise_for_status()
    access_token = token_response.json()["access_token"]
    assert [(c.endpoint, c.credits) for c in bgcut_server.ledger] == [("ai_cut_token", 2)]

    with open("photo.jpg", "rb") as f:
        init = requests.post(
            f"{bgcut_server.api_base}/v3/ai-cut/initialize/",
            data={"token": access_token},
            files={"image": f},
            timeout=300,
        )
    init.raise_for_status()
    session = init.json()
    assert set(session) == {"unique_filename", "s3_path", "bucket"}

    # The overview's segment call carries no credentials: the session is the capability.
    segment = requests.post(
        f"{bgcut_server.api_base}/v3/ai-cut/segment/",
        headers={"Content-Type": "application/json"},
        json={
            "unique_filename": session["unique_filename"],
            "greenDots": [{"x": 250, "y": 300}, {"x": 260, "y": 310}],
            "redDots": [{"x": 50, "y": 50}],
            "request_number": 1,
        },
        timeout=300,
    )
    segment.raise_for_status()
    assert segment.json()["status"] == "completed"
    assert len(bgcut_server.ledger) == 1  # the token paid for the whole session
