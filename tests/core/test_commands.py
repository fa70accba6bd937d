"""bgcut_process (backfill, estimate, confirmation, --failed, --dry-run) and bgcut_cleanup."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from tests.factories import CollectionFactory, ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout, SourceFile

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out, **kwargs)
    return out.getvalue()


@pytest.fixture
def three_images(make_wagtail_image):
    return [make_wagtail_image(ImageBytesFactory(seed=70 + i), title=f"img{i}") for i in range(3)]


def test_dry_run_spends_nothing_and_prints_the_estimate(bgcut_server, three_images):
    output = run("bgcut_process", "--preset", "full", "--preset", "thumbnail", "--dry-run")
    # 3 images x (1 + 1.5 for the autocropped thumbnail)
    assert "6 cut-out(s) to make for 3 source(s) with the backgroundcut backend" in output
    assert "estimated 7.5 credit(s)" in output
    assert "Dry run" in output
    assert bgcut_server.ledger == []
    assert bgcut_server.requests == []
    assert Cutout.objects.count() == 0
    assert SourceFile.objects.count() == 0  # a dry run does not even read the files


def test_backfill_with_progress_then_nothing_left(bgcut_server, three_images):
    output = run("bgcut_process", "--preset", "full", "--yes")
    assert "estimated 3 credit(s)" in output
    assert "[1/3] image" in output and "#################### [3/3] image" in output
    assert "Finished: 3 cut-out(s) ready, 0 failed." in output
    assert len(bgcut_server.ledger) == 3
    assert Cutout.objects.filter(status="done").count() == 3
    # Run again: nothing missing, nothing spent.
    output = run("bgcut_process", "--preset", "full", "--yes")
    assert "0 cut-out(s) to make" in output
    assert len(bgcut_server.ledger) == 3


def test_duplicate_bytes_are_estimated_and_processed_once(bgcut_server, make_wagtail_image):
    data = ImageBytesFactory(seed=79)
    make_wagtail_image(data, name="a.png")
    make_wagtail_image(data, name="b.png")
    output = run("bgcut_process", "--preset", "full", "--yes")
    assert "1 cut-out(s) to make for 1 source(s)" in output
    assert len(bgcut_server.ledger) == 1


def test_confirmation_above_the_threshold(bgcut_server, three_images, monkeypatch):
    asked: list[str] = []

    def answer(prompt: str) -> str:
        asked.append(prompt)
        return "no"

    monkeypatch.setattr("builtins.input", answer)
    with bgcut_settings(CONFIRM_CREDITS_ABOVE=2):
        with pytest.raises(CommandError, match="Cancelled"):
            run("bgcut_process", "--preset", "full")
        assert len(asked) == 1 and "3 credits" in asked[0]
        assert bgcut_server.ledger == []

        monkeypatch.setattr("builtins.input", lambda prompt: "yes")
        run("bgcut_process", "--preset", "full")
        assert len(bgcut_server.ledger) == 3

    # Under the threshold (or with --noinput) nobody is asked.
    monkeypatch.setattr("builtins.input", answer)
    with bgcut_settings(CONFIRM_CREDITS_ABOVE=2):
        run("bgcut_process", "--preset", "thumbnail", "--noinput")
    assert len(asked) == 1


def test_failed_are_retried_with_failed_flag(bgcut_server, three_images):
    bgcut_server.set_credits(1)
    output = run("bgcut_process", "--preset", "full", "--yes")
    assert "Finished: 1 cut-out(s) ready, 2 failed." in output
    assert "InsufficientCredits (402)" in output
    assert "bgcut_process --recover" in output and "--include-permanent" in output
    bgcut_server.set_credits(100)
    # A 402 needs a person (credits), so a plain --recover leaves those rows alone...
    assert "0 cut-out(s) to make" in run("bgcut_process", "--recover", "--dry-run")
    output = run("bgcut_process", "--failed", "--dry-run")
    assert "2 cut-out(s) to make" in output and "estimated 2 credit(s)" in output
    output = run("bgcut_process", "--failed", "--yes")
    assert "Finished: 2 cut-out(s) ready, 0 failed." in output
    assert Cutout.objects.filter(status="done").count() == 3
    assert len(bgcut_server.ledger) == 3


def test_recover_takes_stuck_rows_and_charged_rows_only_when_asked(
    dummy_backend, make_wagtail_image
):
    from datetime import timedelta

    from django.utils import timezone

    stuck, charged, live = (
        pipeline.process_now(make_wagtail_image(ImageBytesFactory(seed=s)), ["full"])[0]
        for s in (401, 402, 403)
    )
    past = timezone.now() - timedelta(seconds=5)
    # A worker died holding this one (lease over), this one's call may have been paid for, and
    # a live worker still holds the third.
    Cutout.objects.filter(pk=stuck.pk).update(status="processing", lease_expires_at=past, file="")
    Cutout.objects.filter(pk=charged.pk).update(
        status="failed", retryable=False, may_have_been_charged=True, file=""
    )
    Cutout.objects.filter(pk=live.pk).update(
        status="processing", lease_expires_at=timezone.now() + timedelta(minutes=5), file=""
    )
    dummy_backend.reset()
    output = run("bgcut_process", "--recover", "--yes")
    assert "Finished: 1 cut-out(s) ready, 0 failed." in output
    assert Cutout.objects.get(pk=stuck.pk).ready
    assert Cutout.objects.get(pk=charged.pk).status == "failed"
    assert Cutout.objects.get(pk=live.pk).status == "processing"  # never taken from a live job
    output = run("bgcut_process", "--recover", "--include-charged", "--yes")
    assert Cutout.objects.get(pk=charged.pk).ready
    assert len(dummy_backend.calls) == 2


def test_collection_filter(dummy_backend, make_wagtail_image):
    shop = CollectionFactory(name="Shop")
    make_wagtail_image(ImageBytesFactory(seed=80), collection=shop)
    make_wagtail_image(ImageBytesFactory(seed=81))
    output = run("bgcut_process", "--preset", "full", "--collection", "Shop", "--yes")
    assert "1 cut-out(s) to make for 1 source(s)" in output
    output = run("bgcut_process", "--preset", "full", "--collection", str(shop.pk), "--dry-run")
    assert "0 cut-out(s) to make" in output
    with pytest.raises(CommandError, match="No collection"):
        run("bgcut_process", "--preset", "full", "--collection", "Nope")


def test_no_presets_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No presets"):
        run("bgcut_process")


def test_cleanup_deletes_cutouts_of_vanished_sources_only(dummy_backend, make_wagtail_image):
    with bgcut_settings(BACKEND="dummy", AUTO_PROCESS=["full"]):
        keep = make_wagtail_image(ImageBytesFactory(seed=82), title="keep")
        gone = make_wagtail_image(ImageBytesFactory(seed=83), title="gone")
    storage = storages["default"]
    gone_cut = Cutout.objects.get(source_hash=SourceFile.objects.get(name=gone.file.name).sha256)
    keep_cut = Cutout.objects.exclude(pk=gone_cut.pk).get()
    # The image vanished behind Django's back (rows deleted in bulk, file removed by hand).
    type(gone).objects.filter(pk=gone.pk).delete()
    storage.delete(gone.file.name)

    output = run("bgcut_cleanup", "--dry-run")
    assert gone_cut.file.name in output and keep_cut.file.name not in output
    assert storage.exists(gone_cut.file.name) and Cutout.objects.count() == 2

    output = run("bgcut_cleanup")
    assert "Deleted 1 cut-out(s)" in output
    assert not storage.exists(gone_cut.file.name)
    assert list(Cutout.objects.all()) == [keep_cut]
    assert storage.exists(keep_cut.file.name) and storage.exists(keep.file.name)
    with storage.open(keep.file.name, "rb") as fh:
        assert fh.read() == ImageBytesFactory(seed=82)
