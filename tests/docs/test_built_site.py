"""The built documentation site in chromium: home page, navigation, screenshots, API reference.

``make test-docs`` builds the site with ``mkdocs build --strict`` into site/ and runs these tests
with ``BGCUT_DOCS_SITE=site``; without it they skip (the ordinary passes do not build the site).
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import chromium_page

SITE = os.environ.get("BGCUT_DOCS_SITE")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not SITE,
        reason="needs BGCUT_DOCS_SITE=<built site>; `make test-docs` builds it and runs these",
    ),
]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url():
    root = Path(SITE).resolve()
    assert (root / "index.html").is_file(), f"{root} holds no built site"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_home_page_navigation_reaches_the_faq_and_how_it_works(site_url):
    with chromium_page(timeout_ms=20_000) as page:
        page.goto(site_url + "/")
        assert page.title() == "wagtail-bgcut"
        page.get_by_role("navigation").get_by_role("link", name="FAQ").first.click()
        page.wait_for_url("**/faq/")
        assert page.get_by_role("heading", name="Page caches and CDNs").is_visible()
        page.get_by_role("navigation").get_by_role("link", name="How it works").first.click()
        page.wait_for_url("**/how-it-works/")
        assert page.get_by_role("heading", name="How it works", level=1).is_visible()


def test_screenshots_load_on_the_admin_page(site_url):
    with chromium_page(timeout_ms=20_000) as page:
        page.goto(site_url + "/admin/")
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all(
            "article img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"
        )
        assert len(widths) >= 5
        assert [src for src, width in widths if width == 0] == [], "images that did not load"


def test_api_reference_is_rendered_from_docstrings(site_url):
    with chromium_page(timeout_ms=20_000) as page:
        page.goto(site_url + "/api/")
        heading = page.locator("[id='wagtail_bgcut.cutouts.get_cutout']")
        assert heading.count() == 1
        text = page.locator("article").inner_text()
        assert "prefetch_cutouts" in text and "register_preset" in text
        assert ":class:" not in text and ":func:" not in text
