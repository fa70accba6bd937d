"""Per-user and per-IP limits on token issues, counted in Django's cache (fixed windows).

Every token may spend credits, so the site rations them before it calls the Token API. The cache
must be shared by all processes (Redis, Memcached, database) for the limit to hold site-wide; the
per-process LocMemCache only limits each process.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest

from ..conf import bgcut_settings
from ..exceptions import BgcutConfigurationError

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


def _hit(scope: str, ident: str, rate: str, now: float) -> Throttled | None:
    limit, period = parse_rate(rate)
    window = int(now // period)
    key = f"{PREFIX}:{scope}:{ident}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count > limit:
        return Throttled(scope, max(1, int((window + 1) * period - now)))
    return None


def check_throttle(request: HttpRequest, *, now: float | None = None) -> Throttled | None:
    """Count one token issue for this user and IP; the first limit exceeded, or None."""
    rates = bgcut_settings.DIRECT_UPLOAD_THROTTLE or {}
    now = time.time() if now is None else now
    user = getattr(request, "user", None)
    checks = [("ip", client_ip(request))]
    if user is not None and user.is_authenticated:
        checks.insert(0, ("user", str(user.pk)))
    hit = None
    for scope, ident in checks:
        rate = rates.get(scope)
        if rate:
            hit = _hit(scope, ident, rate, now) or hit
    return hit
