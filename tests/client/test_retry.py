"""Backoff schedule, Retry-After parsing and the retry decision table."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from wagtail_bgcut.client import exceptions as exc
from wagtail_bgcut.client.retry import Backoff, parse_retry_after, should_retry


def test_backoff_ceilings_double_and_stop_at_the_cap():
    backoff = Backoff(base=0.5, cap=4.0)
    assert [backoff.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_full_jitter_stays_within_zero_and_the_ceiling_and_varies():
    backoff = Backoff(base=1.0, cap=30.0, rand=random.Random(7).random)
    delays = [backoff.delay(3) for _ in range(200)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 150  # jittered, not a fixed schedule


def test_retry_after_is_a_floor_not_a_suggestion():
    backoff = Backoff(base=0.01, cap=0.05, rand=lambda: 1.0)
    assert backoff.delay(0, retry_after=3.0) == 3.0
    assert Backoff(base=10, cap=10, rand=lambda: 1.0).delay(0, retry_after=3.0) == 10.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date():
    now = time.time()
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30, abs=1.5)


def test_parse_retry_after_caps_absurd_values():
    assert parse_retry_after("999999999") == 3600.0


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("charged", [True, False])
def test_busy_statuses_are_retried_for_every_call(status, charged):
    error = exc.error_for_status(status)("x", status=status)
    assert should_retry(error, charged=charged)


def test_a_gateway_timeout_is_retried_only_for_free_calls():
    error = exc.error_for_status(504)("x", status=504)
    assert should_retry(error, charged=False)
    assert not should_retry(error, charged=True)


@pytest.mark.parametrize("status", [400, 401, 402, 404, 405, 413, 422, 450, 500, 502])
def test_other_statuses_are_never_retried(status):
    error = exc.error_for_status(status)("x", status=status)
    assert not should_retry(error, charged=False)


def test_connection_failures_before_sending_are_retried_even_when_charged():
    assert should_retry(exc.TransportError("refused", request_sent=False), charged=True)


def test_failures_after_sending_are_retried_only_when_nothing_is_charged():
    error = exc.TransportError("reset", request_sent=True)
    assert should_retry(error, charged=False)
    assert not should_retry(error, charged=True)


def test_download_errors_without_a_busy_status_are_final():
    assert not should_retry(exc.DownloadError("too big"), charged=False)
    assert should_retry(exc.DownloadError("busy", status=503), charged=False)
