"""One BackgroundCut rate limit for every process of a site, kept in Django's cache.

The client's limiter (:mod:`wagtail_bgcut.client.ratelimit`) counts per process; a site with three
workers would send three times the account's allowance and meet 429s. :class:`CacheLimiterState`
keeps the count in a cache every process shares (Redis in production), with the documented ramp
(``RATE_LIMIT`` a minute, doubling after a busy minute, up to ``RATE_LIMIT_MAX``) and the API's
``Retry-After`` applying to all processes at once.

Grants are counted in one-second buckets from the key's first call (the emulator's minutes start
at a key's first request; a real provider's cannot be seen) and a grant needs the last 60 buckets
to hold fewer than the allowance, so a site with a backlog uses every minute in full: a minute
not used in full may drop the provider's allowance back to the base rate (the pages are silent
on what a quieter minute does; the emulator reads it so), and an earlier margin of one second and
2% kept every minute just short and a busy site at 40 a minute (``benchmarks/ramp.py``). The
price: a 60-second span that starts inside a second may hold that second's grants on top.

A minute is busy, and the next one doubles, when it used its allowance or held a caller back (the
limit or a ``Retry-After``): demand, not luck with the boundaries, drives the ramp. A 429 that slips
through costs no credit and is retried by the transport. A process first counts itself in (the
cache's atomic ``incr``), then reads the sum and backs out if it is over: two processes racing for
the last slot may both wait, never both send. Counters need a cache shared by all processes (Redis,
Memcached); with a process-local cache each process counts alone again, which the system check
``wagtail_bgcut.W020`` reports when a worker backend is set.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import caches

from .api_facts import RATE_LIMIT_PERIOD_SECONDS
from .client.ratelimit import RateLimiter
from .conf import bgcut_settings

__all__ = ["CacheLimiterState", "site_rate_limiter"]


class CacheLimiterState:
    """A :class:`~wagtail_bgcut.client.ratelimit.LimiterState` in a Django cache, per API key."""

    def __init__(
        self,
        cache_alias: str,
        key_id: str,
        rate: int,
        max_rate: int,
        period: float = RATE_LIMIT_PERIOD_SECONDS,
    ):
        self.cache = caches[cache_alias]
        self.prefix = f"wagtail_bgcut:ratelimit:{key_id}:{rate}:{max_rate}"
        self.rate, self.max_rate, self.period = rate, max_rate, float(period)

    def _key(self, name: str, window: int | None = None) -> str:
        return f"{self.prefix}:{name}" + ("" if window is None else f":{window}")

    def _limit(self, window: int) -> int:
        key = self._key("limit", window)
        limit = self.cache.get(key)
        if limit is None:
            before = self.cache.get(self._key("limit", window - 1))
            used = self.cache.get(self._key("count", window - 1)) or 0
            held = self.cache.get(self._key("held", window - 1)) is not None
            busy = before is not None and (held or used >= before)
            limit = min(before * 2, self.max_rate) if busy else self.rate
            # First writer wins, so every process agrees on this minute's allowance.
            self.cache.add(key, limit, timeout=self.period * 3)
            limit = self.cache.get(key) or limit
        return int(limit)

    def _since_epoch(self, now: float) -> float:
        """Seconds since the first call this cache saw for the key. Minutes and one-second
        buckets count from there, not from the clock's: the emulator's minutes start at a key's
        first request, and a real provider's cannot be seen, so ours start at the same moment."""
        key = self._key("epoch")
        epoch = self.cache.get(key)
        if epoch is None:  # the first call: the first writer's moment wins for every process
            self.cache.add(key, now, timeout=None)
            epoch = self.cache.get(key, now)
        return now - epoch

    def current_limit(self, now: float) -> int:
        return self._limit(int(self._since_epoch(now) // self.period))

    def _held_back(self, window: int) -> None:
        """Note that demand met the limit in ``window``, so the next minute may double."""
        self.cache.add(self._key("held", window), 1, timeout=self.period * 3)

    def try_acquire(self, now: float) -> float:
        paused = self.cache.get(self._key("pause"))
        elapsed = self._since_epoch(now)
        window = int(elapsed // self.period)
        if paused is not None and paused > now:
            self._held_back(window)
            return paused - now
        allowance = self._limit(window)
        second = int(elapsed)
        span = math.ceil(self.period)
        bucket = self._key("second", second)
        self.cache.add(bucket, 0, timeout=span * 2)
        self.cache.incr(bucket)
        seconds = range(second - span + 1, second + 1)
        counts = self.cache.get_many([self._key("second", s) for s in seconds])
        used = [counts.get(self._key("second", s), 0) for s in seconds]
        over = sum(used) - allowance
        if over > 0:
            self.cache.decr(bucket)  # back out: this process does not send now
            self._held_back(window)
            dropped = 0
            for s, n in zip(seconds, used, strict=True):
                dropped += n
                if dropped >= over:
                    return max(s + span - elapsed, 1e-3)  # when bucket ``s`` leaves the span
            return max(second + 1 - elapsed, 1e-3)
        minute = self._key("count", window)
        self.cache.add(minute, 0, timeout=self.period * 3)
        self.cache.incr(minute)  # the minute's use, for the ramp
        return 0.0

    def pause_until(self, until: float) -> None:
        key = self._key("pause")
        current = self.cache.get(key)
        if current is None or until > current:
            self.cache.set(key, until, timeout=max(until - time.time(), 1) + self.period)


def site_rate_limiter(api_key: str, rate: int, max_rate: int | None) -> RateLimiter | None:
    """A limiter sharing ``RATE_LIMIT_CACHE`` with every process of the site, or None when no
    cache is configured (the client then limits each process by itself)."""
    alias = bgcut_settings.RATE_LIMIT_CACHE
    if not alias:
        return None
    key_id = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    max_rate = rate if max_rate is None else max_rate
    state = CacheLimiterState(alias, key_id, rate, max_rate)
    return RateLimiter(rate, max_rate, clock=time.time, state=state)
