"""The budget guard under real concurrency: separate processes, separate database connections.

Two or more workers asking :func:`wagtail_bgcut.budget.reserve` at the same moment at the edge of
a cap must not both pass: on PostgreSQL an advisory lock serialises the check, on SQLite the insert
that comes first takes the single write lock. First the guard alone (processes released together
by a barrier, round after round), then the whole path: ``db_worker`` processes making cut-outs on
the emulator, whose own ledger counts what was charged.
"""

from __future__ import annotations

import json
import multiprocessing

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from tests.factories import ImageBytesFactory, UserFactory
from wagtail_bgcut.models import CreditSpend, Cutout
from wagtail_bgcut.tasks import request_cutouts

from .conftest import ROOT, wait_for
from .race import reserve_in_rounds

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 4
ROUNDS = 6
CAP = 7  # of PROCESSES * ROUNDS = 24 one-credit calls, exactly 7 may pass


@pytest.mark.parametrize("cap", ["monthly", "user"])
def test_concurrent_reservations_never_pass_the_cap(cap):
    key = "BUDGET_MONTHLY_CREDITS" if cap == "monthly" else "BUDGET_USER_MONTHLY_CREDITS"
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "BGCUT_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        "BGCUT_WORKER_SETTINGS": json.dumps({**settings.WAGTAIL_BGCUT, key: CAP}, default=list),
        "PYTHONPATH": str(ROOT),
    }
    user = "42" if cap == "user" else ""
    spawn = multiprocessing.get_context("spawn")
    barrier, out = spawn.Barrier(PROCESSES), spawn.Queue()
    children = [
        spawn.Process(target=reserve_in_rounds, args=(env, barrier, ROUNDS, 1.0, user, out))
        for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    try:
        results = [out.get(timeout=180) for _ in children]
    finally:
        for child in children:
            child.join(timeout=30)
    assert all(child.exitcode == 0 for child in children)
    assert sum(p for p, _ in results) == CAP
    assert sum(r for _, r in results) == PROCESSES * ROUNDS - CAP
    rows = CreditSpend.objects.all()
    assert rows.count() == CAP and rows.aggregate(total=Sum("credits"))["total"] == CAP
    assert set(rows.values_list("user_id", flat=True)) == {user}


def test_three_db_workers_charge_exactly_the_editors_cap(
    bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    """8 cut-outs asked for by one editor whose cap pays for 3, made by 3 db_worker processes:
    the emulator charges exactly 3; the other 5 are refused before any call, saying why."""
    editor = UserFactory(username="alice")
    cap = {"BUDGET_USER_MONTHLY_CREDITS": 3, "AUTO_PROCESS": []}
    with engine_settings("db", **cap):
        images = [make_wagtail_image(ImageBytesFactory(seed=i, wrap=None)) for i in range(8)]
        for image in images:  # autocommit (a transactional test): queued at once
            request_cutouts(image, ["full"], requested_by=editor)
        assert Cutout.objects.filter(requested_by=editor, status="pending").count() == 8
        workers = [start_worker("db", **cap, TASK_BACKEND="db") for _ in range(3)]
        wait_for(
            lambda: not Cutout.objects.exclude(status__in=["done", "failed"]).exists(),
            240,
            "the workers to finish every row",
            workers,
        )
    assert len(bgcut_server.ledger) == 3  # the emulator's own count of what it charged
    processed = [r for r in bgcut_server.requests if r.endpoint == "process_image"]
    assert len(processed) == 3
    assert Cutout.objects.filter(status="done").count() == 3
    refused = Cutout.objects.filter(status="failed")
    assert refused.count() == 5
    assert all(
        r.error.startswith("BudgetExceeded: The monthly BackgroundCut budget of alice")
        and not r.retryable
        for r in refused
    )
    assert CreditSpend.objects.aggregate(total=Sum("credits"))["total"] == 3
