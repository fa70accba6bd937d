"""The upload widget says what is happening: uploading, then removing the background (which can
take seconds after the last byte is sent), then saving, never "Uploading…" throughout."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.browser import chromium_page
from tests.factories import ImageBytesFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD = """() => {
    window.bgcutSeen = [];
    const status = document.querySelector('[data-bgcut-status]');
    new MutationObserver(() => window.bgcutSeen.push(status.textContent))
        .observe(status, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture
def page(settings, live_server, user, root_collection):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
    with chromium_page(timeout_ms=60_000, cookies=[cookie]) as tab:
        yield tab


def test_the_widget_says_when_the_background_is_being_removed(page, live_server, tmp_path):
    page.goto(live_server.url + "/upload-page/")
    page.evaluate(RECORD)
    photo = tmp_path / "ball.png"
    photo.write_bytes(ImageBytesFactory(squashed_ball=True, width=160, height=120))
    page.set_input_files("[data-bgcut-file]", str(photo))
    page.wait_for_selector("[data-state=done], [data-state=error]")
    seen = [text for text in page.evaluate("() => window.bgcutSeen") if text]
    phases = [t.split("…")[0] for t in dict.fromkeys(seen)]
    assert phases == [
        "Preparing upload",
        "Uploading",
        "Removing the background",
        "Saving",
        "Done: background removed.",
    ], seen
