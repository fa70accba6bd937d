"""The optional ``cutouts_ready`` receiver purges the pages that show the image.

Wagtail's own ``HTTPBackend`` sends real PURGE requests to a local HTTP server that records them
(what Varnish would receive); a backend class of our own stands for any other CDN.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ecosystem.cache_backends import RecordingBackend
from tests.factories import WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.frontend_cache import (
    DISPATCH_UID,
    connect_frontend_cache_purge,
    purge_pages_for_cutouts,
)
from wagtail_bgcut.signals import cutouts_ready

pytestmark = pytest.mark.django_db


class PurgeRecorder(BaseHTTPRequestHandler):
    received: list[tuple[str, str, str]]

    def do_PURGE(self) -> None:  # http.server calls do_<METHOD>
        self.server.received.append((self.command, self.headers["Host"], self.path))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def purge_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PurgeRecorder)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def receiver_connected() -> Iterator[None]:
    connect_frontend_cache_purge()
    connect_frontend_cache_purge()  # twice: still one receiver
    yield
    cutouts_ready.disconnect(dispatch_uid=DISPATCH_UID)


def test_cutout_ready_purges_the_pages_that_show_the_image(
    settings, purge_server, receiver_connected, make_page, photo, committed
):
    host, port = purge_server.server_address
    settings.WAGTAILFRONTENDCACHE = {
        "varnish": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": f"http://{host}:{port}",
        }
    }
    other = WagtailImageFactory(filename="other.png", data__seed=3)
    make_page(photo=photo, slug="by-key")
    make_page(body=[("cutout", photo)], slug="in-stream")
    make_page(photo=other, slug="other-image")
    draft = make_page(photo=photo, slug="draft")
    draft.unpublish()
    assert purge_server.received == []

    with committed():
        pipeline.process_now(photo, ["full"])

    assert sorted(purge_server.received) == [
        ("PURGE", "localhost", "/by-key/"),
        ("PURGE", "localhost", "/in-stream/"),
    ]


def test_any_frontend_cache_backend_receives_the_urls(
    settings, receiver_connected, make_page, photo, committed
):
    settings.WAGTAILFRONTENDCACHE = {
        "mycdn": {"BACKEND": "tests.ecosystem.cache_backends.RecordingBackend"}
    }
    RecordingBackend.purged.clear()
    make_page(photo=photo, slug="card")
    with committed():
        pipeline.process_now(photo, ["full"])
    assert RecordingBackend.purged == ["http://localhost/card/"]


def test_without_the_receiver_nothing_is_purged(settings, make_page, photo, committed):
    settings.WAGTAILFRONTENDCACHE = {
        "mycdn": {"BACKEND": "tests.ecosystem.cache_backends.RecordingBackend"}
    }
    RecordingBackend.purged.clear()
    make_page(photo=photo, slug="card")
    with committed():
        pipeline.process_now(photo, ["full"])
    assert RecordingBackend.purged == []


def test_bytes_no_page_uses_purge_nothing(settings, photo):
    settings.WAGTAILFRONTENDCACHE = {
        "mycdn": {"BACKEND": "tests.ecosystem.cache_backends.RecordingBackend"}
    }
    RecordingBackend.purged.clear()
    assert purge_pages_for_cutouts(None, source_hash="0" * 64) == 0
    assert RecordingBackend.purged == []


def test_without_a_configured_cache_the_receiver_costs_no_query(
    settings, receiver_connected, make_page, photo, django_assert_num_queries
):
    settings.WAGTAILFRONTENDCACHE = {}
    make_page(photo=photo, slug="card")
    with django_assert_num_queries(0):
        assert purge_pages_for_cutouts(None, source_hash="0" * 64) == 0
