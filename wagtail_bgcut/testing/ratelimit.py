"""The documented rate limit, per API key.

"There is a default limit of 40 requests per minute. Depending on usage in the current minute,
rate limits double the following minute up to a maximum of 500 requests per minute." (v2 page).

We read that as fixed one-minute windows per key: a window that used its whole allowance doubles
the next window's allowance (capped at ``maximum``); a window that stayed under it drops back to
the base limit. A request past the allowance gets 429 with ``Retry-After`` = seconds to the next
window. Rejected requests count as usage, so a client hammering through 429s still ramps up, which
is the "under load" the page describes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass
class _Window:
    start: float
    limit: int
    count: int = 0


class RateLimiter:
    """Per-key fixed windows with the documented doubling ramp. Not thread-safe on its own:
    the emulator state calls it under its lock."""

    def __init__(self, base: int | None = 40, maximum: int | None = 500):
        self.base = base
        self.maximum = max(maximum or 0, base or 0)
        self._windows: dict[str, _Window] = {}

    def hit(self, key: str, now: float) -> float | None:
        """Count one request for ``key``; return seconds to wait if it is over the limit."""
        if not self.base:
            return None
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(start=now, limit=self.base)
        elapsed = now - window.start
        if elapsed >= WINDOW_SECONDS:
            missed = int(elapsed // WINDOW_SECONDS)
            busy = window.count >= window.limit and missed == 1
            limit = min(window.limit * 2, self.maximum) if busy else self.base
            window = self._windows[key] = _Window(
                start=window.start + missed * WINDOW_SECONDS, limit=limit
            )
        window.count += 1
        if window.count > window.limit:
            return max(1.0, math.ceil(window.start + WINDOW_SECONDS - now))
        return None

    def reset(self) -> None:
        self._windows.clear()
