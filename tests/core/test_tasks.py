"""Background work through django-tasks: the ImmediateBackend and django-tasks-db's worker."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.tasks import request_cutouts

from .conftest import bgcut_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_work_is_enqueued_on_commit(
    make_wagtail_image, dummy_backend, django_capture_on_commit_callbacks
):
    image = make_wagtail_image(ImageBytesFactory(seed=61))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (row,) = request_cutouts(image, ["full"])
    # Nothing ran before the commit: the row waits, the backend was not called.
    assert row.status == Cutout.Status.PENDING
    assert dummy_backend.calls == []
    assert len(callbacks) == 1
    callbacks[0]()  # the commit happens: ImmediateBackend runs the task now
    row.refresh_from_db()
    assert row.ready
    assert len(dummy_backend.calls) == 1


@pytest.mark.django_db
def test_task_takes_primary_keys_and_reports_done_ids(make_wagtail_image, dummy_backend):
    from wagtail_bgcut.tasks import process_cutouts

    image = make_wagtail_image(ImageBytesFactory(seed=62))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("wagtail_bgcut.tasks.enqueue_cutouts", lambda *a, **k: None)
        (row,) = request_cutouts(image, ["full"])
    result = process_cutouts.enqueue([row.pk], None)
    assert result.return_value == [row.pk]
    row.refresh_from_db()
    assert row.ready
    # Running it again is a no-op: the row is done.
    assert process_cutouts.enqueue([row.pk], None).return_value == []
    assert len(dummy_backend.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_database_backend_and_worker(make_wagtail_image, dummy_backend):
    from django_tasks_db.models import DBTaskResult

    with bgcut_settings(BACKEND="dummy", TASK_BACKEND="db", AUTO_PROCESS=["full", "thumbnail"]):
        image = make_wagtail_image(ImageBytesFactory(seed=63))
        # Queued in the database, not run: the web process never waits for the backend.
        # The job, and a check of its rows one lease later (in case a worker dies holding it).
        assert DBTaskResult.objects.count() == 2
        queued, request_check = sorted(
            DBTaskResult.objects.all(), key=lambda r: r.task_result.task.run_after is not None
        )
        assert queued.task_result.task.run_after is None
        assert request_check.task_result.task.run_after is not None
        assert request_check.args_kwargs["args"][0] == queued.args_kwargs["args"][0]
        assert queued.args_kwargs["args"][0] == sorted(Cutout.objects.values_list("pk", flat=True))
        assert set(Cutout.objects.values_list("status", flat=True)) == {"pending"}
        assert dummy_backend.calls == []

        out = io.StringIO()
        call_command(
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--backend",
            "db",
            "--queue-name",
            "default",
            stdout=out,
            stderr=out,
        )
    assert set(Cutout.objects.values_list("status", flat=True)) == {"done"}
    assert len(dummy_backend.calls) == 1
    assert DBTaskResult.objects.get(pk=queued.pk).status == "SUCCESSFUL"
    # Before its call, the job queued a check of its rows for after their lease: the way another
    # worker takes them over if this one dies. Here it waits, and finds the rows done.
    (check,) = DBTaskResult.objects.exclude(pk__in=[queued.pk, request_check.pk])
    assert check.status == "READY" and check.task_result.task.run_after is not None
    assert check.args_kwargs["args"][0] == queued.args_kwargs["args"][0]
    assert image.file.name  # the original is still there
