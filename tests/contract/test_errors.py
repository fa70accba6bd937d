"""Every documented error status reaches the caller as the right exception class, with the
provider's ``detail``, and the API key never shows in it."""

from __future__ import annotations

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import (
    AuthenticationFailed,
    BadRequest,
    InsufficientCredits,
    InvalidEndpoint,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProcessingTimeout,
    RateLimited,
    ServiceBusy,
    ValidationFailed,
)
from wagtail_bgcut.variants import InvalidVariant

from .conftest import IMAGE

UNKNOWN = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def _assert_no_key(exc: BaseException, key: str) -> None:
    assert key not in str(exc) and key not in repr(exc)


def test_400_unsupported_format_when_the_client_does_not_convert(target):
    with target.client(normalize_uploads=False) as client, pytest.raises(BadRequest) as info:
        client.upload_image(ImageBytesFactory(**IMAGE, fmt="GIF"))
    assert info.value.status == 400
    assert "format" in info.value.detail.lower()


def test_400_unreadable_image_on_v2(target):
    with target.client(normalize_uploads=False) as client, pytest.raises(BadRequest):
        client.cut_v2(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, img: c.upload_image(img),
        lambda c, img: c.process_image(UNKNOWN, [{"variant_name": "a"}]),
        lambda c, img: c.create_remove_bg_token([{"variant_name": "a"}]),
        lambda c, img: c.create_ai_cut_token(),
        lambda c, img: c.ai_cut_initialize(img),
        lambda c, img: c.ai_cut_segment(UNKNOWN, [(1, 1)], [], 1),
        lambda c, img: c.cut_v2(img),
    ],
    ids=["upload", "process", "remove-bg-token", "ai-cut-token", "initialize", "segment", "v2"],
)
def test_401_wrong_key(target, png, call):
    wrong_key = "wrong-key-" + "x" * 20
    with target.client(api_key=wrong_key) as client, pytest.raises(AuthenticationFailed) as info:
        call(client, png)
    assert info.value.status == 401 and info.value.detail
    _assert_no_key(info.value, wrong_key)


def test_401_forged_token(client, png):
    with pytest.raises(AuthenticationFailed):
        client.remove_bg_with_token("forged-token", png)
    with pytest.raises(AuthenticationFailed):
        client.ai_cut_initialize_with_token("forged-token", png)


def test_401_spent_token(target, client, png):
    # Single use is the emulator's reading (docs/testing.md), not something the pages state.
    target.emulator()
    token = client.create_remove_bg_token([{"variant_name": "a"}])
    client.remove_bg_with_token(token, png)
    with pytest.raises(AuthenticationFailed):
        client.remove_bg_with_token(token, png)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, img, uf: c.process_image(uf, [{"variant_name": "a"}, {"variant_name": "b"}]),
        lambda c, img, uf: c.create_remove_bg_token([{"variant_name": "a", "autocrop": True}]),
        lambda c, img, uf: c.create_ai_cut_token(),
        lambda c, img, uf: c.ai_cut_initialize(img),
        lambda c, img, uf: c.cut_v2(img),
    ],
    ids=["process", "remove-bg-token", "ai-cut-token", "initialize", "v2"],
)
def test_402_insufficient_credits_charges_nothing(target, client, png, call):
    server = target.emulator()
    uf = client.upload_image(png).unique_filename
    server.set_credits(0.5)
    with pytest.raises(InsufficientCredits) as info:
        call(client, png, uf)
    assert info.value.status == 402 and "credit" in info.value.detail.lower()
    assert server.credits == 0.5 and server.ledger == []


def test_404_unknown_unique_filename_and_session(client):
    with pytest.raises(NotFound) as info:
        client.process_image(UNKNOWN, [{"variant_name": "a"}])
    assert info.value.status == 404
    with pytest.raises(NotFound):
        client.ai_cut_segment(UNKNOWN, [(1, 1)], [], 1)


def test_404_expired_upload_and_session(target, client, png):
    server = target.emulator()
    upload = client.upload_image(png)
    session = client.ai_cut_initialize(png)
    server.expire()
    with pytest.raises(NotFound):
        client.process_image(upload.unique_filename, [{"variant_name": "a"}])
    with pytest.raises(NotFound):
        client.ai_cut_segment(session.unique_filename, [(1, 1)], [], 1)


def test_413_over_12_mb_without_client_normalisation(target, png):
    big = png + b"\0" * (12 * 1024 * 1024)
    # v2 documents 413; for v3 the pages say only "Max 12MB", so live may answer 400 instead.
    v3_errors = PayloadTooLarge if target.server is not None else (PayloadTooLarge, BadRequest)
    with target.client(normalize_uploads=False) as client:
        with pytest.raises(v3_errors):
            client.upload_image(big)
        with pytest.raises(PayloadTooLarge) as info:
            client.cut_v2(big)
        assert info.value.status == 413


def test_invalid_variants_never_reach_the_api(target, client, png):
    uf = client.upload_image(png).unique_filename
    for variants in (
        [{"variant_name": "a"}, {"variant_name": "a"}],
        [{"variant_name": "a", "max_resolution": 100}],
    ):
        with pytest.raises(InvalidVariant):
            client.process_image(uf, variants)
    if target.server is not None:
        assert [r.endpoint for r in target.server.requests] == ["upload_image"]


def test_450_wrong_v2_url(target, png):
    client = target.client(api_base=target.api_base + "/v2/not-cut")
    with client, pytest.raises(InvalidEndpoint) as info:
        client.cut_v2(png)
    assert info.value.status == 450


@pytest.mark.parametrize(
    ("status", "exception", "call"),
    [
        (405, MethodNotAllowed, lambda c, img: c.cut_v2(img)),
        (422, ValidationFailed, lambda c, img: c.process_image(UNKNOWN, [{"variant_name": "a"}])),
        (429, RateLimited, lambda c, img: c.upload_image(img)),
        (503, ServiceBusy, lambda c, img: c.ai_cut_initialize(img)),
        (504, ProcessingTimeout, lambda c, img: c.create_ai_cut_token()),
    ],
)
def test_injected_statuses(target, client, png, status, exception, call):
    """Statuses the client's own validation keeps it from provoking, or the service's state."""
    server = target.emulator()
    server.inject(status=status, retry_after=3, detail=f"injected {status}")
    with pytest.raises(exception) as info:
        call(client, png)
    assert info.value.status == status and info.value.detail == f"injected {status}"
    assert info.value.retry_after == 3


def test_429_from_the_real_rate_limit(target, bgcut_server_factory, png):
    target.emulator()
    server = bgcut_server_factory(rate_limit=2)
    with target.client(
        api_key=server.api_key, api_base=server.api_base, token_api_base=server.token_api_base
    ) as client:
        client.upload_image(png)
        client.upload_image(png)
        with pytest.raises(RateLimited) as info:
            client.upload_image(png)
    assert info.value.status == 429
    assert 0 < info.value.retry_after <= 60
