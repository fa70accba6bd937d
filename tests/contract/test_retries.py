"""Retries as the client promises them, observed in the emulator's request log and ledger."""

from __future__ import annotations

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import (
    AuthenticationFailed,
    BadRequest,
    InsufficientCredits,
    NotFound,
    ServiceBusy,
    TransportError,
)

from .conftest import IMAGE


@pytest.fixture
def server(target):
    return target.emulator()


@pytest.fixture
def retrying(target):
    with target.client(max_retries=3, max_retry_time=30) as client:
        yield client


@pytest.mark.parametrize("status", [429, 503])
def test_retried_statuses_then_success_charge_once(server, retrying, png, status):
    uf = retrying.upload_image(png).unique_filename
    server.inject(status=status, times=2, path="/v3/remove-bg/process-image/", retry_after=0)
    result = retrying.process_image(uf, [{"variant_name": "a"}])
    assert result.output_urls
    calls = [r.status for r in server.requests if r.endpoint == "process_image" or r.fault]
    assert calls == [status, status, 200]
    assert len(server.ledger) == 1


def test_gives_up_after_max_retries(server, retrying, png):
    server.inject(status=503, times=None)
    with pytest.raises(ServiceBusy):
        retrying.upload_image(png)
    assert len(server.requests) == 4  # 1 + max_retries


@pytest.mark.parametrize(
    ("exception", "prepare", "call"),
    [
        (BadRequest, None, lambda c: c.upload_image(b"GIF89a-not-really")),
        (NotFound, None, lambda c: c.process_image("missing", [{"variant_name": "a"}])),
        (InsufficientCredits, "no-credits", lambda c: c.cut_v2(ImageBytesFactory(**IMAGE))),
    ],
)
def test_client_errors_are_never_retried(target, server, png, exception, prepare, call):
    if prepare == "no-credits":
        server.set_credits(0)
    client = target.client(max_retries=3, normalize_uploads=False)
    with client, pytest.raises(exception):
        call(client)
    assert len(server.requests) == 1


def test_401_is_never_retried(target, server, png):
    client = target.client(api_key="nope-nope", max_retries=3)
    with client, pytest.raises(AuthenticationFailed):
        client.upload_image(png)
    assert len(server.requests) == 1


def test_connection_reset_on_a_free_call_is_retried(server, retrying, png):
    server.inject(reset=True)
    assert retrying.upload_image(png).unique_filename
    assert [r.fault for r in server.requests] == ["reset", None]


def test_connection_reset_on_a_charged_call_is_not_retried(server, retrying, png):
    uf = retrying.upload_image(png).unique_filename
    server.inject(reset=True, path="/v3/remove-bg/process-image/")
    with pytest.raises(TransportError) as info:
        retrying.process_image(uf, [{"variant_name": "a"}])
    assert info.value.request_sent is True
    assert [r.fault for r in server.requests if r.path.endswith("process-image/")] == ["reset"]


def test_truncated_answer_is_a_transport_error(server, target, png):
    server.inject(truncate=True, path="/v3/remove-bg/upload-image/")
    with target.client() as client, pytest.raises(TransportError):
        client.upload_image(png)
