"""The exception tree: one class per documented status, printable, picklable, never the key."""

from __future__ import annotations

import pickle

import pytest

from wagtail_bgcut.client import BackgroundCutClient
from wagtail_bgcut.client import exceptions as exc

from .conftest import API_KEY

DOCUMENTED = {
    400: exc.BadRequest,
    401: exc.AuthenticationFailed,
    402: exc.InsufficientCredits,
    404: exc.NotFound,
    405: exc.MethodNotAllowed,
    413: exc.PayloadTooLarge,
    422: exc.ValidationFailed,
    429: exc.RateLimited,
    450: exc.InvalidEndpoint,
    503: exc.ServiceBusy,
    504: exc.ProcessingTimeout,
}


@pytest.mark.parametrize(("status", "cls"), DOCUMENTED.items())
def test_every_documented_status_has_its_class_under_api_error(status, cls):
    assert exc.error_for_status(status) is cls
    assert issubclass(cls, exc.APIError)
    assert issubclass(cls, exc.BackgroundCutError)


@pytest.mark.parametrize("status", [300, 403, 409, 418, 500, 502, 599])
def test_unknown_statuses_map_to_api_error(status):
    assert exc.error_for_status(status) is exc.APIError


def test_transport_and_download_errors_sit_outside_api_error():
    assert not issubclass(exc.TransportError, exc.APIError)
    assert not issubclass(exc.DownloadError, exc.APIError)
    assert exc.TransportError().status is None


def test_str_shows_status_path_detail_and_retry_after():
    error = exc.RateLimited(
        "Rate limit exceeded", status=429, retry_after=7.0, method="POST", path="/v3/x/"
    )
    assert str(error) == "429 POST /v3/x/: Rate limit exceeded (retry after 7s)"
    assert error.detail == "Rate limit exceeded"
    assert error.retry_after == 7.0


@pytest.mark.parametrize("cls", [*DOCUMENTED.values(), exc.TransportError, exc.DownloadError])
def test_errors_survive_pickling_with_their_fields(cls):
    error = cls("busy", status=503, retry_after=2.5, method="POST", path="/v2/cut/")
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is cls
    assert (clone.status, clone.detail, clone.retry_after) == (503, "busy", 2.5)
    assert str(clone) == str(error)


def test_transport_error_keeps_request_sent_through_pickle():
    error = exc.TransportError("refused", request_sent=False)
    assert pickle.loads(pickle.dumps(error)).request_sent is False


def test_client_repr_and_str_hide_the_key():
    client = BackgroundCutClient(API_KEY, rate_limit=None)
    for text in (repr(client), str(client), repr(client._transport), repr(vars(client))):
        assert API_KEY not in text
    client.close()


def test_constructor_errors_do_not_echo_the_key():
    bad = "sk_live_abc\r\nX-Injected: 1"
    with pytest.raises(ValueError) as info:
        BackgroundCutClient(bad)
    assert "sk_live_abc" not in str(info.value)
    with pytest.raises(ValueError, match="api_key is required"):
        BackgroundCutClient("   ")
