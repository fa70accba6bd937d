"""Error mapping and the retry policy over real HTTP (scripted stub server)."""

from __future__ import annotations

import logging

import pytest

from wagtail_bgcut.client import exceptions as exc

from .conftest import API_KEY, Reply, fast_client

UPLOAD = "/v3/remove-bg/upload-image/"
PROCESS = "/v3/remove-bg/process-image/"
OK_UPLOAD = Reply(200, {"unique_filename": "u1"})
OK_PROCESS = Reply(
    200,
    {
        "unique_filename": "u1",
        "input_url": "i",
        "output_urls": {"full": "https://cdn.backgroundcut.co/f.png"},
    },
)
VARIANTS = [{"variant_name": "full"}]

NOT_RETRIED = [400, 401, 402, 404, 405, 413, 422, 450, 500]


@pytest.mark.parametrize("status", NOT_RETRIED)
def test_final_statuses_raise_their_class_after_one_request(stub, client, status):
    stub.add(PROCESS, Reply(status, {"detail": f"problem {status}"}), OK_PROCESS)
    with pytest.raises(exc.APIError) as info:
        client.process_image("u1", VARIANTS)
    error = info.value
    assert type(error) is exc.error_for_status(status)
    assert error.status == status
    assert error.detail == f"problem {status}"
    assert str(error) == f"{status} POST {PROCESS}: problem {status}"
    assert len(stub.calls(PROCESS)) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_busy_statuses_are_retried_until_success(stub, client, status):
    stub.add(
        PROCESS, Reply(status, {"detail": "busy"}), Reply(status, {"detail": "busy"}), OK_PROCESS
    )
    result = client.process_image("u1", VARIANTS)
    assert result.output_urls == {"full": "https://cdn.backgroundcut.co/f.png"}
    assert len(stub.calls(PROCESS)) == 3


def test_a_504_on_a_paid_call_is_not_repeated_and_says_it_may_have_been_charged(stub, client):
    # 01: "504 Processing timeout": the work may have finished and been charged after the
    # gateway gave up, so a second call could pay twice.
    stub.add(PROCESS, Reply(504, {"detail": "Processing timeout"}), OK_PROCESS)
    with pytest.raises(exc.ProcessingTimeout) as info:
        client.process_image("u1", VARIANTS)
    assert info.value.may_have_been_charged is True
    assert len(stub.calls(PROCESS)) == 1


def test_a_504_on_a_free_call_is_retried(stub, client, png_bytes):
    stub.add(
        "/v3/remove-bg/upload-image/",
        Reply(504, {"detail": "Processing timeout"}),
        Reply(200, {"unique_filename": "u9"}),
    )
    assert client.upload_image(png_bytes).unique_filename == "u9"
    assert len(stub.calls("/v3/remove-bg/upload-image/")) == 2


def test_a_503_on_a_paid_call_is_not_marked_as_maybe_charged(stub):
    stub.add(PROCESS, Reply(503, {"detail": "Server busy, try again later"}))
    with fast_client(stub.base, max_retries=0) as client, pytest.raises(exc.ServiceBusy) as info:
        client.process_image("u1", VARIANTS)
    assert info.value.may_have_been_charged is False


def test_retries_stop_after_max_retries_and_raise_the_last_error(stub):
    stub.add(PROCESS, Reply(503, {"detail": "Server busy, try again later"}))
    with (
        fast_client(stub.base, max_retries=2) as client,
        pytest.raises(exc.ServiceBusy, match="Server busy"),
    ):
        client.process_image("u1", VARIANTS)
    assert len(stub.calls(PROCESS)) == 3


def test_retry_after_is_honoured(stub, client, caplog):
    caplog.set_level(logging.INFO, logger="wagtail_bgcut.client")
    stub.add(PROCESS, Reply(429, {"detail": "slow down"}, {"Retry-After": "1"}), OK_PROCESS)
    client.process_image("u1", VARIANTS)
    # Backoff alone would wait at most 0.01 s; the API asked for a second and got it.
    retries = [r.getMessage() for r in caplog.records if "retry 1/" in r.getMessage()]
    assert retries == [f"POST {PROCESS} failed (429); retry 1/4 in 1.00s"]
    assert len(stub.calls(PROCESS)) == 2


def test_a_retry_after_beyond_the_time_budget_fails_at_once_with_it(stub):
    stub.add(PROCESS, Reply(429, {"detail": "slow down"}, {"Retry-After": "120"}), OK_PROCESS)
    with (
        fast_client(stub.base, max_retry_time=5.0) as client,
        pytest.raises(exc.RateLimited) as info,
    ):
        client.process_image("u1", VARIANTS)
    assert info.value.retry_after == 120.0
    assert len(stub.calls(PROCESS)) == 1


def test_non_json_error_bodies_still_give_a_detail(stub, client, png_bytes):
    stub.add("/v2/cut/", Reply(413, "Request Entity Too Large"))
    with pytest.raises(exc.PayloadTooLarge, match="Request Entity Too Large"):
        client.cut_v2(png_bytes)
    stub.add("/v2/cut/", Reply(450, b"", {"Content-Type": "text/html"}))
    with pytest.raises(exc.InvalidEndpoint):
        client.cut_v2(png_bytes)


def test_validation_lists_are_flattened_into_the_detail(stub, client):
    stub.add(
        PROCESS,
        Reply(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "output_variants", 0, "format"],
                        "msg": "bad format",
                        "type": "x",
                    }
                ]
            },
        ),
    )
    with pytest.raises(exc.ValidationFailed) as info:
        client.process_image("u1", VARIANTS)
    assert info.value.detail == "output_variants.0.format: bad format"


@pytest.mark.parametrize("status", [400, 401, 402, 404, 422, 429, 450, 500, 503, 504])
def test_the_key_is_scrubbed_from_an_echoing_error(stub, status, caplog):
    stub.add(PROCESS, Reply(status, {"detail": f"Invalid API key {API_KEY}"}))
    caplog.set_level(logging.DEBUG, logger="wagtail_bgcut.client")
    with fast_client(stub.base, max_retries=1) as client, pytest.raises(exc.APIError) as info:
        client.process_image("u1", VARIANTS)
    for text in (str(info.value), repr(info.value), info.value.detail, caplog.text):
        assert API_KEY not in text
    assert "Invalid API key ***" in info.value.detail


def _frame_locals_text(error: BaseException) -> str:
    """What a debug error page prints: every frame's locals, following the exception chain the
    way Django does (explicit cause, else context unless suppressed)."""
    texts = []
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            texts.extend(repr(value) for value in tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return "\n".join(texts)


@pytest.mark.parametrize(
    "reply",
    [Reply(401, {"detail": "bad key"}), Reply(reset=True), Reply(200, b"x" * 200, truncate=5)],
)
def test_error_page_locals_never_show_the_key(stub, png_bytes, reply):
    stub.add(PROCESS, reply)
    stub.add("/v2/cut/", reply)
    with fast_client(stub.base, max_retries=0) as client:
        for call in (
            lambda: client.process_image("u1", VARIANTS),
            lambda: client.cut_v2(png_bytes),
        ):
            with pytest.raises(exc.BackgroundCutError) as info:
                call()
            text = _frame_locals_text(info.value)
            assert "Authorization" in text or "POST" in text  # the frames were really walked
            assert API_KEY not in text


def test_connection_refused_is_retried_then_raised_as_never_sent(closed_port, caplog):
    caplog.set_level(logging.INFO, logger="wagtail_bgcut.client")
    with (
        fast_client(f"http://127.0.0.1:{closed_port}", max_retries=2) as client,
        pytest.raises(exc.TransportError) as info,
    ):
        client.process_image("u1", VARIANTS)  # charged, but safe: nothing was sent
    assert info.value.request_sent is False
    assert info.value.status is None
    assert "connection refused" in str(info.value)
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2


def test_a_reset_after_sending_a_charged_call_is_not_retried(stub, client):
    stub.add(PROCESS, Reply(reset=True), OK_PROCESS)
    with pytest.raises(exc.TransportError) as info:
        client.process_image("u1", VARIANTS)
    assert info.value.request_sent is True
    assert info.value.may_have_been_charged is True
    assert len(stub.calls(PROCESS)) == 1  # never risk paying twice


def test_a_reset_on_a_free_call_is_retried(stub, client, png_bytes):
    stub.add(UPLOAD, Reply(reset=True), OK_UPLOAD)
    assert client.upload_image(png_bytes).unique_filename == "u1"
    assert len(stub.calls(UPLOAD)) == 2


def test_a_truncated_body_is_a_transport_error(stub, client):
    stub.add(PROCESS, Reply(200, {"unique_filename": "u1", "output_urls": {}}, truncate=10))
    with pytest.raises(exc.TransportError, match=r"cut short|reset") as info:
        client.process_image("u1", VARIANTS)
    assert info.value.may_have_been_charged is True
    assert len(stub.calls(PROCESS)) == 1


def test_an_unreadable_success_of_a_paid_call_says_it_was_charged(stub, client):
    stub.add(PROCESS, Reply(200, "not json"))
    with pytest.raises(exc.UnexpectedResponse) as info:
        client.process_image("u1", VARIANTS)
    assert info.value.may_have_been_charged is True


def test_a_refused_connection_never_marks_a_paid_call_as_maybe_charged(closed_port):
    with (
        fast_client(f"http://127.0.0.1:{closed_port}", max_retries=0) as client,
        pytest.raises(exc.TransportError) as info,
    ):
        client.process_image("u1", VARIANTS)
    assert info.value.may_have_been_charged is False


def test_may_have_been_charged_survives_pickling(stub, client):
    import pickle

    stub.add(PROCESS, Reply(504, {"detail": "Processing timeout"}))
    with pytest.raises(exc.ProcessingTimeout) as info:
        client.process_image("u1", VARIANTS)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.may_have_been_charged is True and again.status == 504


def test_a_read_timeout_on_a_free_call_is_retried(stub, png_bytes):
    stub.add(UPLOAD, Reply(200, {"unique_filename": "slow"}, delay=1.5), OK_UPLOAD)
    with fast_client(stub.base, timeout=(2.0, 1.0)) as client:
        assert client.upload_image(png_bytes).unique_filename == "u1"
    assert len(stub.calls(UPLOAD)) == 2


def test_segment_calls_are_free_and_retried_after_a_reset(stub, client):
    stub.add(
        "/v3/ai-cut/segment/",
        Reply(reset=True),
        Reply(200, {"unique_filename": "s", "output_url": "u", "request_number": 1}),
    )
    assert client.ai_cut_segment("s", [(1, 1)], [], 1).output_url == "u"


def test_logging_has_method_path_status_and_never_the_key(stub, client, caplog, png_bytes):
    caplog.set_level(logging.DEBUG, logger="wagtail_bgcut.client")
    stub.add(UPLOAD, Reply(503, {"detail": "busy"}), OK_UPLOAD)
    client.upload_image(png_bytes)
    messages = [r.getMessage() for r in caplog.records if r.name == "wagtail_bgcut.client"]
    assert any(m.startswith(f"POST {UPLOAD} -> 503 in ") for m in messages)
    assert any(m.startswith(f"POST {UPLOAD} -> 200 in ") for m in messages)
    assert API_KEY not in caplog.text
    assert "Bearer" not in caplog.text


def test_transport_errors_do_not_chain_the_request_that_holds_the_key(closed_port):
    with (
        fast_client(f"http://127.0.0.1:{closed_port}", max_retries=0) as client,
        pytest.raises(exc.TransportError) as info,
    ):
        client.create_ai_cut_token()
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_the_rate_limiter_counts_every_attempt(stub, png_bytes):
    from wagtail_bgcut.client import RateLimiter

    limiter = RateLimiter(3, 3)
    stub.add(UPLOAD, Reply(503, {"detail": "busy"}), OK_UPLOAD)
    with fast_client(stub.base, rate_limiter=limiter, max_retry_time=2.0) as client:
        client.upload_image(png_bytes)  # two attempts
        client.upload_image(png_bytes)  # the third slot
        with pytest.raises(exc.RateLimited) as info:
            client.upload_image(png_bytes)  # no slot within 2 s: refused locally
    assert info.value.status is None
    assert len(stub.calls(UPLOAD)) == 3


def test_a_429_pauses_every_caller_of_the_process_limiter(stub, png_bytes):
    from wagtail_bgcut.client import RateLimiter

    limiter = RateLimiter(100, 100)
    stub.add(UPLOAD, Reply(429, {"detail": "slow down"}, {"Retry-After": "30"}), OK_UPLOAD)
    with fast_client(stub.base, rate_limiter=limiter, max_retries=0) as client:
        with pytest.raises(exc.RateLimited):
            client.upload_image(png_bytes)
        # Another call in the same process now waits instead of hammering the API.
        assert limiter.try_acquire() > 25
