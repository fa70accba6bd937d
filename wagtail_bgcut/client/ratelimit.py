"""A per-process limiter that keeps this process inside BackgroundCut's documented rate limit.

The v2 page says: "a default limit of 40 requests per minute ... Depending on usage in the current
minute, rate limits double the following minute up to a maximum of 500". We mirror that reading
(the emulator uses the same one): one-minute periods; a busy period doubles the next period's
allowance (capped at ``max_rate``); a quieter or skipped period drops back to ``rate``. A period is
busy when it used its whole allowance or held a caller back (the allowance, or the API's
``Retry-After``): a backlog ramps up whichever way the provider's minutes fall against ours. On top
of the periods we count a *sliding* 60-second window, so no 60 seconds carry more than the
allowance, and a caller with a backlog uses every one of them in full (a minute used short may
drop the provider back to its base rate). A 429 that still slips through (another process using the
same key, network jitter at a minute's edge) costs no credit and is retried by the transport, which
also pauses this limiter for the ``Retry-After`` the API sent.

Limiters are shared per process and per key (:func:`shared_rate_limiter`), because Django code tends
to build a new client per request or task and each would otherwise get a fresh allowance.

Where the counting happens is pluggable: a :class:`LimiterState` (three methods) replaces the
in-process bookkeeping, so several processes with one key can share one allowance. The client
stays free of Django; the Django side's cache-backed state is ``wagtail_bgcut.rate_limits``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ..api_facts import RATE_LIMIT, RATE_LIMIT_MAX, RATE_LIMIT_PERIOD_SECONDS
from .exceptions import RateLimited

__all__ = ["LimiterState", "RateLimiter", "shared_rate_limiter"]

PERIOD_SECONDS = RATE_LIMIT_PERIOD_SECONDS


class LimiterState(Protocol):
    """Where a :class:`RateLimiter` counts grants when it is not this process alone.

    Times are the limiter's ``clock`` (pass ``clock=time.time`` for state shared across machines).
    """

    def try_acquire(self, now: float) -> float:
        """Take a slot and return 0.0, or take nothing and return the seconds to wait."""
        ...

    def pause_until(self, until: float) -> None:
        """Hold every sharer of this state until ``until`` (the API's Retry-After)."""
        ...

    def current_limit(self, now: float) -> int:
        """The allowance of the period containing ``now``."""
        ...


class RateLimiter:
    """Thread-safe; ``clock`` and ``sleep`` are injectable so the arithmetic can be tested.

    With ``state`` (a :class:`LimiterState`) the counting is delegated to it, so every process
    given an equivalent state shares one allowance; without it, the count lives in this object.
    """

    def __init__(
        self,
        rate: int = RATE_LIMIT,
        max_rate: int | None = RATE_LIMIT_MAX,
        *,
        period: float = PERIOD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        state: LimiterState | None = None,
    ):
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ValueError("rate_limit must be a positive integer or None")
        max_rate = rate if max_rate is None else max_rate
        if isinstance(max_rate, bool) or not isinstance(max_rate, int) or max_rate < rate:
            raise ValueError("rate_limit_max must be an integer no smaller than rate_limit")
        self.rate = rate
        self.max_rate = max_rate
        self.period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._granted: deque[float] = deque()  # times of grants in the last ``period`` seconds
        self._period_start: float | None = None
        self._limit = rate
        self._count = 0  # grants in the current period
        self._held = False  # whether the current period held a caller back
        self._paused_until = 0.0
        self.state = state

    def __repr__(self) -> str:
        return f"<RateLimiter {self.rate}..{self.max_rate}/{self.period:g}s limit={self._limit}>"

    @property
    def limit(self) -> int:
        """The allowance of the current period (after rolling over to ``now``)."""
        if self.state is not None:
            return self.state.current_limit(self._clock())
        with self._lock:
            self._roll(self._clock())
            return self._limit

    def _roll(self, now: float) -> None:
        if self._period_start is None:
            self._period_start = now
            return
        elapsed = now - self._period_start
        if elapsed < self.period:
            return
        missed = int(elapsed // self.period)
        busy = missed == 1 and (self._held or self._count >= self._limit)
        self._limit = min(self._limit * 2, self.max_rate) if busy else self.rate
        self._period_start += missed * self.period
        self._count = 0
        self._held = False

    def try_acquire(self) -> float:
        """Take a slot and return 0.0, or take nothing and return the seconds to wait."""
        if self.state is not None:
            return self.state.try_acquire(self._clock())
        with self._lock:
            now = self._clock()
            self._roll(now)
            while self._granted and self._granted[0] <= now - self.period:
                self._granted.popleft()
            if now < self._paused_until:
                self._held = True
                return self._paused_until - now
            if len(self._granted) < self._limit:
                self._granted.append(now)
                self._count += 1
                return 0.0
            # Wait until enough old grants leave the window, or until the next period, whose
            # allowance may be higher (this one held a caller back); whichever comes first.
            self._held = True
            oldest_needed = self._granted[len(self._granted) - self._limit]
            slide = oldest_needed + self.period - now
            assert self._period_start is not None
            next_period = self._period_start + self.period - now
            return max(min(slide, next_period), 1e-3)

    def acquire(self, max_wait: float | None = None) -> float:
        """Block until a slot is free; return the seconds waited.

        Raises :class:`RateLimited` (``status`` None) when the slot would come later than
        ``max_wait`` seconds from now, so a call never outlives its time budget here.
        """
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if max_wait is not None and waited + wait > max_wait:
                raise RateLimited(
                    "the rate limit for BackgroundCut is exhausted "
                    f"({self.limit} requests per {self.period:g}s)",
                    retry_after=round(wait, 3),
                )
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (the API's Retry-After applies to the whole key)."""
        if self.state is not None:
            self.state.pause_until(self._clock() + max(seconds, 0.0))
            return
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))


_shared: dict[tuple[str, int, int], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_rate_limiter(api_key: str, rate: int, max_rate: int | None) -> RateLimiter:
    """The process-wide limiter for this key and these limits (created on first use).

    The registry is keyed by a hash of the key, so the key itself is not kept in it.
    """
    key_id = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    slot = (key_id, rate, rate if max_rate is None else max_rate)
    with _shared_lock:
        limiter = _shared.get(slot)
        if limiter is None:
            limiter = _shared[slot] = RateLimiter(rate, max_rate)
        return limiter
