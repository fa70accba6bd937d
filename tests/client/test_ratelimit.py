"""The per-process limiter's arithmetic, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import threading

import pytest

from tests.backlog import send_backlog
from wagtail_bgcut.client import RateLimited, RateLimiter
from wagtail_bgcut.client.ratelimit import shared_rate_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(rate=40, max_rate=500, clock=None):
    clock = clock or FakeClock()
    return RateLimiter(rate, max_rate, clock=clock, sleep=clock.sleep), clock


def burst(lim: RateLimiter) -> int:
    """How many slots are free right now."""
    n = 0
    while lim.try_acquire() == 0:
        n += 1
    return n


def test_default_allows_40_then_asks_to_wait_until_the_window_slides():
    lim, _clock = limiter()
    assert burst(lim) == 40
    wait = lim.try_acquire()
    assert wait == pytest.approx(60.0)


def test_busy_minutes_double_the_allowance_up_to_the_maximum():
    lim, clock = limiter(40, 500)
    allowances = []
    for _minute in range(6):
        allowances.append(burst(lim))
        clock.now += 60.0
    assert allowances == [40, 80, 160, 320, 500, 500]


def test_a_quiet_minute_drops_back_to_the_base_rate():
    lim, clock = limiter(40, 500)
    burst(lim)  # minute 1: busy
    clock.now += 60.0
    assert burst(lim) == 80  # minute 2 doubled
    clock.now += 60.0
    for _ in range(10):  # minute 3: only 10 of 160 used
        assert lim.try_acquire() == 0
    clock.now += 60.0
    assert lim.limit == 40


def test_a_minute_held_back_by_retry_after_still_doubles_the_next():
    """Demand, not how the provider's minutes fall against ours, drives the ramp: a minute in
    which the API's Retry-After held the callers back counts as busy."""
    lim, clock = limiter(40, 500)
    for _ in range(30):
        assert lim.try_acquire() == 0
    lim.pause(20)  # a 429 from the provider after 30 calls: its minute began before ours
    assert lim.try_acquire() > 0
    clock.now += 60.0
    assert lim.limit == 80


def test_a_backlog_keeps_the_maximum_against_the_providers_minutes():
    """Against the emulator's reading of the ramp (a minute not used in full drops back to 40),
    a sender with a backlog reaches 500 a minute and keeps it, with no 429."""
    lim, clock = limiter(40, 500)
    per_minute, rejected = send_backlog([lim], clock, 8)
    assert per_minute == [40, 80, 160, 320, 500, 500, 500, 500]
    assert rejected == 0


def test_an_idle_gap_resets_the_ramp():
    lim, clock = limiter(40, 500)
    burst(lim)
    clock.now += 185.0  # three periods later, nothing in between
    assert lim.limit == 40


def test_sliding_window_never_allows_more_than_the_allowance_in_any_60_seconds():
    lim, clock = limiter(10, 10)
    grants = []
    for _step in range(600):  # ask every 0.5 s for 5 minutes
        if lim.try_acquire() == 0:
            grants.append(clock.now)
        clock.now += 0.5
    for i, start in enumerate(grants):
        in_window = [t for t in grants[i:] if t < start + 60.0]
        assert len(in_window) <= 10
    assert len(grants) >= 40  # and it does not starve either


def test_acquire_sleeps_until_a_slot_frees():
    lim, clock = limiter(2, 2)
    assert lim.acquire() == 0.0
    assert lim.acquire() == 0.0
    waited = lim.acquire()
    assert waited == pytest.approx(60.0)
    assert clock.slept == [pytest.approx(60.0)]


def test_acquire_gives_up_with_rate_limited_when_the_wait_exceeds_the_budget():
    lim, clock = limiter(1, 1)
    lim.acquire()
    with pytest.raises(RateLimited) as info:
        lim.acquire(max_wait=5.0)
    assert info.value.status is None
    assert info.value.retry_after == pytest.approx(60.0)
    assert clock.slept == []


def test_pause_from_retry_after_holds_every_caller():
    lim, clock = limiter(40, 500)
    lim.pause(12.0)
    assert lim.try_acquire() == pytest.approx(12.0)
    clock.now += 12.0
    assert lim.try_acquire() == 0


def test_threads_never_get_more_slots_than_the_allowance():
    lim, _clock = limiter(25, 25)
    granted = []

    def worker():
        for _ in range(20):
            if lim.try_acquire() == 0:
                granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 25


@pytest.mark.parametrize(("rate", "max_rate"), [(0, 10), (-1, 10), (10, 5), (True, 10)])
def test_bad_limits_are_refused(rate, max_rate):
    with pytest.raises(ValueError):
        RateLimiter(rate, max_rate)


def test_limiters_are_shared_per_key_and_limits():
    a = shared_rate_limiter("key-one", 40, 500)
    assert shared_rate_limiter("key-one", 40, 500) is a
    assert shared_rate_limiter("key-two", 40, 500) is not a
    assert shared_rate_limiter("key-one", 100, 500) is not a
    assert "key-one" not in repr(a)
