"""What a failed attempt keeps and how it is told: paid-for URLs, possible charges, leases."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from tests.factories import ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.backends.base import BackendError
from wagtail_bgcut.models import Cutout

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db

PROCESS = "/v3/remove-bg/process-image/"


def test_a_failed_download_is_retried_from_the_paid_url_not_paid_again(
    bgcut_server, make_wagtail_image
):
    image = make_wagtail_image(ImageBytesFactory(seed=501))
    bgcut_server.inject(truncate=True, path="/results/*", times=1)
    with bgcut_settings(MAX_RETRIES=0):
        (row,) = pipeline.process_now(image, ["full"])
        assert row.status == "failed" and row.retryable
        assert row.error.startswith("download failed: ")
        assert "Already paid" in row.error
        # The URL was stored before the download started, with its expiry.
        assert row.output_url and row.output_url_expires_at > timezone.now()
        Cutout.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        (row,) = pipeline.process_now(image, ["full"])
    assert row.ready and row.attempts == 2 and row.output_url == ""
    assert len(bgcut_server.ledger) == 1  # paid once
    assert len([r for r in bgcut_server.requests if r.path == PROCESS]) == 1


def test_an_expired_paid_url_is_not_used(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=502))
    bgcut_server.inject(truncate=True, path="/results/*", times=1)
    with bgcut_settings(MAX_RETRIES=0):
        (row,) = pipeline.process_now(image, ["full"])
        Cutout.objects.filter(pk=row.pk).update(
            next_attempt_at=timezone.now(), output_url_expires_at=timezone.now()
        )
        (row,) = pipeline.process_now(image, ["full"])
    # A new process call (the old URL could have been dead), but no second upload.
    assert row.ready
    assert len(bgcut_server.ledger) == 2
    assert len([r for r in bgcut_server.requests if r.path.endswith("/upload-image/")]) == 1


class _MaybeCharged(BackendError):
    may_have_been_charged = True


def test_a_call_that_may_have_been_charged_waits_for_a_person(make_wagtail_image, dummy_backend):
    image = make_wagtail_image(ImageBytesFactory(seed=503))
    dummy_backend.fail_next(
        _MaybeCharged("TransportError: connection reset after sending", retryable=True)
    )
    (row,) = pipeline.process_now(image, ["full"])
    assert row.status == "failed" and row.may_have_been_charged and not row.retryable
    assert row.next_attempt_at is None
    assert "may have been charged" in row.error and "--include-charged" in row.error
    # No save, render or worker retries it by itself...
    assert not pipeline.needs_work(row)
    pipeline.process_now(image, ["full"])
    assert len(dummy_backend.calls) == 1
    # ...a person does, and a success clears the mark.
    (row,) = pipeline.retry([row.pk])
    assert row.ready and not row.may_have_been_charged


@pytest.mark.django_db(transaction=True)
def test_a_live_job_renews_its_lease(make_wagtail_image, dummy_backend):
    from wagtail_bgcut.pipeline.rows import claim, keep_leases

    image = make_wagtail_image(ImageBytesFactory(seed=504))
    (row,) = pipeline.ensure_cutouts(
        pipeline.hash_source(image.file).sha256, ["full"], pipeline.processing.get_backend()
    )
    with bgcut_settings(LEASE_SECONDS=0.6):
        (held,) = claim([row])
        first = held.lease
        with keep_leases([held]):
            deadline = timezone.now() + timezone.timedelta(seconds=10)
            while held.lease == first and timezone.now() < deadline:
                time.sleep(0.05)
        row.refresh_from_db()
    assert held.lease > first and row.lease_expires_at == held.lease
