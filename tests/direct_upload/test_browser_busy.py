"""The widget in a real browser when the site's only work slot is taken: it shows the reason,
waits the ``Retry-After`` it was given, sends the file again and shows the cut-out.

The live server runs in this process, so the slot this test holds is the one its requests need.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.browser import chromium_page
from tests.core.conftest import bgcut_settings
from tests.factories import ImageBytesFactory
from wagtail_bgcut.direct_upload.jobs import work_slot
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_busy_site_is_retried_and_the_cutout_shown(
    settings, live_server, user, root_collection, tmp_path
):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
    photo = tmp_path / "ball.png"
    photo.write_bytes(ImageBytesFactory(squashed_ball=True, width=160, height=120, seed=5))
    statuses: list[int] = []
    with (
        bgcut_settings(DIRECT_UPLOAD_CONCURRENCY=1),
        chromium_page(timeout_ms=60_000, cookies=[cookie]) as page,
    ):
        page.on("response", lambda r: r.url.endswith("/process/") and statuses.append(r.status))
        page.goto(live_server.url + "/upload-page/")
        status = page.locator("[data-bgcut-status]")
        with work_slot():
            page.set_input_files("[data-bgcut-file]", str(photo))
            page.wait_for_function(
                "(el) => el.textContent.includes('busy')", arg=status.element_handle()
            )
            assert not Cutout.objects.exists()
        page.wait_for_selector("[data-state=done], [data-state=error]")
        widget = page.locator("[data-bgcut-direct-upload]")
        assert widget.get_attribute("data-state") == "done", widget.inner_text()
        img = page.locator("[data-bgcut-preview] img[data-preset=full]")
        page.wait_for_function(
            "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle()
        )
    assert statuses[0] == 503 and statuses[-1] == 200, statuses
    assert Cutout.objects.get(preset="full").ready
