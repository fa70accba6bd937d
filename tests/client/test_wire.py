"""What the client puts on the wire for each endpoint, as the provider's pages show it.

The stub server records the exact requests; its answers are copied from the pages' examples.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import AccessToken, UnexpectedResponse
from wagtail_bgcut.variants import Variant

from .conftest import API_KEY, Reply

UPLOAD = "/v3/remove-bg/upload-image/"
PROCESS = "/v3/remove-bg/process-image/"
PROCESS_REPLY = {
    "unique_filename": "a1b2",
    "input_url": "https://cdn.backgroundcut.co/in.jpg",
    "output_urls": {"full": "https://cdn.backgroundcut.co/full.png"},
}


def test_upload_image_posts_multipart_image_with_bearer_key(stub, client, png_bytes):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "a1b2"}))
    upload = client.upload_image(png_bytes, filename="../../photo.png")
    assert upload.unique_filename == "a1b2"
    assert (upload.width, upload.height, upload.scale) == (32, 24, 1.0)
    seen = stub.calls(UPLOAD)[0]
    assert seen.method == "POST"
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["User-Agent"].startswith("wagtail-bgcut/")
    name, ctype, data = seen.files["image"]
    assert (name, ctype) == ("photo.png", "image/png")
    assert data == png_bytes  # an acceptable PNG is sent byte for byte


def test_upload_accepts_paths_and_file_objects(stub, client, tmp_path, jpeg_bytes):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "u"}))
    path = tmp_path / "holiday.jpeg"
    path.write_bytes(jpeg_bytes)
    client.upload_image(path)
    with open(path, "rb") as fh:
        client.upload_image(fh)
    client.upload_image(str(path))
    names = [s.files["image"][0] for s in stub.calls(UPLOAD)]
    assert names == ["holiday.jpeg"] * 3
    assert all(s.files["image"][1] == "image/jpeg" for s in stub.calls(UPLOAD))


def test_formats_the_api_refuses_are_converted_before_upload(stub, client):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "u"}))
    gif = ImageBytesFactory(green_square=True, fmt="GIF", width=40, height=30)
    client.upload_image(gif, filename="anim.gif")
    name, ctype, data = stub.calls(UPLOAD)[0].files["image"]
    assert ctype in ("image/png", "image/jpeg")
    assert name.rsplit(".", 1)[1] in ("png", "jpg")
    assert Image.open(io.BytesIO(data)).format in ("PNG", "JPEG")


def test_normalisation_can_be_switched_off(stub, png_bytes):
    from .conftest import fast_client

    stub.add(UPLOAD, Reply(200, {"unique_filename": "u"}))
    gif = ImageBytesFactory(green_square=True, fmt="GIF", width=40, height=30)
    with fast_client(stub.base, normalize_uploads=False) as c:
        upload = c.upload_image(gif, filename="anim.gif")
    assert stub.calls(UPLOAD)[0].files["image"][2] == gif
    assert (upload.width, upload.height) == (40, 30)


def test_process_image_sends_every_variant_explicitly(stub, client):
    stub.add(
        PROCESS,
        Reply(
            200,
            {
                **PROCESS_REPLY,
                "output_urls": {
                    "full": "https://cdn.backgroundcut.co/full.png",
                    "thumbnail": "https://cdn.backgroundcut.co/t.webp",
                },
            },
        ),
    )
    result = client.process_image(
        "a1b2",
        [
            {"variant_name": "full"},
            Variant.from_dict(
                {
                    "variant_name": "thumbnail",
                    "format": "webp",
                    "max_resolution": 250_000,
                    "autocrop": True,
                    "background_color": "#FFFFFF",
                }
            ),
        ],
    )
    assert result.output_urls["thumbnail"].endswith("t.webp")
    assert result.input_url == PROCESS_REPLY["input_url"]
    seen = stub.calls(PROCESS)[0]
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    body = seen.json
    assert body["unique_filename"] == "a1b2"
    assert body["output_variants"] == [
        {
            "variant_name": "full",
            "max_resolution": 12_000_000,
            "format": "png",
            "background_color": "transparent",
            "quality": "high",
            "output_compression": 90,
            "autocrop": False,
        },
        {
            "variant_name": "thumbnail",
            "max_resolution": 250_000,
            "format": "webp",
            "background_color": "#ffffff",
            "quality": "high",
            "output_compression": 90,
            "autocrop": True,
        },
    ]


def test_a_success_without_a_url_for_every_variant_is_an_error(stub, client):
    stub.add(PROCESS, Reply(200, PROCESS_REPLY))
    with pytest.raises(UnexpectedResponse, match="thumb"):
        client.process_image("a1b2", [{"variant_name": "full"}, {"variant_name": "thumb"}])


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b'{"unique_filename": 5}'])
def test_malformed_success_bodies_raise_unexpected_response(stub, client, png_bytes, body):
    stub.add(UPLOAD, Reply(200, body, {"Content-Type": "application/json"}))
    with pytest.raises(UnexpectedResponse) as info:
        client.upload_image(png_bytes)
    assert info.value.status == 200


def test_token_endpoints_live_on_the_token_api_base(stub, client):
    stub.add("/api/v3/remove-bg/token/", Reply(200, {"access_token": "eyJremove"}))
    stub.add("/api/v3/ai-cut/token/", Reply(200, {"access_token": "eyJaicut"}))
    token = client.create_remove_bg_token([{"variant_name": "full"}], unique_filename="a1b2")
    assert token == AccessToken("eyJremove")
    assert "eyJremove" not in repr(token)
    assert client.create_ai_cut_token().access_token == "eyJaicut"
    remove, aicut = stub.seen
    assert remove.headers["Authorization"] == f"Bearer {API_KEY}"
    assert remove.json["unique_filename"] == "a1b2"
    assert remove.json["output_variants"][0]["variant_name"] == "full"
    assert aicut.path == "/api/v3/ai-cut/token/"
    assert aicut.headers["Authorization"] == f"Bearer {API_KEY}"


def test_token_based_processing_sends_the_token_and_never_the_key(stub, client, png_bytes):
    stub.add("/v3/remove-bg/", Reply(200, {"status": "success", **PROCESS_REPLY}))
    stub.add(
        "/v3/ai-cut/initialize/",
        Reply(200, {"unique_filename": "s1", "s3_path": "p", "bucket": "b"}),
    )
    result = client.remove_bg_with_token(AccessToken("eyJtok"), png_bytes)
    assert result.status == "success"
    client.remove_bg_with_token("eyJtok2")  # the token names an earlier upload: no image
    session = client.ai_cut_initialize_with_token("eyJtok3", png_bytes)
    assert (session.unique_filename, session.s3_path, session.bucket) == ("s1", "p", "b")
    with_image, without_image, init = stub.seen
    for seen in stub.seen:
        assert "Authorization" not in seen.headers
        assert seen.headers["Content-Type"].startswith("multipart/form-data")
    assert with_image.form == {"token": "eyJtok"}
    assert with_image.files["image"][2] == png_bytes
    assert without_image.form == {"token": "eyJtok2"} and without_image.files == {}
    assert init.form == {"token": "eyJtok3"} and "image" in init.files


def test_ai_cut_with_the_key_and_all_dots(stub, client, png_bytes):
    stub.add("/v3/ai-cut/initialize/", Reply(200, {"unique_filename": "s1"}))
    stub.add(
        "/v3/ai-cut/segment/",
        Reply(
            200,
            {
                "status": "completed",
                "unique_filename": "s1",
                "output_url": "https://cdn.backgroundcut.co/s.png",
                "request_number": 2,
            },
        ),
    )
    session = client.ai_cut_initialize(png_bytes)
    assert session.scale == 1.0
    result = client.ai_cut_segment(
        session.unique_filename, [(250, 300), {"x": 270, "y": 320}], [(50.5, 50)], 2
    )
    assert result.request_number == 2 and result.status == "completed"
    init, segment = stub.seen
    assert init.headers["Authorization"] == f"Bearer {API_KEY}"
    assert segment.json == {
        "unique_filename": "s1",
        "greenDots": [{"x": 250, "y": 300}, {"x": 270, "y": 320}],
        "redDots": [{"x": 50.5, "y": 50}],
        "request_number": 2,
    }


def test_segment_scales_dots_measured_on_the_original(stub, client):
    stub.add("/v3/ai-cut/segment/", Reply(200, {"unique_filename": "s1", "output_url": "u"}))
    client.ai_cut_segment("s1", [(1000, 500)], [], 1, scale=0.5)
    assert stub.seen[0].json["greenDots"] == [{"x": 500.0, "y": 250.0}]


def test_v2_cut_uses_the_bare_key_and_returns_bytes(stub, client, png_bytes):
    out = ImageBytesFactory(green_square=True, fmt="WEBP", width=8, height=8)
    stub.add("/v2/cut/", Reply(200, out, {"Content-Type": "image/webp"}))
    result = client.cut_v2(
        png_bytes, return_type="webp_50", channels="ALPHA", quality="high", max_resolution=4_000_000
    )
    assert result.data == out and result.content_type == "image/webp"
    seen = stub.seen[0]
    assert seen.headers["Authorization"] == API_KEY  # no "Bearer"
    # 05 answers with an image: asking for JSON would be asking for what it never sends.
    assert "json" not in seen.headers["Accept"]
    assert seen.headers["Accept"].startswith("image/png")
    assert seen.form == {
        "return_type": "WEBP_50",
        "channels": "alpha",
        "quality": "High",
        "max_resolution": "4000000",
    }
    assert seen.files["image_file"][2] == png_bytes


def test_v2_cut_can_send_base64(stub, client, png_bytes):
    stub.add("/v2/cut/", Reply(200, png_bytes, {"Content-Type": "image/png"}))
    client.cut_v2(png_bytes, send_base64=True)
    seen = stub.seen[0]
    assert base64.b64decode(seen.form["image_file_b64"]) == png_bytes
    assert seen.form["return_type"] == "PNG" and seen.form["channels"] == "rgba"
    assert seen.files == {}


def test_v2_json_on_success_is_not_mistaken_for_an_image(stub, client, png_bytes):
    stub.add("/v2/cut/", Reply(200, {"detail": "odd"}))
    with pytest.raises(UnexpectedResponse):
        client.cut_v2(png_bytes)


def test_v2_bytes_that_are_not_an_image_are_refused(stub, client, png_bytes):
    stub.add("/v2/cut/", Reply(200, b"\x00" * 64, {"Content-Type": "image/png"}))
    with pytest.raises(UnexpectedResponse, match="not an image"):
        client.cut_v2(png_bytes)
