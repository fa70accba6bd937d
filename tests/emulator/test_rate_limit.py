"""The documented rate limit: 40/min per key by default, doubling after a busy minute, up to 500."""

from __future__ import annotations

import pytest
import requests

from wagtail_bgcut.testing.ratelimit import RateLimiter


def _hit(api, n):
    return [
        requests.post(f"{api.base}/v3/remove-bg/upload-image/", headers=api.headers, timeout=30)
        for _ in range(n)
    ]


@pytest.mark.bgcut_server(rate_limit=3, rate_limit_max=12)
def test_429_past_the_limit_with_retry_after(api):
    responses = _hit(api, 4)
    assert [r.status_code for r in responses] == [400, 400, 400, 429]
    limited = responses[-1]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "rate limit" in limited.json()["detail"].lower()


@pytest.mark.bgcut_server(rate_limit=3, rate_limit_max=12)
def test_limit_doubles_after_a_busy_minute_and_resets_after_a_quiet_one(api):
    _hit(api, 3)
    api.server.advance(60)
    assert [r.status_code for r in _hit(api, 7)] == [400] * 6 + [429]  # 6 allowed
    api.server.advance(60)
    assert [r.status_code for r in _hit(api, 13)] == [400] * 12 + [429]  # capped at 12
    api.server.advance(60)
    _hit(api, 1)  # a quiet minute...
    api.server.advance(60)
    assert [r.status_code for r in _hit(api, 4)] == [400] * 3 + [429]  # ...back to base


@pytest.mark.bgcut_server(rate_limit=2)
def test_unauthenticated_requests_and_result_downloads_do_not_count(api):
    for _ in range(3):
        requests.post(f"{api.base}/v3/remove-bg/upload-image/", timeout=30)
        requests.get(f"{api.base}/results/x.png", timeout=30)
    assert [r.status_code for r in _hit(api, 3)] == [400, 400, 429]


@pytest.mark.bgcut_server(rate_limit=1)
def test_v2_and_token_api_share_the_key_limit(api, png):
    assert api.v2(png).status_code == 200
    limited = api.token("ai-cut")
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert len(api.server.ledger) == 1  # "No credit deducted" on 429


def test_limit_off_by_default_in_the_fixture(api):
    assert all(r.status_code == 400 for r in _hit(api, 45))


def test_default_limiter_is_the_documented_40_to_500():
    limiter = RateLimiter()
    assert (limiter.base, limiter.maximum) == (40, 500)
    assert [limiter.hit("k", 0.0) for _ in range(40)] == [None] * 40
    assert limiter.hit("k", 0.5) == 60
