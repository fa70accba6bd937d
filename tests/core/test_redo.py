"""Redoing a finished cut-out: ``bgcut_process --force`` and ``tasks.request_redo``, against the
BackgroundCut emulator over HTTP: estimated first, paid again only when confirmed, credits of both
calls counted, and the old renditions served until the new file is stored."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.tasks import request_redo

from .conftest import bgcut_settings

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_force_estimates_then_makes_finished_cutouts_again(bgcut_server, make_wagtail_image):
    image = make_wagtail_image(ImageBytesFactory(seed=81), title="once")
    run("bgcut_process", "--preset", "full", "--yes")
    assert len(bgcut_server.ledger) == 1
    assert "0 cut-out(s) to make" in run("bgcut_process", "--preset", "full", "--dry-run")

    output = run("bgcut_process", "--preset", "full", "--force", "--dry-run")
    assert "1 cut-out(s) to make" in output and "estimated 1 credit(s)" in output
    assert Cutout.objects.get().status == "done"  # a dry run changes nothing
    old_rendition = image.get_rendition("bgcut-full|width-40")

    output = run("bgcut_process", "--preset", "full", "--force", "--yes")
    assert "Finished: 1 cut-out(s) ready, 0 failed." in output
    assert len(bgcut_server.ledger) == 2
    row = Cutout.objects.get()
    assert row.status == "done" and row.credits_charged == Decimal("2")  # both calls counted
    assert not type(old_rendition).objects.filter(pk=old_rendition.pk).exists()  # purged


def test_cancelling_the_confirmation_leaves_the_cutout_done(
    bgcut_server, make_wagtail_image, monkeypatch
):
    make_wagtail_image(ImageBytesFactory(seed=82), title="kept")
    run("bgcut_process", "--preset", "full", "--yes")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with bgcut_settings(CONFIRM_CREDITS_ABOVE=0), pytest.raises(CommandError, match="Cancelled"):
        run("bgcut_process", "--preset", "full", "--force")
    row = Cutout.objects.get()
    assert row.status == "done" and row.file
    assert len(bgcut_server.ledger) == 1


def test_request_redo_takes_only_finished_rows_and_keeps_the_file(
    dummy_backend, make_wagtail_image, committed
):
    from wagtail_bgcut import pipeline

    image = make_wagtail_image(ImageBytesFactory(seed=83), title="redo")
    (row,) = pipeline.process_now(image, ["full"])
    pending = Cutout.objects.create(source_hash="f" * 64, options_key="x", preset="full")
    with committed():
        ids = request_redo([row.pk, pending.pk], enqueue=False)
    assert ids == [row.pk]
    row.refresh_from_db()
    assert row.status == "pending" and row.file  # the old file stays until the new one
