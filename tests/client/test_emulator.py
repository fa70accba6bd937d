"""The client against the bundled emulator over real HTTP: the flows a user runs.

Endpoint-by-endpoint contract tests live in tests/contract/; these check the client's own promises
(results typed and downloadable, errors mapped, retries not paying twice) end to end.
"""

from __future__ import annotations

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import exceptions as exc

from .conftest import fast_client

testing = pytest.importorskip("wagtail_bgcut.testing")

KEY = "emulator-key-XYZ"


@pytest.fixture(scope="module")
def emulator():
    with testing.EmulatorServer(api_key=KEY, credits=100, rate_limit=None) as server:
        yield server


@pytest.fixture
def emu(emulator):
    emulator.reset()
    return emulator


@pytest.fixture
def api(emu):
    with fast_client(emu.api_base, KEY, token_api_base=emu.token_api_base) as c:
        yield c


@pytest.fixture
def photo() -> bytes:
    return ImageBytesFactory(green_square=True, fmt="JPEG", width=64, height=48)


def charged(emu) -> float:
    return sum(c.credits for c in emu.ledger)


def test_upload_process_and_download_several_variants(api, emu, photo):
    upload = api.upload_image(photo, filename="photo.jpg")
    assert (upload.width, upload.height, upload.scale) == (64, 48, 1.0)
    result = api.process_image(
        upload.unique_filename,
        [
            {"variant_name": "full", "format": "png"},
            {"variant_name": "white", "format": "jpg", "background_color": "#ffffff"},
            {
                "variant_name": "thumb",
                "format": "webp",
                "max_resolution": 250_000,
                "autocrop": True,
            },
        ],
    )
    assert result.unique_filename == upload.unique_filename
    assert set(result.output_urls) == {"full", "white", "thumb"}
    for name, fmt in (("full", "png"), ("white", "jpg"), ("thumb", "webp")):
        with api.download(result.output_urls[name], expected_format=fmt) as file:
            assert file.format == fmt
            assert file.width * file.height <= 64 * 48
    assert charged(emu) == pytest.approx(3.5)


def test_an_upload_is_reused_without_uploading_again(api, emu, photo):
    upload = api.upload_image(photo)
    api.process_image(upload.unique_filename, [{"variant_name": "a"}])
    again = api.process_image(upload.unique_filename, [{"variant_name": "b", "format": "webp"}])
    assert set(again.output_urls) == {"b"}
    uploads = [r for r in emu.requests if r.path.endswith("/upload-image/")]
    assert len(uploads) == 1


def test_wrong_key_is_authentication_failed(emu, photo):
    with (
        fast_client(emu.api_base, token_api_base=emu.token_api_base) as other,
        pytest.raises(exc.AuthenticationFailed) as info,
    ):
        other.upload_image(photo)
    assert info.value.status == 401
    assert info.value.detail


def test_no_credits_is_insufficient_credits_and_costs_nothing(api, emu, photo):
    upload = api.upload_image(photo)
    emu.set_credits(0.5)
    with pytest.raises(exc.InsufficientCredits):
        api.process_image(upload.unique_filename, [{"variant_name": "full"}])
    assert charged(emu) == 0
    assert emu.credits == 0.5


def test_an_expired_upload_is_not_found(api, emu, photo):
    upload = api.upload_image(photo)
    emu.expire(upload.unique_filename)
    with pytest.raises(exc.NotFound):
        api.process_image(upload.unique_filename, [{"variant_name": "full"}])


def test_an_expired_result_url_is_a_download_error(api, emu, photo):
    upload = api.upload_image(photo)
    result = api.process_image(upload.unique_filename, [{"variant_name": "full"}])
    emu.expire()
    with pytest.raises(exc.DownloadError) as info:
        api.download(result.output_urls["full"])
    assert info.value.status in (403, 404, 410)


def test_token_flows(api, emu, photo):
    token = api.create_remove_bg_token(
        [{"variant_name": "full"}, {"variant_name": "t", "format": "webp"}]
    )
    result = api.remove_bg_with_token(token, photo)
    assert set(result.output_urls) == {"full", "t"}
    with api.download(result.output_urls["t"], expected_format="webp"):
        pass
    upload = api.upload_image(photo)
    token = api.create_remove_bg_token(
        [{"variant_name": "r"}], unique_filename=upload.unique_filename
    )
    assert set(api.remove_bg_with_token(token).output_urls) == {"r"}
    session = api.ai_cut_initialize_with_token(api.create_ai_cut_token(), photo)
    segment = api.ai_cut_segment(session.unique_filename, [(10, 10)], [], 1)
    assert segment.unique_filename == session.unique_filename


def test_ai_cut_with_the_key(api, emu, photo):
    session = api.ai_cut_initialize(photo)
    first = api.ai_cut_segment(session.unique_filename, [(32, 24)], [], 1)
    second = api.ai_cut_segment(session.unique_filename, [(32, 24), (30, 20)], [(1, 1)], 2)
    assert (first.request_number, second.request_number) == (1, 2)
    with api.download(second.output_url, expected_format="png") as file:
        assert (file.width, file.height) == (64, 48)
    assert charged(emu) == pytest.approx(1.0)  # segments are free


@pytest.mark.parametrize(("return_type", "mime"), [("PNG", "image/png"), ("WEBP_80", "image/webp")])
def test_v2_cut(api, emu, photo, return_type, mime):
    result = api.cut_v2(photo, return_type=return_type)
    assert result.content_type.startswith(mime)
    assert len(result.data) > 0


def test_busy_answers_are_retried_and_charged_once(api, emu, photo):
    upload = api.upload_image(photo)
    emu.inject(status=503, times=2, path="/v3/remove-bg/process-image/", retry_after=0)
    result = api.process_image(upload.unique_filename, [{"variant_name": "full"}])
    assert "full" in result.output_urls
    assert charged(emu) == pytest.approx(1.0)


def test_a_reset_during_a_charged_call_is_not_repeated(emu, photo):
    with fast_client(emu.api_base, KEY, token_api_base=emu.token_api_base, timeout=(2, 1)) as api:
        upload = api.upload_image(photo)
        emu.inject(reset=True, times=1, path="/v3/remove-bg/process-image/")
        with pytest.raises(exc.TransportError) as info:
            api.process_image(upload.unique_filename, [{"variant_name": "full"}])
    assert info.value.request_sent is True
    calls = [r for r in emu.requests if r.path == "/v3/remove-bg/process-image/"]
    assert len(calls) <= 1
    assert charged(emu) <= 1.0


def test_the_emulators_rate_limit_surfaces_as_rate_limited_with_retry_after(photo):
    with testing.EmulatorServer(api_key=KEY, rate_limit=2, rate_limit_max=2) as emu:
        api = fast_client(emu.api_base, KEY, token_api_base=emu.token_api_base, max_retry_time=5)
        api.upload_image(photo)
        api.upload_image(photo)
        with pytest.raises(exc.RateLimited) as info:
            api.upload_image(photo)
        api.close()
    assert info.value.status == 429
    assert info.value.retry_after and info.value.retry_after > 5.0


def test_a_spent_token_is_refused_rather_than_charged_again(api, emu, photo):
    token = api.create_remove_bg_token([{"variant_name": "full"}])
    api.remove_bg_with_token(token, photo)
    spent = charged(emu)
    with pytest.raises(exc.AuthenticationFailed):
        api.remove_bg_with_token(token, photo)
    assert charged(emu) == spent
