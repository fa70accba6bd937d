"""End to end with the BackgroundCut backend against the emulator over real HTTP."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.files.storage import storages
from PIL import Image as PILImage

from tests.factories import ImageBytesFactory, ProductFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout

from .conftest import bgcut_settings, replace_file

pytestmark = pytest.mark.django_db

AUTO = ["full", "thumbnail"]


def calls(server, endpoint: str) -> int:
    return sum(1 for r in server.requests if r.endpoint == endpoint and r.status == 200)


def test_upload_resave_change_and_ledger(bgcut_server, make_wagtail_image):
    with bgcut_settings(AUTO_PROCESS=AUTO):
        image = make_wagtail_image(ImageBytesFactory(seed=21))
        # One upload and ONE process call for both presets, both downloaded and stored.
        assert calls(bgcut_server, "upload_image") == 1
        assert calls(bgcut_server, "process_image") == 1
        assert [sorted(c.variants) for c in bgcut_server.ledger] == [AUTO]
        rows = {c.preset: c for c in Cutout.objects.all()}
        assert all(r.ready for r in rows.values())
        assert rows["full"].backend == "backgroundcut"
        assert float(rows["full"].credits_charged) == 1.0
        assert float(rows["thumbnail"].credits_charged) == 1.5  # autocrop costs 0.5 more
        assert rows["full"].unique_filename
        for row in rows.values():
            with storages["default"].open(row.file.name, "rb") as fh:
                img = PILImage.open(fh)
                assert (img.width, img.height, img.format.lower()) == (
                    row.width,
                    row.height,
                    {"png": "png", "webp": "webp"}[row.format],
                )
        # The result URLs expire at the provider; the stored files do not depend on them.
        bgcut_server.expire()
        assert storages["default"].exists(rows["full"].file.name)

        before = len(bgcut_server.requests)
        image.title = "re-saved"
        image.save()
        image.refresh_from_db()
        image.save()
        assert len(bgcut_server.requests) == before  # no API call at all

        replace_file(image, ImageBytesFactory(seed=22))
        assert calls(bgcut_server, "upload_image") == 2
        assert calls(bgcut_server, "process_image") == 2

    ledger = bgcut_server.ledger
    # No credit spent twice: every (upload, variant) pair is charged once.
    pairs = Counter((c.unique_filename, v) for c in ledger for v in c.variants)
    assert set(pairs.values()) == {1}
    assert sum(c.credits for c in ledger) == 2 * 2.5


def test_new_preset_reuses_the_upload(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=23))
    pipeline.process_now(image, ["full"])
    pipeline.process_now(image, ["thumbnail"])
    assert calls(bgcut_server, "upload_image") == 1
    assert calls(bgcut_server, "process_image") == 2


def test_expired_unique_filename_is_uploaded_again_once(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=24))
    pipeline.process_now(image, ["full"])
    bgcut_server.expire()  # the provider forgets the upload before our own expiry estimate
    rows = pipeline.process_now(image, ["thumbnail"])
    assert rows[0].ready
    assert calls(bgcut_server, "upload_image") == 2
    # The first process call got a 404, the second succeeded.
    process = [r.status for r in bgcut_server.requests if r.endpoint == "process_image"]
    assert process == [200, 404, 200]
    assert len(bgcut_server.ledger) == 2


@pytest.mark.bgcut_server(credits=1)
def test_insufficient_credits_fails_with_reason_and_retry_works(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=25))
    (row,) = pipeline.process_now(image, ["thumbnail"])  # 1.5 credits needed, 1 left
    assert row.status == Cutout.Status.FAILED
    # Which call failed, that it cost nothing, and that only a person's retry helps.
    assert row.error.startswith("process-image failed: InsufficientCredits (402)")
    assert "Not charged. Not retried" in row.error and row.next_attempt_at is None
    assert bgcut_server.api_key not in row.error
    assert row.attempts == 1 and not row.file
    assert bgcut_server.ledger == []

    bgcut_server.set_credits(10)
    (row,) = pipeline.retry([row.pk])
    assert row.ready and row.error == "" and row.attempts == 2
    assert sum(c.credits for c in bgcut_server.ledger) == 1.5


def test_service_busy_is_retried_by_the_client(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=26))
    bgcut_server.inject(503, times=1, path="/v3/remove-bg/process-image/")
    (row,) = pipeline.process_now(image, ["full"])
    assert row.ready
    statuses = [r.status for r in bgcut_server.requests if r.path.endswith("/process-image/")]
    assert statuses == [503, 200]
    assert len(bgcut_server.ledger) == 1


def test_api_key_never_in_stored_errors(bgcut_server, make_wagtail_image):
    from django.conf import settings

    image = make_wagtail_image(ImageBytesFactory(seed=27))
    with bgcut_settings(API_KEY="wrong-key-123456"):
        (row,) = pipeline.process_now(image, ["full"])
        assert row.status == Cutout.Status.FAILED
        assert row.error.startswith("upload-image failed: AuthenticationFailed (401)")
        assert "wrong-key-123456" not in row.error
    assert settings.WAGTAIL_BGCUT["API_KEY"] not in row.error


def test_corrupt_source_fails_before_any_credit_is_spent(bgcut_server, committed):
    with committed():
        ProductFactory(name="broken", data=b"\xff\xd8\xff garbage", filename="broken.jpg")
    rows = list(Cutout.objects.all())
    assert rows and {r.status for r in rows} == {"failed"}
    assert all("UnsupportedImage: " in r.error and "Not retried" in r.error for r in rows)
    assert bgcut_server.requests == []  # refused before anything was sent


def test_a_sources_downloads_go_out_together_and_failures_keep_the_paid_urls(
    bgcut_server, make_wagtail_image
):
    # Each result answer waits 0.5 s: downloaded one after the other, the second request would
    # arrive after the first was answered; together, both arrive before either answer.
    bgcut_server.inject(latency=0.5, times=None, path="/results/*")
    with bgcut_settings(AUTO_PROCESS=AUTO):
        make_wagtail_image(ImageBytesFactory(seed=31))
    assert sorted(Cutout.objects.values_list("status", flat=True)) == ["done", "done"]
    results = [r for r in bgcut_server.requests if r.endpoint == "result_file"]
    assert len(results) == 2
    first, second = sorted(results, key=lambda r: r.received)
    assert second.received < first.time

    # The downloads keep failing: the job fails with that reason, and the paid URLs stay on the
    # rows so that the retry downloads them again without paying.
    bgcut_server.clear_faults()
    bgcut_server.inject(truncate=True, times=None, path="/results/*")
    with bgcut_settings(AUTO_PROCESS=AUTO):
        make_wagtail_image(ImageBytesFactory(seed=32))
    rows = list(Cutout.objects.exclude(status="done"))
    assert [r.status for r in rows] == ["failed", "failed"]
    assert all(r.failed_call == "download" and r.output_url for r in rows)
    assert calls(bgcut_server, "process_image") == 2
