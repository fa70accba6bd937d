"""Two worker processes sharing one rate limit (Redis cache) stay within the account's rate."""

from __future__ import annotations

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.bgcut_server(rate_limit=30, rate_limit_max=30)
def test_two_workers_sharing_the_limiter_stay_within_the_rate(
    redis_db, bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    # 16 sources need 32 rate-limited calls (upload + process): more than the 30 a minute the
    # emulator allows, so two workers counting alone would meet 429s.
    shared = {
        "TASK_BACKEND": "db",
        "RATE_LIMIT": 30,
        "RATE_LIMIT_MAX": 30,
        "RATE_LIMIT_CACHE": "redis",
        "MAX_RETRIES": 0,  # a 429 would fail the row: nothing hides an excess
    }
    with engine_settings("db", AUTO_PROCESS=["full"]):
        workers = [start_worker("db", **shared), start_worker("db", **shared)]
        for seed in range(16):
            make_wagtail_image(ImageBytesFactory(colour=(200, 40 + seed, 40)))
        wait_for(
            lambda: (
                Cutout.objects.filter(status="done").count() == 16
                or Cutout.objects.filter(status="failed").exists()
            ),
            150,
            "16 cut-outs",
            workers,
        )
    assert list(Cutout.objects.exclude(status="done").values_list("error", flat=True)) == []
    statuses = [r.status for r in bgcut_server.requests if r.endpoint != "result_file"]
    assert 429 not in statuses and len(statuses) >= 32
    # Both workers did share the work.
    assert all("process_cutouts" in w.output() or w.output() == "" for w in workers)
