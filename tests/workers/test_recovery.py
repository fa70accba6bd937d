"""Work that finishes by itself on real worker processes: dead workers, failures, long jobs.

Every test starts ``db_worker`` or ``rqworker`` processes (tests/workers/conftest.py) against the
bundled emulator; the test process only saves images (which queues the work) and watches the rows.
Short leases and backoffs (seconds) keep the runs short; the mechanism is the one in production.
"""

from __future__ import annotations

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PROCESS = "/v3/remove-bg/process-image/"
UPLOAD = "/v3/remove-bg/upload-image/"


def _engine(request, engine: str) -> None:
    if engine == "rq":
        request.getfixturevalue("redis_db")


def _calls(server, path: str) -> list:
    return [r for r in server.requests if r.path == path]


def _row() -> Cutout:
    return Cutout.objects.get()


@pytest.mark.parametrize("engine", ["db", "rq"])
def test_a_killed_workers_row_is_finished_by_another_worker(
    request, engine, bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    _engine(request, engine)
    # The process call takes 4 s: long enough to kill the worker while it waits for the answer.
    bgcut_server.inject(latency=4, path=PROCESS, times=1)
    worker_settings = {"LEASE_SECONDS": 3, "RETRY_BACKOFF": 1, "TASK_BACKEND": engine}
    with engine_settings(engine, AUTO_PROCESS=["full"]):
        first = start_worker(engine, scheduler=False, **worker_settings)
        original = ImageBytesFactory(seed=301)
        image = make_wagtail_image(original)
        # The upload answered and its handle is on the row before the process call returns.
        wait_for(
            lambda: _row().status == "processing" and _row().unique_filename,
            60,
            "the first worker to upload and start the process call",
            [first],
        )
        first.kill()
        second = start_worker(engine, **worker_settings)
        # Nobody runs a command: the follow-up the dead job queued brings the row to the second.
        row = wait_for(
            lambda: (r := _row()).status == "done" and r,
            90,
            "the second worker to finish the killed worker's row",
            [first, second],
        )
    assert row.ready and row.attempts == 2
    # The upload handle survived the dead attempt: one upload; at most the killed job's process
    # call is paid on top of the one that made the cut-out.
    assert len([r for r in _calls(bgcut_server, UPLOAD) if r.status == 200]) == 1
    assert len(bgcut_server.ledger) <= 2
    image.file.open("rb")
    assert image.file.read() == original  # the original is untouched
    image.file.close()


@pytest.mark.parametrize("engine", ["db", "rq"])
def test_a_transient_failure_is_retried_on_schedule_without_a_second_upload(
    request, engine, bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    _engine(request, engine)
    # One 503 and no in-call retries: the attempt fails, the engine runs the retry later.
    bgcut_server.inject(503, path=PROCESS, times=1, detail="busy")
    with engine_settings(engine, AUTO_PROCESS=["full"]):
        worker = start_worker(engine, MAX_RETRIES=0, RETRY_BACKOFF=2, TASK_BACKEND=engine)
        make_wagtail_image(ImageBytesFactory(seed=302))
        failed = wait_for(
            lambda: (r := _row()).status == "failed" and r,
            60,
            "the first attempt to fail",
            [worker],
        )
        # The reason says which call failed, that it cost nothing and when it comes back.
        assert failed.error.startswith("process-image failed: ServiceBusy (503)")
        assert "Not charged. Retried automatically after" in failed.error
        assert failed.next_attempt_at is not None and failed.unique_filename
        row = wait_for(
            lambda: (r := _row()).status == "done" and r, 60, "the automatic retry", [worker]
        )
    assert row.attempts == 2 and row.error == ""
    processes = _calls(bgcut_server, PROCESS)
    assert [r.status for r in processes] == [503, 200]
    # Not sooner than the schedule said (the emulator's clock and ours both count seconds).
    assert processes[1].time - processes[0].time >= 1.5
    assert len(_calls(bgcut_server, UPLOAD)) == 1  # the retry reused the upload handle
    assert len(bgcut_server.ledger) == 1


def test_a_permanent_failure_is_not_retried(
    bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    bgcut_server.inject(422, path=PROCESS, times=1, detail="bad variant")
    with engine_settings("db", AUTO_PROCESS=["full"], LEASE_SECONDS=1):
        worker = start_worker("db", RETRY_BACKOFF=0.5, LEASE_SECONDS=1, TASK_BACKEND="db")
        make_wagtail_image(ImageBytesFactory(seed=303))
        row = wait_for(lambda: (r := _row()).status == "failed" and r, 60, "the failure", [worker])
        # Well past the backoff and the lease: the follow-up check ran and left the row alone.
        from django_tasks_db.models import DBTaskResult

        wait_for(
            lambda: not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists(),
            30,
            "the queue to drain",
            [worker],
        )
    row.refresh_from_db()
    assert row.status == "failed" and not row.retryable and row.next_attempt_at is None
    assert "ValidationFailed (422)" in row.error and "Not retried" in row.error
    assert len(_calls(bgcut_server, PROCESS)) == 1
    assert bgcut_server.ledger == []


def test_a_long_live_job_keeps_its_lease(
    bgcut_server, start_worker, engine_settings, make_wagtail_image
):
    from django_tasks_db.models import DBTaskResult

    # The process call takes 10 s, five leases: a second worker runs the follow-up checks
    # meanwhile and must find the lease renewed each time.
    bgcut_server.inject(latency=10, path=PROCESS, times=1)
    worker_settings = {"LEASE_SECONDS": 2, "TASK_BACKEND": "db"}
    with engine_settings("db", AUTO_PROCESS=["full"], LEASE_SECONDS=2):
        workers = [start_worker("db", **worker_settings), start_worker("db", **worker_settings)]
        make_wagtail_image(ImageBytesFactory(seed=304))
        # While the job still runs, a check has run on the other worker and left the row alone.
        wait_for(
            lambda: (
                DBTaskResult.objects.filter(status="SUCCESSFUL").exists()
                and _row().status == "processing"
            ),
            60,
            "a follow-up check during the job",
            workers,
        )
        row = wait_for(lambda: (r := _row()).status == "done" and r, 90, "the long job", workers)
    assert row.attempts == 1
    assert len(_calls(bgcut_server, PROCESS)) == 1
    assert len(bgcut_server.ledger) == 1
