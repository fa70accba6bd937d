"""Plain Django's admin in a real browser (Debian's chromium, Django's live server, the local
engine): a product's cut-outs previewed over a checkerboard, a failed cut-out found with the
status filter and retried with the action, as a site admin would.
"""

from __future__ import annotations

import os

import pytest

from tests.browser import chromium_page
from tests.factories import PASSWORD, ImageBytesFactory, ProductFactory, UserFactory
from wagtail_bgcut.models import Cutout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 30_000


@pytest.fixture
def page(settings, live_server):
    settings.ROOT_URLCONF = "tests.ecosystem.urls"
    with chromium_page(timeout_ms=TIMEOUT_MS, viewport={"width": 1200, "height": 900}) as tab:
        yield tab


def log_in(page, live_server) -> None:
    user = UserFactory(superuser=True)
    page.goto(f"{live_server.url}/django-admin/login/")
    page.fill("input[name='username']", user.username)
    page.fill("input[name='password']", PASSWORD)
    page.click("input[type='submit']")
    page.wait_for_url(f"{live_server.url}/django-admin/")


def keep(page, name: str) -> None:
    """A screenshot to look at, with BGCUT_KEEP_OUTPUT=<dir>."""
    png = page.screenshot()
    folder = os.environ.get("BGCUT_KEEP_OUTPUT")
    if folder:
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(png)


def test_product_cutouts_over_a_checkerboard_and_a_retry(page, live_server):
    product = ProductFactory(name="Red disc", data=ImageBytesFactory(seed=9, width=160, height=120))
    assert Cutout.objects.filter(status="done").count() == 2  # made on commit by the local engine
    log_in(page, live_server)

    page.goto(f"{live_server.url}/django-admin/testapp/product/{product.pk}/change/")
    frames = page.locator(".bgcut-preview__frame")
    assert frames.count() == 2
    for index in range(2):
        img = frames.nth(index).locator("img")
        img.wait_for()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")  # the file was served
        background = frames.nth(index).evaluate("e => getComputedStyle(e).backgroundImage")
        assert "linear-gradient" in background
    keep(page, "django-admin-product.png")

    full = Cutout.objects.get(preset="full")
    Cutout.objects.filter(pk=full.pk).update(status="failed", error="ServiceBusy: 503")
    page.goto(f"{live_server.url}/django-admin/wagtail_bgcut/cutout/")
    page.get_by_role("link", name="Failed").click()
    page.wait_for_url("**status__exact=failed**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.first.locator("input[name='_selected_action']").check()
    page.select_option("select[name='action']", "retry")
    page.click("button[name='index']")
    page.wait_for_selector("ul.messagelist li.success")
    assert "1 cut-out was queued again." in page.inner_text("ul.messagelist")
    keep(page, "django-admin-cutouts.png")
    full.refresh_from_db()
    assert full.status == "done" and full.error == ""
