"""The 40 -> 500 ramp: the site's limiter against the emulator's reading of the rate limit.

    python benchmarks/ramp.py [--process-local] [--speed 10] [--minutes 10]

A sender with a backlog (at most ``--speed`` calls a second) takes every slot that the site's
shared limiter (``wagtail_bgcut.rate_limits.CacheLimiterState`` in a process-local cache;
``--process-local``: the client's own in-process limiter) grants on a simulated clock, and each
call is counted by the emulator's limiter (``wagtail_bgcut.testing.ratelimit``), whose minutes
start at the first request rather than on the clock's minute. A 429 pauses the limiter for its
``Retry-After``, as the transport does. Prints, for several offsets of that first request within
the clock's minute, the calls per minute, the emulator's 429s and the sustained rate from the
fifth minute on. No network, no worker: the arithmetic of the two limiters alone, in seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class SimClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--speed", type=float, default=10.0, help="calls a second at most")
    parser.add_argument("--process-local", action="store_true", help="the client's own limiter")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.cache import caches

    from tests.backlog import send_backlog
    from wagtail_bgcut.client import RateLimiter
    from wagtail_bgcut.rate_limits import CacheLimiterState

    cache = caches["default"]  # LocMemCache in the test settings: one simulated process
    for offset in (0, 10, 30, 50, 59, 10.5, 30.7, 44.3):
        cache.clear()
        # A clock minute's start (divisible by 60) plus the offset of the first call.
        clock = SimClock(1_800_000_000.0 + offset)
        state = None if args.process_local else CacheLimiterState("default", "ramp", 40, 500)
        limiter = RateLimiter(40, 500, clock=clock, state=state)
        per_minute, rejected = send_backlog([limiter], clock, args.minutes, speed=args.speed)
        tail = per_minute[4:]
        print(
            f"first call {offset:4.1f} s into the clock's minute: per minute {per_minute}; "
            f"429s {rejected}; minutes 5-{args.minutes}: {sum(tail) / max(len(tail), 1):.0f}/min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
