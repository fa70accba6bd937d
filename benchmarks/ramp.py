"""The 40 -> 500 ramp: the shared limiter against the emulator's reading of the rate limit.

    python benchmarks/ramp.py

A sender with a backlog (at most ``--speed`` calls a second) takes every slot that
``wagtail_bgcut.rate_limits.CacheLimiterState`` grants (simulated clock, a process-local cache),
and each call is counted by the emulator's limiter (``wagtail_bgcut.testing.ratelimit``), whose
minutes start at the first request rather than on the clock's minute. Prints, for several offsets
of that first request within the clock's minute, the calls per minute, the emulator's 429s and
the sustained rate over the last minutes. No network, no worker: the arithmetic of the two
limiters alone, so it runs in a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--speed", type=float, default=10.0, help="calls a second at most")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.cache import caches

    from wagtail_bgcut.rate_limits import CacheLimiterState
    from wagtail_bgcut.testing.ratelimit import RateLimiter as EmulatorLimiter

    cache = caches["default"]  # LocMemCache in the test settings: one simulated process
    for offset in (0, 10, 30, 50, 59):
        cache.clear()
        state = CacheLimiterState("default", f"ramp-{offset}", 40, 500)
        provider = EmulatorLimiter(40, 500)
        t = 1_800_000_000.0 + offset  # a clock minute's start (divisible by 60) plus the offset
        start, per_minute, rejected = t, [0] * args.minutes, 0
        while t < start + 60 * args.minutes:
            wait = state.try_acquire(t)
            if wait > 0:
                t += max(wait, 0.01)
                continue
            retry_after = provider.hit("key", t)
            per_minute[int((t - start) // 60)] += 1
            if retry_after is not None:
                rejected += 1
                state.pause_until(t + retry_after)
            t += 1 / args.speed
        tail = per_minute[4:]
        print(
            f"first call {offset:2d} s into the clock's minute: per minute {per_minute}; "
            f"429s {rejected}; minutes 5-{args.minutes}: {sum(tail) / max(len(tail), 1):.0f}/min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
