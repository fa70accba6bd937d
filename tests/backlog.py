"""A sender with a backlog against the emulator's reading of the rate limit, on a simulated clock.

The ramp check that the limiter tests and ``benchmarks/ramp.py`` share: the site's limiters take
turns sending as fast as they grant slots (at most ``speed`` calls a second), every call is
counted by the emulator's limiter (``wagtail_bgcut.testing.ratelimit``, minutes from the first
request, a minute not used in full drops back to the base), and a 429 pauses the limiter that met
it for its ``Retry-After``, as the transport does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wagtail_bgcut.client import RateLimiter
from wagtail_bgcut.testing.ratelimit import RateLimiter as ProviderLimit


def send_backlog(
    limiters: Sequence[RateLimiter],
    clock: Any,
    minutes: int,
    *,
    rate: int = 40,
    max_rate: int = 500,
    speed: float = 10.0,
) -> tuple[list[int], int]:
    """Calls sent in each minute from ``clock.now``, and how many the provider answered 429."""
    provider = ProviderLimit(rate, max_rate)
    start, per_minute, rejected, turn = clock.now, [0] * minutes, 0, 0
    while clock.now < start + 60 * minutes:
        limiter = limiters[turn % len(limiters)]
        turn += 1
        wait = limiter.try_acquire()
        if wait > 0:
            clock.now += wait
            continue
        per_minute[int((clock.now - start) // 60)] += 1
        retry_after = provider.hit("key", clock.now)
        if retry_after is not None:
            rejected += 1
            limiter.pause(retry_after)
        clock.now += 1 / speed
    return per_minute, rejected
