"""The editor's flows of issue 14 in a real browser (Debian's chromium, Django's live server, the
offline local engine): replace with a confirmation and every preview showing the new file, restore
keeping the paid cut-outs, a warning for an empty result, a message after each action, and a site
page showing the original while its cut-out is pending.

Screenshots for docs/admin.md are written to docs/images/ with BGCUT_SCREENSHOTS=1.
"""

from __future__ import annotations

import pytest

from tests.browser import chromium_page
from tests.factories import LIGHT_GREY, ImageBytesFactory, WagtailImageFactory

from .test_browser import TIMEOUT_MS, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(settings, live_server):
    """A 1200 px wide chromium tab on the live server (the admin's width in the issue)."""
    settings.ROOT_URLCONF = "tests.admin.urls"
    settings.WAGTAILADMIN_BASE_URL = "http://127.0.0.1"
    with chromium_page(
        timeout_ms=TIMEOUT_MS, viewport={"width": 1200, "height": 820}, locale="en-GB"
    ) as tab:
        yield tab


def loaded(page, selector: str):
    element = page.wait_for_selector(selector)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=element, timeout=TIMEOUT_MS
    )
    return element


def top_shot(page, name: str) -> None:
    """A screenshot from the top of the page, so the message after the action is in it."""
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(100)
    shot(page, name)


def message(page) -> str:
    return page.locator(".messages").inner_text()


def test_replace_asks_first_then_every_preview_shows_the_cut_out_and_restore_keeps_it(
    page, live_server, editor, collections
):
    from wagtail_bgcut.models import Cutout

    image = WagtailImageFactory(
        title="Red ball",
        collection=collections["shop"],
        data=ImageBytesFactory(big_ball=True),
        filename="red-ball.jpg",
        file_metadata=True,
    )
    original_name = image.file.name
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/images/")  # the library thumbnail, made before replacing
    loaded(page, f"a[href*='/admin/images/{image.pk}/'] img")

    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/")
    page.click("[data-bgcut-start]")
    loaded(page, "[data-bgcut-cutout-image]")
    assert "Background removed (Full)." in message(page)
    paid = list(Cutout.objects.values_list("pk", "file"))

    page.click("[data-bgcut-replace]")
    page.wait_for_selector("[data-bgcut-replace-confirm]")
    loaded(page, "[data-bgcut-replace-confirm] [data-bgcut-cutout-image]")
    shot(page, "admin-replace-confirm.png")
    image.refresh_from_db()
    assert image.file.name == original_name  # nothing happened before confirming
    page.click("[data-bgcut-replace-confirm-button]")
    page.wait_for_selector("text=every page using it now shows the cut-out")
    preview = loaded(page, "[data-bgcut-original]")
    assert "-nobg" in preview.get_attribute("src")  # the preview is the new file
    assert "Current file (a cut-out)" in page.inner_text("main")
    assert page.locator("[data-bgcut-start]").count() == 0  # no offer to cut the cut-out
    top_shot(page, "admin-after-replace.png")

    page.goto(f"{live_server.url}/admin/images/{image.pk}/")  # the edit page's preview
    page.wait_for_selector("main img[src*='/media/images/']", state="attached")
    sources = page.eval_on_selector_all(
        "main img[src*='/media/images/']", "imgs => imgs.map(i => i.getAttribute('src'))"
    )
    assert sources and all("-nobg" in src for src in sources), sources
    page.goto(f"{live_server.url}/admin/images/")  # the library's thumbnail
    thumb = loaded(page, f"a[href*='/admin/images/{image.pk}/'] img")
    assert "-nobg" in thumb.get_attribute("src")

    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/")
    page.click("[data-bgcut-restore]")
    page.wait_for_selector("text=its cut-outs are kept")
    loaded(page, "[data-bgcut-cutout-image]")  # shown at once: nothing to make again
    assert "red-ball" in page.get_attribute("[data-bgcut-original]", "src")
    assert "-nobg" not in page.get_attribute("[data-bgcut-original]", "src")
    assert list(Cutout.objects.values_list("pk", "file")) == paid
    top_shot(page, "admin-after-restore.png")


def test_an_empty_result_is_flagged_not_called_done(page, live_server, editor, collections):
    image = WagtailImageFactory(
        title="Empty wall",
        collection=collections["shop"],
        data__colour=LIGHT_GREY,
        filename="wall.png",
        file_metadata=True,
    )
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/")
    page.click("[data-bgcut-start]")
    page.wait_for_selector("[data-bgcut-suspicious='empty']")
    assert "Nothing was kept" in message(page)
    assert "Background removed" not in message(page)
    top_shot(page, "admin-empty-result.png")
    page.click("[data-bgcut-replace]")
    page.wait_for_selector("[data-bgcut-replace-confirm] [data-bgcut-suspicious='empty']")


def test_a_site_page_shows_the_original_while_the_cut_out_is_pending(
    page, live_server, collections, settings
):
    from wagtail_bgcut import pipeline
    from wagtail_bgcut.models import Cutout

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    image = WagtailImageFactory(
        title="Red ball",
        collection=collections["shop"],
        data=ImageBytesFactory(big_ball=True),
        filename="red-ball.jpg",
        file_metadata=True,
    )
    page.goto(f"{live_server.url}/site-page/{image.pk}/")
    shown = loaded(page, "img.site-image")
    assert "not-found" not in shown.get_attribute("src")
    assert shown.evaluate("img => img.naturalWidth") == 200
    assert Cutout.objects.get().status == Cutout.Status.PENDING
    pipeline.process_cutout_ids([Cutout.objects.get().pk])  # the worker
    page.goto(f"{live_server.url}/site-page/{image.pk}/")
    cut = loaded(page, "img.site-image")
    assert cut.get_attribute("src").endswith(".png")  # now the cut-out (PNG with alpha)


PIXEL_JS = """([selector, fx, fy]) => {
    const el = document.querySelector(selector);
    const w = el.naturalWidth || el.width, h = el.naturalHeight || el.height;
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const ctx = c.getContext('2d');
    ctx.drawImage(el, 0, 0);
    return Array.from(ctx.getImageData(Math.floor(fx * w), Math.floor(fy * h), 1, 1).data);
}"""


def test_ai_cut_outlines_the_subject_without_dimming_it_and_previews_the_cut_out(
    page, live_server, editor, collections
):
    image = WagtailImageFactory(
        title="Red ball",
        collection=collections["shop"],
        data=ImageBytesFactory(big_ball=True),
        filename="red-ball.jpg",
        file_metadata=True,
    )
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/bgcut/images/{image.pk}/ai-cut/")
    editor_img = page.locator("[data-bgcut-aicut-target='image']")
    loaded(page, "[data-bgcut-aicut-target='image']")
    box = editor_img.bounding_box()
    editor_img.click(position={"x": box["width"] / 2, "y": box["height"] / 2})  # on the ball
    page.wait_for_selector("[data-controller='bgcut-aicut'][data-preview-request='1']")

    overlay = "[data-bgcut-aicut-target='overlay']"
    # The kept ball is not dimmed or tinted: the overlay is clear there...
    assert page.evaluate(PIXEL_JS, [overlay, 0.5, 0.5])[3] == 0
    # ...the removed floor is shaded, and the strength slider changes how much.
    shaded = page.evaluate(PIXEL_JS, [overlay, 0.05, 0.05])[3]
    assert 80 < shaded < 160
    page.fill("[data-bgcut-aicut-target='strength']", "20")
    page.wait_for_function(
        f'() => {{ const o = document.querySelector("{overlay}"); return o.complete; }}'
    )
    page.wait_for_timeout(200)
    assert page.evaluate(PIXEL_JS, [overlay, 0.05, 0.05])[3] < shaded
    page.fill("[data-bgcut-aicut-target='strength']", "45")
    page.wait_for_timeout(200)

    # The preview is the real cut-out: the red ball kept, the floor transparent.
    preview = "[data-bgcut-aicut-target='preview']"
    assert page.locator(preview).is_visible()
    red, green, _blue, alpha = page.evaluate(PIXEL_JS, [preview, 0.5, 0.6])
    assert alpha == 255 and red > 150 and green < 90
    assert page.evaluate(PIXEL_JS, [preview, 0.05, 0.05])[3] == 0
    assert page.locator("[data-bgcut-aicut-target='warning']").is_hidden()
    shot(page, "admin-ai-cut-preview.png")


def test_edit_page_buttons_line_up_inside_their_column(page, live_server, editor, collections):
    image = WagtailImageFactory(
        title="Red ball",
        collection=collections["shop"],
        data=ImageBytesFactory(big_ball=True),
        filename="red-ball.jpg",
        file_metadata=True,
    )
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/images/{image.pk}/")
    page.wait_for_selector("[data-bgcut-edit-link]")
    shot(page, "admin-edit-page-buttons.png")
    boxes = page.eval_on_selector_all(
        ".bgcut-edit-actions a",
        "links => links.map(a => { const r = a.getBoundingClientRect();"
        " const p = a.parentElement.getBoundingClientRect();"
        " return [r.left, r.right, p.left, p.right]; })",
    )
    assert len(boxes) == 2
    (left1, right1, p_left, p_right), (left2, right2, _, _) = boxes
    assert abs(left1 - left2) < 1  # "AI Cut" not indented
    assert left1 >= p_left - 1 and max(right1, right2) <= p_right + 1  # nothing overflows


def test_the_bulk_action_button_label_is_not_cut_off(page, live_server, editor, collections):
    for seed in (1, 2):
        WagtailImageFactory(
            title=f"Ball {seed}",
            collection=collections["shop"],
            data=ImageBytesFactory(seed=seed),
            file_metadata=True,
        )
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/images/")
    for box in page.locator("input[data-bulk-action-checkbox]").all():
        box.check(force=True)  # in the grid, the checkboxes show on hover
    button = page.locator(".bulk-actions-buttons a[href*='bgcut_remove_background']").first
    button.wait_for()
    page.wait_for_timeout(600)  # the footer slides in
    shot(page, "admin-bulk-button.png")
    width, full = button.evaluate("b => [b.clientWidth, b.scrollWidth]")
    assert full <= width  # the whole label fits: nothing hidden behind an ellipsis
    assert button.inner_text().strip() == "Remove background"
