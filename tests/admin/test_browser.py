"""An editor's day in a real browser (Debian's chromium driven by Playwright, Django's live
server, the offline local engine): log in, open an image, remove its background, refine it with
AI Cut dots, save it as a new image and find it in the library, the original untouched.

Screenshots for docs/admin.md are written to docs/images/ as the test goes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image as PILImage

from tests.browser import chromium_page
from tests.factories import PASSWORD, ImageBytesFactory, WagtailImageFactory

from .conftest import read_file

pytestmark = [
    pytest.mark.browser,
    # Not serialized_rollback: it inhibits post_migrate on the flush after the test, which leaves
    # later transactional tests without content types. Rows made by migrations that these tests
    # need (the root collection) are made by the fixtures when missing.
    pytest.mark.django_db(transaction=True),
]

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WIDTH, HEIGHT = 480, 360  # ImageBytesFactory(big_ball=True): big enough to click on
TIMEOUT_MS = 30_000


@pytest.fixture
def browser_settings(settings):
    settings.ROOT_URLCONF = "tests.admin.urls"
    settings.WAGTAILADMIN_BASE_URL = "http://127.0.0.1"
    return settings


@pytest.fixture
def page(browser_settings, live_server):
    with chromium_page(
        timeout_ms=TIMEOUT_MS, viewport={"width": 1200, "height": 820}, locale="en-GB"
    ) as tab:
        yield tab


def log_in(page, live_server, user) -> None:
    """Sign in through the admin's login form, as a person would."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name='username']", user.username)
    page.fill("input[name='password']", PASSWORD)
    page.click("button[type='submit']")
    page.wait_for_url(f"{live_server.url}/admin/")


def shot(page, name: str) -> None:
    """Screenshot the page; written into docs/images/ only with BGCUT_SCREENSHOTS=1.

    Every run takes the screenshot (so a page that cannot render fails here), but the committed
    docs images change only when someone asks for new ones, so `make test` leaves the tree clean.
    """
    png = page.screenshot(full_page=False)
    if os.environ.get("BGCUT_SCREENSHOTS") != "1":
        return
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    # A 128-colour palette keeps the docs' screenshots small (tens of kB) and still crisp.
    with PILImage.open(io.BytesIO(png)) as picture:
        small = picture.convert("RGB").quantize(colors=128, method=PILImage.Quantize.MEDIANCUT)
        small.save(DOCS_IMAGES / name, format="PNG", optimize=True)


def coverage(page) -> float:
    return float(page.get_attribute("[data-controller='bgcut-aicut']", "data-coverage"))


def wait_applied(page, number: int) -> None:
    page.wait_for_selector(f"[data-controller='bgcut-aicut'][data-applied-request='{number}']")


def test_editor_removes_a_background_refines_it_and_saves_a_new_image(
    page, live_server, editor, collections
):
    from wagtail.images import get_image_model

    data = ImageBytesFactory(big_ball=True)
    image = WagtailImageFactory(
        title="Red ball",
        collection=collections["shop"],
        data=data,
        filename="red-ball.jpg",
        file_metadata=True,
        tags=["toys"],
    )
    original_name = image.file.name

    log_in(page, live_server, editor)

    # Open the image, then "Remove background".
    page.goto(f"{live_server.url}/admin/images/{image.pk}/")
    page.click("[data-bgcut-edit-link]")
    page.wait_for_selector("text=No cut-out yet for this preset.")
    page.click("[data-bgcut-start]")
    cutout = page.wait_for_selector("[data-bgcut-cutout-image]")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=cutout, timeout=TIMEOUT_MS
    )
    assert cutout.evaluate("img => img.naturalWidth") == WIDTH
    shot(page, "admin-remove-background.png")

    # Preview over a colour instead of the checkerboard.
    page.fill("#bgcut-colour", "#2f6fdf")
    stage_bg = page.eval_on_selector(
        "[data-bgcut-cutout-target='stage']", "el => getComputedStyle(el).backgroundColor"
    )
    assert stage_bg == "rgb(47, 111, 223)"
    shot(page, "admin-remove-background-colour.png")

    # AI Cut: a green dot on the ball, one on the floor (mask grows), a red one on the floor
    # (mask shrinks), undo with the keyboard, then the mode toggle for a red dot again.
    page.click("[data-bgcut-aicut-link]")
    editor_img = page.locator("[data-bgcut-aicut-target='image']")
    editor_img.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=editor_img.element_handle()
    )
    box = editor_img.bounding_box()
    sx, sy = box["width"] / WIDTH, box["height"] / HEIGHT

    editor_img.click(position={"x": 240 * sx, "y": 180 * sy})
    wait_applied(page, 1)
    ball_only = coverage(page)
    assert 0.1 < ball_only < 0.6
    assert page.locator("[data-bgcut-aicut-target='overlay']").is_visible()

    editor_img.click(position={"x": 20 * sx, "y": 20 * sy})
    wait_applied(page, 2)
    with_floor = coverage(page)
    assert with_floor > ball_only

    editor_img.click(position={"x": 460 * sx, "y": 340 * sy}, modifiers=["Shift"])
    wait_applied(page, 3)
    assert coverage(page) < with_floor
    assert page.locator(".bgcut-dot--green").count() == 2
    assert page.locator(".bgcut-dot--red").count() == 1
    shot(page, "admin-ai-cut.png")

    page.focus("[data-bgcut-aicut-target='editor']")
    page.keyboard.press("u")  # undo the red dot
    wait_applied(page, 4)
    assert page.locator(".bgcut-dot--red").count() == 0
    assert coverage(page) == with_floor

    page.click("[data-bgcut-aicut-target='mode']")  # red mode without holding shift
    editor_img.click(position={"x": 460 * sx, "y": 340 * sy})
    wait_applied(page, 5)
    assert page.locator(".bgcut-dot--red").count() == 1
    refined = coverage(page)
    assert refined < with_floor

    # Save as a new image, then find it in the library.
    page.click("[data-bgcut-aicut-target='save']")
    page.wait_for_url(f"{live_server.url}/admin/images/*/")
    page.goto(f"{live_server.url}/admin/images/")
    page.wait_for_selector("text=Red ball (background removed)")
    shot(page, "admin-library.png")

    new = get_image_model().objects.get(title="Red ball (background removed)")
    assert new.collection_id == image.collection_id
    assert [t.name for t in new.tags.all()] == ["toys"]
    with PILImage.open(io.BytesIO(read_file(new.file))) as saved:
        assert saved.mode == "RGBA"
        assert saved.size == (WIDTH, HEIGHT)
        assert saved.getpixel((5, 5))[3] == 0  # floor removed
        assert saved.getpixel((240, 180))[3] == 255  # ball kept

    # The original is untouched: same file, same bytes.
    image.refresh_from_db()
    assert image.file.name == original_name
    assert read_file(image.file) == data


def test_bulk_action_and_status_page_with_the_api_backend(
    page, live_server, superuser, make_image, bgcut_server
):
    """Against the BackgroundCut emulator: a credit estimate before confirming, credits spent
    per preset afterwards, and a failed cut-out retried from the status page."""
    from wagtail_bgcut import pipeline
    from wagtail_bgcut.models import Cutout

    a = make_image("Ball A", seed=1)
    b = make_image("Ball B", seed=2)
    broken = make_image("Ball C", seed=3)
    bgcut_server.inject(status=400, times=1, detail="The image could not be decoded.")
    pipeline.process_now(broken, ["full"])
    assert Cutout.objects.get().status == Cutout.Status.FAILED

    log_in(page, live_server, superuser)

    page.goto(
        f"{live_server.url}/admin/bulk/wagtailimages/image/bgcut_remove_background/"
        f"?id={a.pk}&id={b.pk}&next=/admin/images/"
    )
    estimates = page.locator("[data-bgcut-estimates]")
    estimates.wait_for()
    # thumbnail autocrops: 2 images x 1.5 credits.
    assert estimates.locator("tr[data-preset='thumbnail'] [data-credits]").inner_text() == "3"
    page.select_option("select[name='preset']", "thumbnail")
    shot(page, "admin-bulk-remove-background.png")
    page.click("text=Yes, remove backgrounds")
    page.wait_for_selector("text=Background removed from 2 images (Thumbnail).")

    page.click("nav a[href='/admin/bgcut/status/']")  # the admin menu item
    page.wait_for_url(f"{live_server.url}/admin/bgcut/status/")
    failed = page.locator("[data-bgcut-failed]")
    assert "The image could not be decoded." in failed.inner_text()
    assert "Ball C" in failed.inner_text()
    per_preset = page.locator("[data-bgcut-per-preset]").inner_text()
    assert "Thumbnail" in per_preset
    assert "3" in per_preset
    shot(page, "admin-status.png")

    failed.locator("button[type='submit']").click()  # Retry (the emulator works again)
    page.wait_for_selector("text=No failed cut-outs.")
    assert Cutout.objects.get(preset="full").status == Cutout.Status.DONE


def test_a_late_reply_for_an_older_request_is_ignored(page, live_server, editor, make_image):
    """Request 1's reply is held back until request 2's was applied: the mask stays request 2's."""
    import json as jsonlib

    image = make_image("Slow ball", seed=3)
    log_in(page, live_server, editor)

    held = []

    def hold_first(route):
        body = jsonlib.loads(route.request.post_data or "{}")
        if body.get("request_number") == 1:
            held.append((route, route.fetch()))  # answered later, out of order
        else:
            route.continue_()

    page.route("**/ai-cut/segment/", hold_first)
    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/ai-cut/")
    editor_img = page.locator("[data-bgcut-aicut-target='image']")
    editor_img.wait_for()
    box = editor_img.bounding_box()
    sx, sy = box["width"] / 96, box["height"] / 72

    editor_img.click(position={"x": 48 * sx, "y": 36 * sy})  # request 1 (held)
    for _ in range(200):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    editor_img.click(position={"x": 10 * sx, "y": 10 * sy})  # request 2: ball and floor
    wait_applied(page, 2)
    newest = coverage(page)
    assert newest > 0.9

    route, response = held[0]
    route.fulfill(response=response)  # the stale reply (ball only) arrives now
    page.wait_for_function(
        "() => !document.querySelector(\"[data-controller='bgcut-aicut']\").dataset.busy"
    )
    page.wait_for_timeout(300)
    assert page.get_attribute("[data-controller='bgcut-aicut']", "data-applied-request") == "2"
    assert coverage(page) == newest
    page.unroute_all(behavior="ignoreErrors")


def test_with_a_worker_backend_the_page_shows_progress_then_the_cut_out(
    page, live_server, editor, make_image, settings
):
    """The request only queues the work; the page polls and shows the cut-out once a worker ran."""
    from wagtail_bgcut import pipeline
    from wagtail_bgcut.models import Cutout

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    image = make_image("Queued ball", seed=4)
    log_in(page, live_server, editor)

    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/")
    page.click("[data-bgcut-start]")
    page.wait_for_selector("text=Removing the background…")
    row = Cutout.objects.get()
    assert row.status == Cutout.Status.PENDING  # nothing was processed in the request
    pipeline.process_cutout_ids([row.pk])  # what the worker does
    page.wait_for_selector("[data-bgcut-cutout-image]")  # the page noticed by itself
    assert page.locator("[data-bgcut-save-new]").is_visible()
