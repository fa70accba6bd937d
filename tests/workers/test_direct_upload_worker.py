"""A visitor's public local-engine upload cut by a real worker (``db_worker``, ``rqworker``), not
by the web request.

With a worker task backend the ``process/`` view stores the original, queues the cut and answers
202 with a signed status URL; the browser polls it. Only the visitor who uploaded may read it, and
no answer names a storage path, the task or a traceback.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from wagtail.images import get_image_model

from tests.browser import chromium_page
from tests.direct_upload.conftest import Recorder, media_files
from tests.direct_upload.helpers import Flow
from tests.factories import ImageBytesFactory, UserFactory
from tests.hostile_files import truncated_png
from wagtail_bgcut.direct_upload.finalize import local_folder
from wagtail_bgcut.direct_upload.jobs import in_worker
from wagtail_bgcut.models import Cutout, SourceFile, cutout_storage

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
URLS = "tests.direct_upload.urls"


@pytest.fixture(params=["db", "rq"])
def on_worker(request, bgcut_server, engine_settings, root_collection):
    """The direct-upload URLs, a clean cache, and bgcut's tasks queued for a worker engine
    (``db_worker`` or ``rqworker``); the engine's name."""
    if request.param == "rq":
        request.getfixturevalue("redis_db")
    cache.clear()
    # start_worker brings the emulator (and its key): the local engine is asked for by name.
    # Overrides nested inside the emulator's own (not pytest-django's ``settings``, whose undo
    # would run after the emulator's and bring the emulator's settings back for later tests).
    with override_settings(ROOT_URLCONF=URLS), engine_settings(request.param, BACKEND="local"):
        yield request.param
    cache.clear()


@pytest.fixture
def on_db_worker(bgcut_server, engine_settings, root_collection):
    """As ``on_worker``, on ``db_worker`` only."""
    cache.clear()
    with override_settings(ROOT_URLCONF=URLS), engine_settings("db", BACKEND="local"):
        yield "db"
    cache.clear()


def _status(client: Client, url: str):
    response = client.get(url)
    return response.status_code, response.json(), response


def _answer_after_work(client: Client, url: str, worker, what: str):
    """Poll the status URL until the job is no longer waiting (202): its code, JSON and response."""
    return wait_for(lambda: (r := _status(client, url))[0] != 202 and r, 120, what, [worker])


def _private(response) -> None:
    """Nothing internal in an answer: no file-system path, task detail or traceback."""
    body = response.content.decode()
    assert str(settings.MEDIA_ROOT) not in body
    assert "Traceback" not in body and "manifest" not in body and "direct_upload" not in body


def test_a_public_upload_is_cut_by_the_worker_and_polled_by_its_owner_only(on_worker, start_worker):
    assert in_worker()
    client = Client()
    client.force_login(UserFactory(username="visitor"))
    flow = Flow(client, Recorder())
    assert flow.token(["full", "thumbnail"]).status_code == 200
    photo = ImageBytesFactory(squashed_ball=True, seed=7)
    status, body = flow.process(photo)
    assert status == 202, body
    assert body["status"] == "processing" and body["status_url"].startswith("/bgcut/upload/status/")
    # The web request cut nothing: the original is stored as sent and no worker runs yet.
    folder = local_folder(body["unique_filename"]) + "/"
    stored = [n for n in media_files(settings.MEDIA_ROOT) if n.startswith(folder)]
    assert len(stored) == 1 and stored[0].endswith("/source.png")
    with cutout_storage.open(stored[0], "rb") as fh:
        assert fh.read() == photo
    code, state, response = _status(client, body["status_url"])
    assert (code, state) == (202, {"status": "processing"})
    assert response["Retry-After"] == "1"
    _private(response)

    # Someone else, with the link: refused. A forged link: refused.
    stranger = Client()
    stranger.force_login(UserFactory(username="stranger"))
    code, state, _ = _status(stranger, body["status_url"])
    assert code == 403 and "someone else" in state["detail"]
    code, _, _ = _status(Client(), body["status_url"])
    assert code == 403
    code, _, _ = _status(client, body["status_url"][:-3] + "abc")
    assert code == 403

    worker = start_worker(on_worker)
    code, state, response = _answer_after_work(
        client, body["status_url"], worker, "the worker to cut the upload"
    )
    assert code == 200, state
    assert state["status"] == "success" and set(state["output_urls"]) == {"full", "thumbnail"}
    _private(response)
    # The browser finalizes as with the in-request path: the cut-outs are stored and attached.
    done = flow.finalize(state)
    assert done.status_code == 200, done.content
    assert {c.preset for c in Cutout.objects.filter(status="done", backend="local")} == {
        "full",
        "thumbnail",
    }
    assert SourceFile.objects.filter(sha256=hashlib.sha256(photo).hexdigest()).exists()
    assert get_image_model().objects.count() == 1


def test_a_file_the_worker_cannot_decode_gets_its_reason_and_leaves_nothing(
    on_worker, start_worker
):
    client = Client()
    client.force_login(UserFactory(username="visitor"))
    flow = Flow(client, Recorder())
    before = media_files(settings.MEDIA_ROOT)
    assert flow.token(["full"]).status_code == 200
    status, body = flow.process(truncated_png())  # its header is fine: only decoding fails
    assert status == 202, body
    worker = start_worker(on_worker)
    code, state, response = _answer_after_work(
        client, body["status_url"], worker, "the worker to try the truncated file"
    )
    assert 400 <= code < 500, state
    assert state["detail"]
    _private(response)
    assert media_files(settings.MEDIA_ROOT) == before  # the stored original went with it
    assert not Cutout.objects.exists()
    # The token was spent when the work was queued: it cannot queue the same work again.
    assert flow.process(truncated_png())[0] == 401


@pytest.mark.browser
def test_the_upload_page_shows_the_cutout_the_worker_made(
    on_db_worker, start_worker, live_server, tmp_path
):
    client = Client()
    client.force_login(UserFactory(username="visitor"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
    worker = start_worker("db")
    photo = tmp_path / "ball.png"
    photo.write_bytes(ImageBytesFactory(squashed_ball=True, width=160, height=120, seed=11))
    with chromium_page(timeout_ms=120_000, cookies=[cookie]) as page:
        seen: list[tuple[int, str]] = []
        page.on("response", lambda r: seen.append((r.status, urlsplit(r.url).path)))
        page.goto(live_server.url + "/upload-page/")
        page.set_input_files("[data-bgcut-file]", str(photo))
        widget = page.locator("[data-bgcut-direct-upload]")
        page.wait_for_selector("[data-state=done], [data-state=error]")
        assert widget.get_attribute("data-state") == "done", (widget.inner_text(), worker.output())
        for preset in ("full", "thumbnail"):
            img = page.locator(f"[data-bgcut-preview] img[data-preset={preset}]")
            page.wait_for_function(
                "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle()
            )
            assert img.get_attribute("src") == Cutout.objects.get(preset=preset).file.url
    # The page followed the worker path: a 202 from process/, then the status URL.
    assert (202, "/bgcut/upload/process/") in seen
    assert any(path == "/bgcut/upload/status/" for _, path in seen)
    assert all(c.backend == "local" and c.ready for c in Cutout.objects.all())
