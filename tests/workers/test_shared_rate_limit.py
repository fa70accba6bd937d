"""Two worker processes sharing one rate limit (Redis cache) stay within the account's rate."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.bgcut_server(rate_limit=30, rate_limit_max=30)
def test_two_workers_sharing_the_limiter_stay_within_the_rate(
    redis_db, bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    # 16 sources need 32 rate-limited calls (upload + process): more than the 30 a minute the
    # emulator allows. Two workers counting alone would send all 32 within seconds; sharing one
    # limit, the 31st waits until the first call's minute is over.
    shared = {
        "TASK_BACKEND": "db",
        "RATE_LIMIT": 30,
        "RATE_LIMIT_MAX": 30,
        "RATE_LIMIT_CACHE": "redis",
    }
    with engine_settings("db", AUTO_PROCESS=["full"]):
        workers = [start_worker("db", **shared), start_worker("db", **shared)]
        # Both polling before the first job is queued, and each job slow enough (a third of a
        # second in process-image) that one worker cannot drain the queue before the other
        # takes a job: otherwise the check below that both made cut-outs depends on which
        # process started first (it failed once in CI that way).
        wait_for(
            lambda: all("Starting worker" in w.output() for w in workers),
            60,
            "both workers polling",
            workers,
        )
        bgcut_server.inject(latency=0.3, path="/v3/remove-bg/process-image/", times=None)
        for seed in range(16):
            make_wagtail_image(ImageBytesFactory(colour=(200, 40 + seed, 40)))
        wait_for(
            lambda: Cutout.objects.filter(status="done").count() == 16,
            150,
            "16 cut-outs",
            workers,
        )
    limited = [r for r in bgcut_server.requests if r.endpoint != "result_file"]
    arrived = sorted(r.received or r.time for r in limited)
    assert len(arrived) >= 32
    # Within the first call's minute (half a second short of it, for the network's jitter at the
    # edge: a call sent as the minute ends may arrive a moment before the emulator's minute does,
    # which costs one free 429 and a retry, not the row), no more than the 30 allowed were sent.
    assert sum(t < arrived[0] + 59.5 for t in arrived) <= 30
    assert [r.status for r in limited].count(429) <= 2
    # Both workers made cut-outs (so the limit above held across two processes), and neither
    # logged an error. (Their output alone cannot say it: on Django 6.0 Wagtail's own reference
    # index tasks go to the same workers.)
    ran = DBTaskResult.objects.filter(task_path__endswith="process_cutouts")
    assert len({r.worker_ids[-1] for r in ran if r.worker_ids}) == 2
    assert not any("Traceback" in w.output() for w in workers)
