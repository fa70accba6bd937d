"""Leases and claims: two workers never process one row; a dead worker's row is taken again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.backends.base import get_backend
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.pipeline.rows import claim, ensure_cutouts

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db


def _row(source_hash="a" * 64, preset="full") -> Cutout:
    return ensure_cutouts(source_hash, [preset], get_backend())[0]


def test_rows_are_unique_per_bytes_and_options():
    first = _row()
    again = _row()
    assert first.pk == again.pk
    # Two presets with identical options share one row.
    with bgcut_settings(
        PRESETS={"a": {"format": "png"}, "b": {"format": "png"}, "c": {"format": "webp"}}
    ):
        rows = ensure_cutouts("b" * 64, ["a", "b", "c"], get_backend())
    assert rows[0].pk == rows[1].pk != rows[2].pk


def test_second_claim_of_a_row_gets_nothing():
    row = _row()
    assert len(claim([row])) == 1
    assert claim([row]) == []
    row.refresh_from_db()
    assert row.status == Cutout.Status.PROCESSING and row.attempts == 1


def test_expired_lease_is_taken_again():
    row = _row()
    (first,) = claim([row])
    # The worker died: its lease ran out.
    Cutout.objects.filter(pk=row.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    (second,) = claim([row])
    assert second.lease != first.lease
    # The dead worker, coming back, can no longer write to the row.
    assert first.mine.update(status=Cutout.Status.DONE) == 0
    assert second.mine.count() == 1


def test_stuck_processing_row_is_finished_by_the_next_request(make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=31))
    (row,) = pipeline.ensure_cutouts(
        pipeline.hash_source(image.file).sha256, ["full"], get_backend()
    )
    claim([row])
    # Held by a live worker: left alone.
    assert pipeline.process_now(image, ["full"])[0].status == Cutout.Status.PROCESSING
    assert dummy_backend.calls == []
    Cutout.objects.filter(pk=row.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    (row,) = pipeline.process_now(image, ["full"])
    assert row.ready and row.lease_expires_at is None
    assert len(dummy_backend.calls) == 1


def test_failed_rows_retry_automatically_until_max_attempts(make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=32))
    with bgcut_settings(BACKEND="dummy", MAX_ATTEMPTS=2):
        dummy_backend.fail_next(RuntimeError("boom"))
        dummy_backend.fail_next(RuntimeError("boom again"))
        (row,) = pipeline.process_now(image, ["full"])
        assert row.error.startswith("RuntimeError: boom Retried automatically after")
        Cutout.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # backoff over
        (row,) = pipeline.process_now(image, ["full"])
        assert "all 2 attempts are used" in row.error and row.next_attempt_at is None
        assert row.status == Cutout.Status.FAILED and row.attempts == 2
        # Out of automatic attempts: a render or save does not call the backend again...
        pipeline.process_now(image, ["full"])
        assert len(dummy_backend.calls) == 2
        # ...a manual retry does.
        (row,) = pipeline.retry([row.pk])
        assert row.ready and row.attempts == 3


@pytest.mark.django_db(transaction=True)
def test_two_threads_claiming_one_row_process_it_once(dummy_backend):
    row = _row("c" * 64)
    barrier = threading.Barrier(2)
    won: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            won.append(len(claim([Cutout.objects.get(pk=row.pk)])))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(won) == [0, 1]
    assert Cutout.objects.get(pk=row.pk).attempts == 1
