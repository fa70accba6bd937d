"""The core's signals, as a site's own code would use them (docs/signals.md)."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from tests.factories import ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.backends.base import BackendError
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.signals import cutout_failed, cutouts_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Connect a receiver to both signals, as a site would; yields what it heard."""
    calls: list[tuple[str, dict]] = []

    def ready(sender, **kwargs):
        calls.append(("ready", {"sender": sender, **kwargs}))

    def failed(sender, **kwargs):
        calls.append(("failed", {"sender": sender, **kwargs}))

    cutouts_ready.connect(ready)
    cutout_failed.connect(failed)
    yield calls
    cutouts_ready.disconnect(ready)
    cutout_failed.disconnect(failed)


def test_one_ready_signal_per_source_with_the_rows_it_made(
    make_wagtail_image, dummy_backend, heard
):
    image = make_wagtail_image(ImageBytesFactory(seed=91))
    heard.clear()  # whatever saving the image did (AUTO_PROCESS) is not this test's subject
    full, thumb = pipeline.process_now(image, ["full", "thumbnail"])
    assert [name for name, _ in heard] == ["ready"]
    (_, kwargs) = heard[0]
    assert kwargs["sender"] is Cutout
    assert kwargs["source_hash"] == full.source_hash
    assert sorted(c.pk for c in kwargs["cutouts"]) == sorted([full.pk, thumb.pk])
    assert all(c.ready for c in kwargs["cutouts"])
    # Nothing new to make: nothing announced.
    pipeline.process_now(image, ["full", "thumbnail"])
    assert len(heard) == 1


def test_a_failing_receiver_breaks_neither_the_cutout_nor_other_receivers(
    make_wagtail_image, dummy_backend, heard, caplog
):
    def broken(sender, **kwargs):
        raise RuntimeError("purge endpoint down")

    cutouts_ready.connect(broken)
    try:
        image = make_wagtail_image(ImageBytesFactory(seed=92))
        heard.clear()
        with caplog.at_level(logging.ERROR, logger="wagtail_bgcut"):
            (row,) = pipeline.process_now(image, ["full"])
    finally:
        cutouts_ready.disconnect(broken)
    assert row.ready
    assert [name for name, _ in heard] == ["ready"]
    assert "purge endpoint down" in caplog.text


def test_a_permanent_failure_is_announced_and_waits_for_a_manual_retry(
    make_wagtail_image, dummy_backend, heard
):
    image = make_wagtail_image(ImageBytesFactory(seed=93))
    heard.clear()
    dummy_backend.fail_next(BackendError("UnsupportedImage: the file is truncated."))
    (row,) = pipeline.process_now(image, ["full"])
    assert row.status == Cutout.Status.FAILED and not row.retryable
    assert [(name, kw["retryable"]) for name, kw in heard] == [("failed", False)]
    # The reason names the cause and says it will not be retried by itself, and how to retry.
    reason = heard[0][1]["reason"]
    assert reason.startswith("UnsupportedImage: the file is truncated. Not retried")
    assert reason == row.error and row.next_attempt_at is None
    assert heard[0][1]["cutout"].pk == row.pk
    # A later save or render does not spend another attempt on a cause that cannot go away...
    pipeline.process_now(image, ["full"])
    assert len(dummy_backend.calls) == 1
    # ...an editor's retry does.
    (row,) = pipeline.retry([row.pk])
    assert row.ready and row.retryable


def test_a_transient_failure_is_announced_as_retryable_and_retried(
    make_wagtail_image, dummy_backend, heard
):
    image = make_wagtail_image(ImageBytesFactory(seed=94))
    heard.clear()
    dummy_backend.fail_next(BackendError("ServiceBusy (503): try later", retryable=True))
    (row,) = pipeline.process_now(image, ["full"])
    assert row.status == Cutout.Status.FAILED and row.retryable
    assert [(name, kw["retryable"]) for name, kw in heard] == [("failed", True)]
    assert "Retried automatically after" in row.error and "attempt 2 of 3" in row.error
    # Not before its backoff: a render or save right away leaves the row alone...
    (row,) = pipeline.process_now(image, ["full"])
    assert row.status == Cutout.Status.FAILED and len(dummy_backend.calls) == 1
    # ...once the backoff has passed, the next one retries it.
    Cutout.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    (row,) = pipeline.process_now(image, ["full"])
    assert row.ready
    assert [name for name, _ in heard] == ["failed", "ready"]
