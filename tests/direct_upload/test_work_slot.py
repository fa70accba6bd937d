"""Without a worker backend, public local-engine uploads are cut in the request, a few at a time.

``DIRECT_UPLOAD_CONCURRENCY`` slots per process: an upload that finds them all taken is answered
503 with ``Retry-After`` at once (no thread waits holding its upload in memory), and its token is
not spent, so the browser's retry goes through. The slot held here is the same per-process
semaphore a concurrent request would hold.
"""

from __future__ import annotations

import pytest

from tests.core.conftest import bgcut_settings
from tests.factories import ImageBytesFactory
from tests.hostile_files import truncated_png
from wagtail_bgcut.direct_upload.jobs import in_worker, work_slot
from wagtail_bgcut.models import Cutout

from .helpers import Flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(client, user, recorder):
    client.force_login(user)
    return Flow(client, recorder)


def test_the_test_settings_cut_in_the_request():
    assert not in_worker()  # ImmediateBackend: no worker to hand the upload to


def test_an_upload_beyond_the_slots_gets_503_and_retry_after_and_keeps_its_token(flow):
    flow.token(["full"])
    photo = ImageBytesFactory(squashed_ball=True)
    # One image's worth of work allowed: had the refused attempt been counted, the retry would
    # be throttled.
    one = {"DIRECT_UPLOAD_CONCURRENCY": 1, "DIRECT_UPLOAD_WORK_THROTTLE": {"user": "1/hour"}}
    with bgcut_settings(**one), work_slot():
        status, body = flow.process(photo)
        response = flow.recorder.responses[-1]
        assert status == 503, body
        assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
        assert "busy" in body["detail"]
        assert not Cutout.objects.exists()
    # The slot is free again: the same token, and the same work allowance, go through.
    with bgcut_settings(**one):
        status, body = flow.process(photo)
    assert status == 200, body
    assert flow.finalize(body).status_code == 200


def test_a_second_slot_lets_a_second_upload_through(flow):
    flow.token(["full"])
    with bgcut_settings(DIRECT_UPLOAD_CONCURRENCY=2), work_slot():
        status, body = flow.process(ImageBytesFactory(squashed_ball=True))
    assert status == 200, body


def test_a_failed_cut_gives_its_slot_back(flow):
    with bgcut_settings(DIRECT_UPLOAD_CONCURRENCY=1):
        flow.token(["full"])
        status, body = flow.process(truncated_png())
        assert 400 <= status < 500, body
        flow.token(["full"])
        status, body = flow.process(ImageBytesFactory(squashed_ball=True))
        assert status == 200, body


@pytest.mark.parametrize("value", [0, -1, 65, "2", None, True])
def test_a_concurrency_that_bounds_nothing_is_a_configuration_error(value):
    from wagtail_bgcut.checks import check_direct_upload_limits

    with bgcut_settings(DIRECT_UPLOAD_CONCURRENCY=value):
        errors = check_direct_upload_limits()
    assert [e.id for e in errors] == ["wagtail_bgcut.E040"]
    assert "DIRECT_UPLOAD_CONCURRENCY" in errors[0].msg


def test_the_default_concurrency_passes_the_check():
    from wagtail_bgcut.checks import check_direct_upload_limits

    assert check_direct_upload_limits() == []
