"""Per-user and per-IP limits on token issues and on local-engine work, in Django's cache.

Every token may spend credits, so the site rations them before it calls the Token API; with the
local engine each upload also costs the server CPU and memory in proportion to its pixels, so the
megapixels processed are rationed too (``DIRECT_UPLOAD_WORK_THROTTLE``). Fixed windows, counted in
the cache ``DIRECT_UPLOAD_CACHE``, which must be shared by all processes (Redis, Memcached,
database) for the limit to hold site-wide; the per-process LocMemCache only limits each process
(check W021).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.http import HttpRequest

from ..conf import bgcut_settings
from ..exceptions import BgcutConfigurationError
from .tokens import shared_cache

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")
PREFIX = "wagtail_bgcut:direct_upload:throttle"


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` -> (20, 3600)."""
    match = _RATE.match(rate) if isinstance(rate, str) else None
    if not match:
        raise BgcutConfigurationError(
            f"DIRECT_UPLOAD_THROTTLE rate {rate!r} must look like '20/hour' "
            "(per second, minute, hour or day)."
        )
    return int(match.group(1)), PERIODS[match.group(2)]


@dataclass(frozen=True)
class Throttled:
    """Which limit was hit and when to come back."""

    scope: str
    retry_after: int


def client_ip(request: HttpRequest) -> str:
    """``REMOTE_ADDR``: behind a proxy, have the proxy middleware set it (headers are forgeable)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _hit(scope: str, ident: str, rate: str, now: float, amount: int = 1) -> Throttled | None:
    limit, period = parse_rate(rate)
    window = int(now // period)
    key = f"{PREFIX}:{scope}:{ident}:{period}:{window}"
    cache = shared_cache()
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key, amount)
    except ValueError:  # evicted between add and incr
        cache.set(key, amount, timeout=period + 1)
        count = amount
    if count > limit:
        return Throttled(scope, max(1, int((window + 1) * period - now)))
    return None


def check_throttle(request: HttpRequest, *, now: float | None = None) -> Throttled | None:
    """Count one token issue for this user and IP; the first limit exceeded, or None."""
    return _count(request, "", bgcut_settings.DIRECT_UPLOAD_THROTTLE, 1, now)


def check_work(
    request: HttpRequest, megapixels: float, *, now: float | None = None
) -> Throttled | None:
    """Count the megapixels the local engine is about to process; a limit exceeded, or None.

    Counted before the work starts (a stranger's failed uploads cost the server too), rounded up
    so that even a tiny image counts one.
    """
    amount = max(1, math.ceil(megapixels))
    return _count(request, "work:", bgcut_settings.DIRECT_UPLOAD_WORK_THROTTLE, amount, now)


def _count(
    request: HttpRequest, kind: str, rates: dict | None, amount: int, now: float | None
) -> Throttled | None:
    rates = rates or {}
    now = time.time() if now is None else now
    user = getattr(request, "user", None)
    checks = [("ip", client_ip(request))]
    if user is not None and user.is_authenticated:
        checks.insert(0, ("user", str(user.pk)))
    hit = None
    for scope, ident in checks:
        rate = rates.get(scope)
        if rate:
            hit = _hit(kind + scope, ident, rate, now, amount) or hit
    return hit
