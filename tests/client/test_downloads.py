"""Result downloads: allowed hosts only, re-checked redirects, size caps, real image checks."""

from __future__ import annotations

import os

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import DownloadError
from wagtail_bgcut.client import exceptions as exc

from .conftest import API_KEY, Reply, fast_client


def test_a_png_result_is_streamed_to_a_temp_file_and_removed_on_close(stub, client, png_bytes):
    stub.add("/files/full.png", Reply(200, png_bytes, {"Content-Type": "image/png"}))
    with client.download(stub.url("/files/full.png"), expected_format="png") as result:
        assert os.path.exists(result.path)
        assert (result.format, result.width, result.height) == ("png", 32, 24)
        assert result.size == len(png_bytes)
        assert result.content_type == "image/png"
        assert result.read_bytes() == png_bytes
        path = result.path
    assert not os.path.exists(path)
    seen = stub.calls("/files/full.png")[0]
    assert "Authorization" not in seen.headers  # the key never goes to result hosts
    assert API_KEY not in str(seen.headers)


def test_close_removes_the_file_too(stub, client):
    stub.add(
        "/r.webp", Reply(200, ImageBytesFactory(green_square=True, fmt="WEBP", width=10, height=10))
    )
    result = client.download(stub.url("/r.webp"), expected_format="webp")
    assert os.path.exists(result.path)
    result.close()
    result.close()
    assert not os.path.exists(result.path) and result.closed


@pytest.mark.parametrize(("fmt", "expected"), [("JPEG", "jpg"), ("WEBP", "webp"), ("PNG", "png")])
def test_any_api_format_is_accepted_when_none_is_expected(stub, client, fmt, expected):
    stub.add("/r", Reply(200, ImageBytesFactory(green_square=True, fmt=fmt, width=12, height=9)))
    with client.download(stub.url("/r")) as result:
        assert (result.format, result.width, result.height) == (expected, 12, 9)


def test_the_wrong_format_is_refused_and_leaves_no_file(stub, client, jpeg_bytes, tmp_path):
    stub.add("/r.png", Reply(200, jpeg_bytes, {"Content-Type": "image/png"}))
    with pytest.raises(DownloadError, match="jpg, not the expected png"):
        client.download(stub.url("/r.png"), expected_format="png")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Access denied</html>",
        ImageBytesFactory(green_square=True, fmt="PNG")[:60],
        ImageBytesFactory(green_square=True, fmt="GIF"),
        ImageBytesFactory(green_square=True, fmt="BMP"),
    ],
)
def test_bodies_that_are_not_a_whole_png_jpeg_or_webp_are_refused(stub, client, body):
    stub.add("/r", Reply(200, body))
    with pytest.raises(DownloadError, match="not a readable"):
        client.download(stub.url("/r"))


def test_too_big_by_content_length_is_refused_before_reading(stub, client, png_bytes):
    stub.add("/big.png", Reply(200, png_bytes))
    with pytest.raises(DownloadError, match="over the 100 byte limit"):
        client.download(stub.url("/big.png"), max_bytes=100)


def test_too_big_without_content_length_is_cut_off_while_streaming(stub):
    body = ImageBytesFactory(green_square=True, fmt="PNG", width=200, height=200) + b"\0" * 300_000
    stub.add("/big.png", Reply(200, body, no_length=True))
    with (
        fast_client(stub.base, max_download_bytes=50_000) as client,
        pytest.raises(DownloadError, match="over the 50,000 byte limit"),
    ):
        client.download(stub.url("/big.png"))


def test_a_decompression_bomb_is_refused_without_decoding(stub, client, tmp_path):
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 6_000)).save(path)  # 60 MP of nothing: a few kB on disk
    stub.add("/bomb.png", Reply(200, path.read_bytes()))
    with pytest.raises(DownloadError, match="more than 50,000,000 pixels"):
        client.download(stub.url("/bomb.png"))


def test_redirects_within_allowed_hosts_are_followed(stub, client, png_bytes):
    stub.add("/a", Reply(302, b"", {"Location": "/b"}))
    stub.add("/b", Reply(301, b"", {"Location": stub.url("/c.png")}))
    stub.add("/c.png", Reply(200, png_bytes))
    with client.download(stub.url("/a"), expected_format="png") as result:
        assert result.url == stub.url("/c.png")


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("https://evil.example/x.png", "not an allowed download host"),
        ("http://localhost:1/x.png", "not an allowed download host"),
        ("http://169.254.169.254/latest/meta-data/", "not an allowed download host"),
        ("file:///etc/passwd", "only http"),
    ],
)
def test_redirects_off_the_list_are_refused(stub, client, location, words):
    stub.add("/r", Reply(302, b"", {"Location": location}))
    with pytest.raises(DownloadError, match=words):
        client.download(stub.url("/r"))


def test_a_wildcard_host_that_resolves_to_a_private_address_is_refused(stub, png_bytes):
    stub.add("/r", Reply(302, b"", {"Location": f"http://cdn.bgcut.test:{stub.port}/x.png"}))
    stub.add("/x.png", Reply(200, png_bytes))
    with (
        fast_client(
            stub.base,
            download_hosts=[f"http://*.bgcut.test:{stub.port}"],
            resolver=lambda host: ["127.0.0.1"],
        ) as client,
        pytest.raises(DownloadError, match="non-public address"),
    ):
        client.download(stub.url("/r"))
    assert stub.calls("/x.png") == []


def test_redirect_loops_end(stub, client):
    stub.add("/loop", Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        client.download(stub.url("/loop"))
    assert len(stub.calls("/loop")) == 6


def test_an_expired_url_is_a_download_error_with_the_status(stub, client):
    stub.add("/gone.png", Reply(404, {"detail": "expired"}))
    with pytest.raises(DownloadError) as info:
        client.download(stub.url("/gone.png"))
    assert info.value.status == 404
    assert "expired" in str(info.value)
    assert len(stub.calls("/gone.png")) == 1


def test_busy_result_hosts_and_resets_are_retried(stub, client, png_bytes):
    stub.add("/r.png", Reply(503), Reply(reset=True), Reply(200, png_bytes))
    with client.download(stub.url("/r.png"), expected_format="png") as result:
        assert result.size == len(png_bytes)
    assert len(stub.calls("/r.png")) == 3


def test_a_truncated_download_is_retried_then_reported(stub, client, png_bytes):
    stub.add("/t.png", Reply(200, png_bytes, truncate=20))
    # One message for every network failure (a refused, reset or silent port look alike).
    with pytest.raises(exc.TransportError, match="could not be fetched"):
        client.download(stub.url("/t.png"))
    assert len(stub.calls("/t.png")) == 5  # 1 + max_retries: a GET is safe to repeat


def test_unknown_expected_format_is_a_value_error(stub, client):
    with pytest.raises(ValueError, match="expected_format"):
        client.download(stub.url("/r"), expected_format="gif")
    assert stub.seen == []


def test_the_peer_address_is_read_from_the_live_connection(stub, png_bytes):
    import requests

    from wagtail_bgcut.client.transport import peer_address

    stub.add("/r.png", Reply(200, png_bytes))
    with requests.Session() as session:
        response = session.get(stub.url("/r.png"), stream=True)
        assert peer_address(response) == "127.0.0.1"
        response.close()


def test_downloads_go_through_the_standard_proxy_environment(stub, png_bytes, monkeypatch):
    """Behind an egress proxy our DNS may know nothing and the peer is the proxy's (private)
    address: neither is held against an allowed host. NO_PROXY is honoured as requests does."""
    url = "http://cdn.proxied.test/x.png"
    stub.add(url, Reply(200, png_bytes, {"Content-Type": "image/png"}))  # a proxy sees the URL

    def no_dns(host):
        raise OSError("no such host")

    monkeypatch.setenv("HTTP_PROXY", stub.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with fast_client(
        "http://127.0.0.1:9", download_hosts=["http://*.proxied.test"], resolver=no_dns
    ) as client:
        with client.download(url, expected_format="png") as dl:
            assert dl.read_bytes() == png_bytes
        assert [s.path for s in stub.calls()] == [url]
        monkeypatch.setenv("NO_PROXY", "cdn.proxied.test")
        with pytest.raises(exc.TransportError, match="could not resolve"):
            client.download(url)
    assert len(stub.calls()) == 1
