"""Result downloads from the emulator's own short-lived URLs."""

from __future__ import annotations

import pytest

from wagtail_bgcut.client import BackgroundCutError, DownloadError


@pytest.fixture
def result(client, png):
    upload = client.upload_image(png)
    return client.process_image(upload.unique_filename, [{"variant_name": "a", "format": "webp"}])


def test_download_checks_the_format(client, result):
    with client.download(result.output_urls["a"], expected_format="webp") as file:
        assert (file.format, file.width, file.height) == ("webp", 96, 72)
    with pytest.raises(DownloadError):
        client.download(result.output_urls["a"], expected_format="png")


def test_expired_result_url(target, client, result):
    target.emulator().expire()
    with pytest.raises(DownloadError) as info:
        client.download(result.output_urls["a"])
    assert info.value.status == 404


def test_truncated_download_is_retried(target, result):
    server = target.emulator()
    server.inject(truncate=True, path="/results/")
    with (
        target.client(max_retries=2) as client,
        client.download(result.output_urls["a"], expected_format="webp") as file,
    ):
        assert file.width == 96
    assert [r.fault for r in server.requests if r.path.startswith("/results/")] == [
        "truncate",
        None,
    ]


def test_truncated_download_without_retries_fails_cleanly(target, result):
    target.emulator().inject(truncate=True, path="/results/")
    with target.client() as client, pytest.raises(BackgroundCutError):
        client.download(result.output_urls["a"])
