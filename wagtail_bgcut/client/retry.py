"""When to retry, and how long to wait.

Retried: 429, 503 and 504 answers, and connection failures. Never retried: every other status
(400, 401, 402, 404, 405, 413, 422, 450 and anything unknown), because repeating the same request
cannot change the answer and some of them mean money (402) or a bug (400/422).

Calls that spend credits (``process-image``, the token endpoints, Bearer ``ai-cut/initialize``,
``/v2/cut/``) are retried after a connection failure only when the request never left this machine
(connection refused, DNS failure, connect timeout). A reset, read timeout or truncated answer after
the request was sent may mean the provider did the work and charged for it; retrying would risk
paying twice, so the error goes to the caller with ``request_sent=True``. 429/503/504 are retried
for every call: the pages say rate-limited requests are not charged and credits are only deducted
when processing succeeds.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

from .exceptions import BackgroundCutError, TransportError

__all__ = ["RETRY_STATUSES", "Backoff", "parse_retry_after", "should_retry"]

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
    if isinstance(error, TransportError):
        if error.final:  # TLS failures and the like: the same next time
            return False
        return not error.request_sent or not charged
    return error.status in RETRY_STATUSES
