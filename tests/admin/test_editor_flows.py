"""What an editor sees after each action, and paid work kept: replace with confirmation, restore
keeping the original's cut-outs, previews refreshed, suspicious results flagged, messages.

Django's test client, real DB and files, the offline local engine."""

from __future__ import annotations

import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags
from PIL import Image as PILImage

from tests.factories import LIGHT_GREY, PASSWORD, WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout

from .conftest import read_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(editor) -> Client:
    c = Client()
    assert c.login(username=editor.username, password=PASSWORD)
    return c


def page_url(image, preset="full") -> str:
    return reverse("wagtail_bgcut:remove_background", args=[image.pk]) + f"?preset={preset}"


def texts(response) -> list[str]:
    """The messages as the editor reads them (a message's buttons render as HTML after it)."""
    return [" ".join(strip_tags(str(m)).split()) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def blank_image(collections, run_on_commit):
    """A photo with nothing to cut out: the disc has the background's colour."""
    with run_on_commit():
        return WagtailImageFactory(
            title="Empty wall",
            collection=collections["shop"],
            data__colour=LIGHT_GREY,
            filename="wall.png",
            file_metadata=True,
        )


def test_replace_asks_for_confirmation_first(client, shop_image):
    pipeline.process_now(shop_image, ["full"])
    name = shop_image.file.name
    page = client.get(
        reverse("wagtail_bgcut:replace_confirm", args=[shop_image.pk]) + "?preset=full"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-bgcut-replace-confirm-button" in html
    assert "Restore original" in html  # says the original is kept
    assert Cutout.objects.get().file.url in html  # shows what the file would become
    shop_image.refresh_from_db()
    assert shop_image.file.name == name  # looking is not replacing
    # The Remove background page links to the confirmation instead of posting at once.
    assert (
        'href="{}?preset=full"'.format(
            reverse("wagtail_bgcut:replace_confirm", args=[shop_image.pk])
        )
        in client.get(page_url(shop_image)).content.decode()
    )


def test_after_replace_previews_and_thumbnails_show_the_new_file(client, shop_image, run_on_commit):
    pipeline.process_now(shop_image, ["full"])
    thumb = shop_image.get_rendition("max-165x165")  # the library's thumbnail, made beforehand
    old_thumb_name = thumb.file.name
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"}
        )
    assert "every page using it now shows the cut-out" in " ".join(texts(response))
    shop_image.refresh_from_db()
    assert not shop_image.renditions.filter(file=old_thumb_name).exists()
    fresh = shop_image.get_rendition("max-165x165")
    with fresh.file.open("rb") as fh, PILImage.open(io.BytesIO(fh.read())) as picture:
        assert picture.mode == "RGBA"  # made from the cut-out, not the old photo
        assert picture.getpixel((1, 1))[3] == 0
    page = client.get(page_url(shop_image)).content.decode()
    assert "Current file (a cut-out)" in page
    assert "data-bgcut-already-cut" in page
    assert "data-bgcut-start" not in page  # no offer to pay for a cut of the cut-out


def test_restore_keeps_the_cutouts_already_paid_for(client, shop_image, run_on_commit):
    pipeline.process_now(shop_image, ["full", "thumbnail"])
    paid = {c.pk: c.file.name for c in Cutout.objects.all()}
    storage = Cutout.objects.first().file.storage
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"})
    assert set(Cutout.objects.values_list("pk", flat=True)) >= set(paid)  # kept while replaced
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:restore_original", args=[shop_image.pk]), {"preset": "full"}
        )
    assert "cut-outs are kept" in " ".join(texts(response))
    for pk, name in paid.items():
        row = Cutout.objects.get(pk=pk)
        assert row.ready and row.file.name == name and storage.exists(name)
    page = client.get(page_url(shop_image, "thumbnail")).content.decode()
    assert Cutout.objects.get(preset="thumbnail").file.url in page  # shown, no "No cut-out yet"
    assert "No cut-out yet" not in page


def test_deleting_the_image_frees_the_kept_cutouts(client, shop_image, run_on_commit):
    pipeline.process_now(shop_image, ["full"])
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"})
    assert Cutout.objects.filter(preset="full").exists()
    from wagtail_bgcut.pipeline import forget_source
    from wagtail_bgcut.source_hashes import storage_key
    from wagtail_bgcut.views.files import last_replacement

    shop_image.refresh_from_db()
    original = last_replacement(shop_image)["original_name"]
    with run_on_commit():
        shop_image.delete()
    forget_source(storage_key(shop_image.file.storage), original)
    assert not Cutout.objects.exists()  # nothing keeps the original any more


def test_a_message_after_remove_background_says_what_happened(client, shop_image, run_on_commit):
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:start", args=[shop_image.pk]), {"preset": "full"})
    page = client.get(page_url(shop_image))
    assert "Background removed (Full)." in texts(page)


def test_with_a_worker_the_message_says_it_is_being_made(client, shop_image, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client.post(reverse("wagtail_bgcut:start", args=[shop_image.pk]), {"preset": "full"})
    page = client.get(page_url(shop_image))
    assert any("is being removed" in t for t in texts(page))
    assert not any("Background removed" in t for t in texts(page))
    # Told once: a reload does not repeat it.
    assert not texts(client.get(page_url(shop_image)))


def test_an_empty_result_warns_instead_of_saying_done(client, blank_image, run_on_commit):
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:start", args=[blank_image.pk]), {"preset": "full"})
    cutout = Cutout.objects.get()
    assert cutout.kept_fraction == 0 and cutout.suspicious == "empty"
    page = client.get(page_url(blank_image))
    messages = texts(page)
    assert any("Nothing was kept" in t for t in messages)
    assert not any("Background removed" in t for t in messages)
    assert 'data-bgcut-suspicious="empty"' in page.content.decode()
    confirm = client.get(
        reverse("wagtail_bgcut:replace_confirm", args=[blank_image.pk]) + "?preset=full"
    )
    assert 'data-bgcut-suspicious="empty"' in confirm.content.decode()


def test_a_normal_result_is_not_flagged(shop_image):
    (cutout,) = pipeline.process_now(shop_image, ["full"])
    assert 0.05 < cutout.kept_fraction < 0.9
    assert cutout.suspicious == ""


def test_presets_show_their_labels_never_sent_to_the_api(client, shop_image, settings):
    # No "label": the name, title-cased.
    html = client.get(page_url(shop_image)).content.decode()
    assert '<option value="full" selected>Full</option>' in html
    assert "data-bgcut-preset-help" not in html
    settings.WAGTAIL_BGCUT = {
        **settings.WAGTAIL_BGCUT,
        "PRESETS": {
            "full": {"format": "png", "label": "Full size", "help": "The whole photo."},
            "product_card": {"format": "webp"},
        },
    }
    html = client.get(page_url(shop_image)).content.decode()
    assert '<option value="full" selected>Full size</option>' in html
    assert '<option value="product_card">Product Card</option>' in html
    assert "The whole photo." in html
    from wagtail_bgcut.presets import get_preset

    assert "label" not in get_preset("full").to_api()


def test_saving_twice_gives_distinct_titles(client, shop_image, run_on_commit):
    from wagtail.images import get_image_model

    pipeline.process_now(shop_image, ["full"])
    for _ in range(2):
        with run_on_commit():
            client.post(
                reverse("wagtail_bgcut:save_as_new", args=[shop_image.pk]), {"preset": "full"}
            )
    titles = sorted(
        get_image_model().objects.exclude(pk=shop_image.pk).values_list("title", flat=True)
    )
    assert titles == ["Red ball (background removed)", "Red ball (background removed) (2)"]


def test_original_bytes_survive_replace_and_restore(client, shop_image, run_on_commit):
    original = read_file(shop_image.file)
    pipeline.process_now(shop_image, ["full"])
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"})
        client.post(reverse("wagtail_bgcut:restore_original", args=[shop_image.pk]))
    shop_image.refresh_from_db()
    assert read_file(shop_image.file) == original


def bulk_url(*images) -> str:
    url = reverse("wagtail_bulk_action", args=("wagtailimages", "image", "bgcut_remove_background"))
    return url + "?" + "&".join(f"id={i.pk}" for i in images) + "&next=/admin/images/"


@pytest.mark.django_db(transaction=True)
def test_bulk_message_tells_made_from_already_done(client, make_image):
    done_before = make_image("A", seed=1)
    fresh = make_image("B", seed=2)
    pipeline.process_now(done_before, ["full"])
    response = client.post(bulk_url(done_before, fresh), {"preset": "full"}, follow=True)
    got = texts(response)
    assert "Background removed from 1 image (Full)." in got
    assert "1 image already had this cut-out: nothing was spent on it." in got
    assert not any("queued" in t or "being made" in t for t in got)


@pytest.mark.django_db(transaction=True)
def test_bulk_message_with_a_worker_says_being_made(client, make_image, blank_image, settings):
    a, b = make_image("A", seed=1), make_image("B", seed=2)
    pipeline.process_now(blank_image, ["full"])  # done before, but empty
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    response = client.post(bulk_url(a, b, blank_image), {"preset": "full"}, follow=True)
    got = texts(response)
    assert "2 cut-outs are being made by the background worker (Full). Status" in got
    assert not any(t.startswith("Background removed") for t in got)
    assert any(t.startswith("1 image needs a look") for t in got)


# --- status page and the Cut-outs report ----------------------------------------------------


def test_status_page_flags_an_empty_result_and_links_the_report(client, blank_image, shop_image):
    pipeline.process_now(blank_image, ["full"])
    pipeline.process_now(shop_image, ["full"])
    html = client.get(reverse("wagtail_bgcut:status")).content.decode()
    section = html.split('data-bgcut-section="needs-a-look"')[1].split("</section>")[0]
    assert "Empty wall" in section and "Nothing was kept" in section
    assert "Red ball" not in section  # a plausible cut-out is not flagged
    assert reverse("wagtail_bgcut:cutouts") in html


def test_report_lists_finished_cutouts_with_filters(client, blank_image, make_image, outsider):
    ball = make_image("Red ball", seed=1)
    secret = make_image("Press photo", collection="press", seed=2)
    pipeline.process_now(ball, ["full", "thumbnail"])
    pipeline.process_now(blank_image, ["full"])
    pipeline.process_now(secret, ["full"])
    url = reverse("wagtail_bgcut:cutouts")
    html = client.get(url).content.decode()
    assert html.count("data-bgcut-cutout-row") == 3  # the editor's images only
    assert "Press photo" not in html
    assert "Thumbnail" in html and "Done" in html
    only_thumbs = client.get(url + "?preset=thumbnail").content.decode()
    assert only_thumbs.count("data-bgcut-cutout-row") == 1
    look = client.get(url + "?needs_a_look=true").content.decode()
    assert look.count("data-bgcut-cutout-row") == 1 and "Empty wall" in look
    assert "Nothing was kept" in look
    failed = client.get(url + "?status=failed").content.decode()
    assert "data-bgcut-cutout-row" not in failed and "No cut-outs match." in failed
    # The filter drawer refreshes through the results-only URL, as Wagtail's reports do.
    fragment = client.get(reverse("wagtail_bgcut:cutouts_results") + "?preset=thumbnail")
    assert fragment.status_code == 200
    assert fragment.content.decode().count("data-bgcut-cutout-row") == 1
    assert "<html" not in fragment.content.decode()


def test_report_filters_by_collection_and_exports_csv(client, make_image, editor, collections):
    from wagtail.models import GroupCollectionPermission

    # The editor may change images in both collections for this test.
    for perm in GroupCollectionPermission.objects.filter(collection=collections["shop"]):
        GroupCollectionPermission.objects.get_or_create(
            group=perm.group, collection=collections["press"], permission=perm.permission
        )
    shop = make_image("Shop ball", seed=1)
    press = make_image("Press ball", collection="press", seed=2)
    pipeline.process_now(shop, ["full"])
    pipeline.process_now(press, ["full"])
    url = reverse("wagtail_bgcut:cutouts")
    html = client.get(url + f"?collection={collections['press'].pk}").content.decode()
    assert "Press ball" in html and "Shop ball" not in html
    csv = client.get(url + "?export=csv")
    assert csv.status_code == 200
    body = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode()
    header, *lines = [line for line in body.splitlines() if line]
    assert header.startswith("Images,Preset,State,Needs a look,Credits,Engine")
    assert sorted(line.split(",")[0] for line in lines) == ["Press ball", "Shop ball"]


def test_report_is_refused_to_users_who_cannot_change_images(db, root_collection):
    from tests.factories import EditorFactory

    nobody = EditorFactory(username="reader")  # admin access, no collection
    c = Client()
    c.force_login(nobody)
    assert c.get(reverse("wagtail_bgcut:cutouts")).status_code == 403


def test_the_image_listing_shows_which_images_have_cutouts(client, make_image, blank_image):
    with_cutout = make_image("Has one", seed=1)
    make_image("Has none", seed=2)
    pipeline.process_now(with_cutout, ["full", "thumbnail"])
    pipeline.process_now(blank_image, ["full"])
    for layout in ("grid", "list"):
        html = client.get(reverse("wagtailimages:index") + f"?layout={layout}").content.decode()
        assert html.count("data-bgcut-badge style") == 2, layout  # "Has none" shows nothing
        assert "Cut-out: Full, Thumbnail" in html
        assert "Check: Full" in html  # the empty cut-out of "Empty wall"


# --- redo -----------------------------------------------------------------------------------


def test_redo_shows_the_cost_then_makes_the_cutout_again(
    client, shop_image, bgcut_server, run_on_commit
):
    pipeline.process_now(shop_image, ["full"])
    assert len(bgcut_server.ledger) == 1
    page = client.get(page_url(shop_image)).content.decode()
    assert "data-bgcut-redo" in page
    confirm = client.get(reverse("wagtail_bgcut:redo_confirm", args=[shop_image.pk]))
    html = confirm.content.decode()
    assert "about 1 credits" in html and "until the new one is made" in html
    assert len(bgcut_server.ledger) == 1  # looking costs nothing
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:redo", args=[shop_image.pk]), {"preset": "full"})
    assert len(bgcut_server.ledger) == 2
    row = Cutout.objects.get()
    assert row.ready and row.credits_charged == 2
    assert "Background removed (Full)." in texts(client.get(page_url(shop_image)))


def test_redo_without_a_finished_cutout_explains(client, shop_image):
    response = client.post(reverse("wagtail_bgcut:redo", args=[shop_image.pk]), {"preset": "full"})
    assert response.status_code == 302
    assert "There is no finished cut-out to redo." in texts(client.get(response["Location"]))


def test_the_replace_is_listed_in_site_history(client, shop_image, run_on_commit, superuser):
    pipeline.process_now(shop_image, ["full"])
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"})
    admin = Client()
    admin.force_login(superuser)
    html = admin.get(reverse("wagtailadmin_reports:site_history")).content.decode()
    assert "File replaced with its cut-out" in html and "Red ball" in html


def test_upload_page_and_edit_page_say_a_cut_out_is_being_made(client, shop_image, settings):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "AUTO_PROCESS": ["thumbnail"]}
    html = client.get(reverse("wagtailimages:add_multiple")).content.decode()
    assert "After each upload, a cut-out (Thumbnail) is made in the background." in html
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from wagtail_bgcut.tasks import request_cutouts

    request_cutouts(shop_image, ["thumbnail"])  # what a new upload's save does
    edit = client.get(reverse("wagtailimages:edit", args=[shop_image.pk])).content.decode()
    assert "Cut-out being made" in edit
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "AUTO_PROCESS": []}
    html = client.get(reverse("wagtailimages:add_multiple")).content.decode()
    assert "data-bgcut-upload-note" not in html
