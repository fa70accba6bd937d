"""When to retry, and how long to wait.

Retried: 429, 503 and 504 answers, and connection failures. Never retried: every other status
(400, 401, 402, 404, 405, 413, 422, 450 and anything unknown), because repeating the same request
cannot change the answer and some of them mean money (402) or a bug (400/422).

Calls that spend credits (``process-image``, the token endpoints, Bearer ``ai-cut/initialize``,
``/v2/cut/``) are narrower, because the pages say where credits are deducted but not that a failed
answer means nothing was charged:

- retried: 429 (05: "API rate limit crossed (No credit deducted)") and 503 (01: "Server busy, try
  again later": the request was turned away before any work), and connection failures that
  happened before the request left this machine (refused, DNS, connect timeout);
- never retried: 504 (01: "Processing timeout": the work may have finished and been charged
  after the gateway gave up), and a reset, read timeout or truncated answer after sending. Those
  errors carry ``may_have_been_charged = True`` and go to the caller, who decides.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

from .exceptions import BackgroundCutError, TransportError

__all__ = ["RETRY_STATUSES", "Backoff", "may_have_charged", "parse_retry_after", "should_retry"]

RETRY_STATUSES = frozenset({429, 503, 504})
# A Retry-After beyond this is treated as "not within this call" rather than slept through.
MAX_RETRY_AFTER = 3600.0


class Backoff:
    """Exponential backoff with full jitter: a uniform wait in ``[0, min(cap, base * 2**n)]``.

    A ``Retry-After`` from the API is a floor: we never come back sooner than we were told.
    ``rand`` is injectable (a seeded ``random.Random().random``) for tests.
    """

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, rand: Callable[[], float] | None = None
    ):
        if base < 0 or cap < 0:
            raise ValueError("backoff base and cap must not be negative")
        self.base = base
        self.cap = cap
        self._rand = rand or random.random

    def ceiling(self, attempt: int) -> float:
        """The largest jittered wait before retry number ``attempt + 1`` (attempt counts from 0)."""
        return min(self.cap, self.base * (2**attempt))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wait = self._rand() * self.ceiling(attempt)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def should_retry(error: BackgroundCutError, *, charged: bool) -> bool:
    """Whether ``error`` may be retried by a call that spends credits (``charged``) or not."""
    if charged and may_have_charged(error):
        return False
    if isinstance(error, TransportError):
        return not error.final  # TLS failures and the like: the same next time
    return error.status in RETRY_STATUSES


def may_have_charged(error: BackgroundCutError) -> bool:
    """Whether a failed *paid* call may still have reached the provider and been charged."""
    if isinstance(error, TransportError):
        return error.request_sent
    return error.status == 504
