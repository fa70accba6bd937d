"""A visitor's upload in a real browser (Debian's chromium via Playwright) against the emulator.

The page comes from Django's live server; the widget asks it for a token, sends the file straight
to the emulator's Processing API (another origin: CORS), then finalizes on the site, which stores
the cut-out and shows it. The API key must appear nowhere in what the browser received.
"""

from __future__ import annotations

import pytest
from django.test import Client
from wagtail.images import get_image_model

from tests.browser import chromium_page
from tests.factories import ImageBytesFactory
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.testing.pytest_plugin import API_KEY

pytestmark = [
    pytest.mark.browser,
    # Not serialized_rollback: other transactional tests flush before this one and the content
    # types would clash. The one migration-made row the flow needs, the root collection, is made
    # below.
    pytest.mark.django_db(transaction=True),
]

TIMEOUT_MS = 60_000


@pytest.fixture
def browser_page(settings, live_server, user, root_collection):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
    with chromium_page(timeout_ms=TIMEOUT_MS, cookies=[cookie]) as page:
        yield page


def test_upload_through_the_widget_stores_and_shows_the_cutout(
    browser_page, live_server, bgcut_server, tmp_path
):
    page = browser_page
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(live_server.url + "/upload-page/")
    photo = tmp_path / "ball.png"
    photo.write_bytes(ImageBytesFactory(squashed_ball=True, width=160, height=120))

    page.set_input_files("[data-bgcut-file]", str(photo))
    widget = page.locator("[data-bgcut-direct-upload]")
    page.wait_for_selector("[data-state=done], [data-state=error]")
    assert widget.get_attribute("data-state") == "done", widget.inner_text()

    # Shown: both cut-outs, served by the site (not the emulator's short-lived URLs), loaded.
    for preset in ("full", "thumbnail"):
        img = page.locator(f"[data-bgcut-preview] img[data-preset={preset}]")
        src = img.get_attribute("src")
        assert src.startswith("/media/bgcut/"), src
        page.wait_for_function(
            "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle()
        )
    assert page.locator("[data-bgcut-status]").inner_text() == "Done: background removed."

    # Stored: one charge (the browser's direct upload), the cut-outs and the Wagtail image.
    assert [c.endpoint for c in bgcut_server.ledger] == ["remove_bg"]
    assert sorted(c.preset for c in Cutout.objects.all() if c.ready) == ["full", "thumbnail"]
    assert get_image_model().objects.count() == 1
    full = Cutout.objects.get(preset="full")
    assert page.locator("img[data-preset=full]").get_attribute("src") == full.file.url

    # The form's hidden input holds the signed reference; submitting it reaches the view.
    page.click("button[type=submit]")
    image = get_image_model().objects.get()
    assert page.locator("#cleaned").inner_text() == str(image.pk)

    # The key never reached the browser: not in any page, header or JSON it received.
    assert API_KEY not in page.content()
    seen = []
    for response in responses:
        try:
            body = response.body()
        except Exception:  # redirects and aborted loads have no body
            body = b""
        seen.append(response.url)
        assert API_KEY.encode() not in body + str(response.headers).encode(), response.url
    assert any(url.endswith("/bgcut/upload/token/") for url in seen)
    assert any(url.endswith("/v3/remove-bg/") for url in seen)


def test_without_a_key_the_same_widget_uses_the_sites_own_engine(
    browser_page, live_server, tmp_path
):
    page = browser_page
    page.goto(live_server.url + "/upload-page/")
    photo = tmp_path / "ball.jpg"
    photo.write_bytes(ImageBytesFactory(squashed_ball=True, width=160, height=120, fmt="JPEG"))
    page.set_input_files("[data-bgcut-file]", str(photo))
    widget = page.locator("[data-bgcut-direct-upload]")
    page.wait_for_selector("[data-state=done], [data-state=error]")
    assert widget.get_attribute("data-state") == "done", widget.inner_text()
    img = page.locator("[data-bgcut-preview] img[data-preset=full]")
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    full = Cutout.objects.get(preset="full")
    assert full.ready and full.backend == "local"
    assert img.get_attribute("src") == full.file.url
