"""One rate limit for all processes: the cache-backed limiter state, driven by a fake clock."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from tests.backlog import send_backlog
from wagtail_bgcut.client import RateLimiter
from wagtail_bgcut.rate_limits import CacheLimiterState, site_rate_limiter

from .conftest import bgcut_settings


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0  # a minute boundary

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    caches["default"].clear()
    yield Clock()
    caches["default"].clear()


def processes(clock, n=2, rate=40, max_rate=500) -> list[RateLimiter]:
    """``n`` limiters as ``n`` processes would build them: separate objects, one cache."""
    return [
        RateLimiter(
            rate, max_rate, clock=clock, state=CacheLimiterState("default", "k", rate, max_rate)
        )
        for _ in range(n)
    ]


def burst(limiters: list[RateLimiter]) -> int:
    granted, refused = 0, set()
    while len(refused) < len(limiters):
        for i, lim in enumerate(limiters):
            if i not in refused:
                if lim.try_acquire() == 0:
                    granted += 1
                else:
                    refused.add(i)
    return granted


def test_two_processes_share_one_allowance_and_the_ramp(clock):
    a, b = processes(clock)
    assert burst([a, b]) == 40  # not 40 each
    assert a.try_acquire() > 0 and b.try_acquire() > 0
    # The busy minute doubles the next one's allowance, for both.
    clock.now += 61
    assert a.limit == 80 == b.limit
    assert burst([a, b]) == 80
    # A quiet minute drops back to the base rate.
    clock.now += 180
    assert a.limit == 40


def test_no_sixty_seconds_carry_more_than_the_allowance(clock):
    a, b = processes(clock, rate=30, max_rate=30)
    clock.now += 40  # the provider's minute may start anywhere: begin late in ours
    assert burst([a, b]) == 30
    clock.now += 30  # a new minute of ours, but the provider's may still hold those 30
    assert burst([a, b]) == 0
    wait = a.try_acquire()
    assert 0 < wait <= 30
    clock.now += wait
    assert burst([a, b]) == 30


@pytest.mark.parametrize("offset", [0.0, 30.0, 44.3])
def test_a_backlog_ramps_to_the_maximum_and_stays_there(clock, offset):
    """Two processes with a backlog, against the emulator's reading of the ramp (its minutes start
    at the first request; a minute not used in full drops back to 40): from the fifth minute they
    send 500 a minute, keep doing so, and meet no 429. (Before, every minute stayed just short of
    the allowance and a bulk import fell back to about 40 a minute after its first ramp.)"""
    clock.now += offset
    per_minute, rejected = send_backlog(processes(clock), clock, 8)
    assert per_minute == [40, 80, 160, 320, 500, 500, 500, 500]
    assert rejected == 0  # a 429 costs no credit, but its Retry-After holds every process


def test_retry_after_pauses_every_process(clock):
    a, b = processes(clock)
    a.pause(12)
    assert b.try_acquire() == pytest.approx(12)
    clock.now += 12
    assert b.try_acquire() == 0


def test_the_site_limiter_uses_the_configured_cache(clock):
    with bgcut_settings(RATE_LIMIT_CACHE="default"):
        lim = site_rate_limiter("key", 40, 500)
        assert isinstance(lim.state, CacheLimiterState)
    with bgcut_settings(RATE_LIMIT_CACHE=None):
        assert site_rate_limiter("key", 40, 500) is None
