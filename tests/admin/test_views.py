"""What editors see and keep: the Remove background page, Save as new, Replace and Restore,
AI Cut dots, the bulk estimate and the status page. Real DB, real files, local engine or the
BackgroundCut emulator over HTTP."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image as PILImage
from wagtail.images import get_image_model

from tests.factories import PASSWORD
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


def test_removing_a_background_shows_the_cut_out_beside_the_original(
    client, shop_image, run_on_commit
):
    page = client.get(page_url(shop_image))
    assert b"No cut-out yet for this preset." in page.content
    assert b"data-bgcut-save-new" not in page.content

    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:start", args=[shop_image.pk]), {"preset": "full"}
        )
    assert response.status_code == 302
    assert response["Location"] == page_url(shop_image)

    page = client.get(page_url(shop_image))
    cutout = Cutout.objects.get()
    assert cutout.ready
    assert cutout.file.url.encode() in page.content
    assert b"data-bgcut-save-new" in page.content
    assert b"data-bgcut-replace" in page.content
    assert b'type="color"' in page.content  # background colour picker over the checkerboard

    state = client.get(reverse("wagtail_bgcut:cutout_status", args=[shop_image.pk])).json()
    assert state["status"] == "done"
    assert state["url"] == cutout.file.url


def test_start_answers_json_to_scripts(client, shop_image, run_on_commit):
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:start", args=[shop_image.pk]),
            {"preset": "thumbnail"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200
    assert response.json()["preset"] == "thumbnail"


def test_with_a_worker_backend_the_page_polls_until_done(client, shop_image, settings):
    # A task backend that only stores work (a worker would run it): the request must not do it.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client.post(reverse("wagtail_bgcut:start", args=[shop_image.pk]), {"preset": "full"})
    row = Cutout.objects.get()
    assert row.status == Cutout.Status.PENDING
    page = client.get(page_url(shop_image))
    assert b'data-bgcut-cutout-working-value="true"' in page.content
    assert (
        client.get(
            reverse("wagtail_bgcut:cutout_status", args=[shop_image.pk]) + "?preset=full"
        ).json()["status"]
        == "pending"
    )
    pipeline.process_cutout_ids([row.pk])  # the worker
    state = client.get(
        reverse("wagtail_bgcut:cutout_status", args=[shop_image.pk]) + "?preset=full"
    ).json()
    assert state["status"] == "done"
    assert state["ready"] is True


def test_save_as_new_image_keeps_collection_and_tags_and_leaves_the_original(
    client, shop_image, run_on_commit
):
    original_bytes = read_file(shop_image.file)
    original_name = shop_image.file.name
    pipeline.process_now(shop_image, ["full"])
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:save_as_new", args=[shop_image.pk]), {"preset": "full"}
        )
    new = get_image_model().objects.exclude(pk=shop_image.pk).get()
    assert response["Location"] == reverse("wagtailimages:edit", args=[new.pk])
    assert new.title == "Red ball (background removed)"
    assert new.collection_id == shop_image.collection_id
    assert sorted(t.name for t in new.tags.all()) == ["red", "toys"]
    assert new.file_size == len(read_file(new.file))
    with PILImage.open(io.BytesIO(read_file(new.file))) as img:
        assert img.mode == "RGBA"
        assert img.getpixel((1, 1))[3] == 0  # the grey background is gone
    shop_image.refresh_from_db()
    assert shop_image.file.name == original_name
    assert read_file(shop_image.file) == original_bytes


def test_replace_file_then_restore_the_untouched_original(client, shop_image, run_on_commit):
    shop_image.focal_point_x, shop_image.focal_point_y = 48, 36
    shop_image.focal_point_width, shop_image.focal_point_height = 10, 10
    shop_image.save()
    original_bytes = read_file(shop_image.file)
    original_name = shop_image.file.name
    storage = shop_image.file.storage
    pipeline.process_now(shop_image, ["full"])
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "full"})
    shop_image.refresh_from_db()
    assert shop_image.file.name != original_name
    replacement = shop_image.file.name
    with PILImage.open(io.BytesIO(read_file(shop_image.file))) as img:
        assert img.mode == "RGBA"
    assert storage.exists(original_name)  # kept, byte for byte
    with storage.open(original_name, "rb") as fh:
        assert fh.read() == original_bytes

    page = client.get(page_url(shop_image))
    assert b"data-bgcut-restore" in page.content
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:restore_original", args=[shop_image.pk]), {"preset": "full"}
        )
    assert response.status_code == 302
    shop_image.refresh_from_db()
    assert shop_image.file.name == original_name
    assert read_file(shop_image.file) == original_bytes
    assert (shop_image.width, shop_image.height) == (96, 72)
    assert (shop_image.focal_point_x, shop_image.focal_point_width) == (48, 10)
    assert not storage.exists(replacement)  # our own copy of the cut-out is cleaned up
    page = client.get(page_url(shop_image))
    assert b"data-bgcut-restore" not in page.content
    # Restoring twice is refused with a message, not an error page.
    with run_on_commit():
        again = client.post(reverse("wagtail_bgcut:restore_original", args=[shop_image.pk]))
    assert again.status_code == 302
    shop_image.refresh_from_db()
    assert shop_image.file.name == original_name


def test_save_as_new_before_the_cut_out_exists_explains_why(client, shop_image):
    response = client.post(
        reverse("wagtail_bgcut:save_as_new", args=[shop_image.pk]), {"preset": "full"}, follow=True
    )
    assert b"The cut-out is not ready yet." in response.content
    assert get_image_model().objects.count() == 1


def test_edit_page_links_to_remove_background(client, shop_image):
    page = client.get(reverse("wagtailimages:edit", args=[shop_image.pk]))
    assert page.status_code == 200
    assert reverse("wagtail_bgcut:remove_background", args=[shop_image.pk]).encode() in page.content


# --- AI Cut ---------------------------------------------------------------------------------


def segment(client, image, green, red=(), number=1):
    return client.post(
        reverse("wagtail_bgcut:aicut_segment", args=[image.pk]),
        json.dumps({"green": list(green), "red": list(red), "request_number": number}),
        content_type="application/json",
    )


def test_ai_cut_dots_change_the_mask_and_echo_the_request_number(client, shop_image):
    page = client.get(reverse("wagtail_bgcut:aicut", args=[shop_image.pk]))
    assert page.status_code == 200
    assert b'data-controller="bgcut-aicut"' in page.content

    first = segment(client, shop_image, [[48, 36]], number=1)
    assert first.status_code == 200
    one = first.json()
    assert one["request_number"] == 1
    assert one["overlay"].startswith("data:image/png;base64,")
    assert 0.1 < one["coverage"] < 0.9  # the disc, not the whole frame

    # A green dot on the background keeps the background too...
    two = segment(client, shop_image, [[48, 36], [5, 5]], number=2).json()
    assert two["request_number"] == 2
    assert two["coverage"] > one["coverage"]
    # ...and a red dot there removes it again.
    three = segment(client, shop_image, [[48, 36], [5, 5]], [[90, 65]], number=3).json()
    assert three["request_number"] == 3
    assert three["coverage"] < two["coverage"]
    # Undo (the same dots as the first request) gives the first mask back.
    again = segment(client, shop_image, [[48, 36]], number=4).json()
    assert again["coverage"] == one["coverage"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"green": [[1000, 1000]], "request_number": 1}).encode(),
        json.dumps({"green": [["a", 1]], "request_number": 1}).encode(),
        json.dumps({"green": [[1, 1]], "request_number": -1}).encode(),
        json.dumps({"green": [], "red": [[1, 1]], "request_number": 1}).encode(),
        json.dumps({"green": [[1, 1]] * 500, "request_number": 1}).encode(),
    ],
)
def test_bad_dots_get_a_clear_400(client, shop_image, body):
    response = client.post(
        reverse("wagtail_bgcut:aicut_segment", args=[shop_image.pk]),
        body,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]


def test_ai_cut_save_creates_a_new_image_from_the_dots(client, shop_image):
    original_bytes = read_file(shop_image.file)
    response = client.post(
        reverse("wagtail_bgcut:aicut_save", args=[shop_image.pk]),
        json.dumps({"green": [[48, 36]], "red": [], "request_number": 3}),
        content_type="application/json",
    )
    assert response.status_code == 200
    new = get_image_model().objects.get(pk=response.json()["id"])
    assert response.json()["edit_url"] == reverse("wagtailimages:edit", args=[new.pk])
    assert new.title.endswith("(background removed)")
    assert new.collection_id == shop_image.collection_id
    with PILImage.open(io.BytesIO(read_file(new.file))) as img:
        assert img.mode == "RGBA"
        assert img.getpixel((2, 2))[3] == 0
        assert img.getpixel((48, 36))[3] == 255
    assert read_file(shop_image.file) == original_bytes


def test_ai_cut_with_backgroundcut_starts_one_session_and_refines_for_free(
    client, shop_image, bgcut_server
):
    for number in range(1, 4):
        response = segment(client, shop_image, [[48, 36]], [[5, 5]] * (number - 1), number)
        assert response.status_code == 200, response.content
        assert response.json()["request_number"] == number
    endpoints = [r.endpoint for r in bgcut_server.requests]
    assert endpoints.count("ai_cut_initialize") == 1  # once per session and image
    assert endpoints.count("ai_cut_segment") == 3
    assert [c.endpoint for c in bgcut_server.ledger] == ["ai_cut_initialize"]  # refining is free
    # The session handle lives in the Django session: another web process would continue it.
    assert any(k.startswith(f"{shop_image.pk}:") for k in client.session["wagtail_bgcut_aicut"])


# --- bulk action and status -----------------------------------------------------------------


def test_bulk_estimate_shows_credits_with_the_api_backend(
    client, make_image, bgcut_server, run_on_commit
):
    a = make_image("A", seed=1)
    b = make_image("B", seed=2)
    url = reverse("wagtail_bulk_action", args=("wagtailimages", "image", "bgcut_remove_background"))
    url += f"?id={a.pk}&id={b.pk}&next=/admin/images/"
    page = client.get(url)
    content = page.content.decode()
    assert 'data-preset="full"' in content
    # 2 images x 1 credit for "full"; "thumbnail" autocrops: 2 x 1.5 credits.
    assert "<td>Full</td><td>2</td><td data-credits>2</td>" in content
    assert "<td>Thumbnail</td><td>2</td><td data-credits>3</td>" in content
    assert "removed in the background" not in content
    with run_on_commit():
        response = client.post(url, {"preset": "full"})
    assert response.status_code == 302
    assert Cutout.objects.filter(status=Cutout.Status.DONE).count() == 2


def test_status_page_lists_failures_and_credits(client, shop_image, bgcut_server, run_on_commit):
    pipeline.process_now(shop_image, ["full", "thumbnail"])
    page = client.get(reverse("wagtail_bgcut:status")).content.decode()
    assert "No failed cut-outs." in page
    assert "2.50 credits in total." in page
    assert "<td>Thumbnail</td><td>1</td><td>1.50</td>" in page


def test_replacing_with_a_cropped_cut_out_drops_the_focal_point_until_restored(
    client, shop_image, run_on_commit
):
    shop_image.focal_point_x, shop_image.focal_point_y = 10, 10
    shop_image.focal_point_width, shop_image.focal_point_height = 4, 4
    shop_image.save()
    pipeline.process_now(shop_image, ["thumbnail"])  # autocrop: smaller than the original
    with run_on_commit():
        client.post(
            reverse("wagtail_bgcut:replace_file", args=[shop_image.pk]), {"preset": "thumbnail"}
        )
    shop_image.refresh_from_db()
    assert shop_image.file.name.endswith("-nobg.webp")
    assert shop_image.width < 96
    assert shop_image.focal_point_x is None
    with run_on_commit():
        client.post(reverse("wagtail_bgcut:restore_original", args=[shop_image.pk]))
    shop_image.refresh_from_db()
    assert (shop_image.width, shop_image.focal_point_x, shop_image.focal_point_height) == (
        96,
        10,
        4,
    )


# --- bad input and failures -----------------------------------------------------------------


def test_a_missing_original_gives_a_message_not_an_error_page(client, shop_image, run_on_commit):
    shop_image.file.storage.delete(shop_image.file.name)
    with run_on_commit():
        response = client.post(
            reverse("wagtail_bgcut:start", args=[shop_image.pk]), {"preset": "full"}, follow=True
        )
    assert response.status_code == 200
    assert b"The original file could not be read." in response.content
    segment_reply = segment(client, shop_image, [[48, 36]])
    assert segment_reply.status_code == 409
    assert segment_reply.json()["error"] == "The original file could not be read."


def test_a_corrupt_original_gets_a_clear_ai_cut_error(client, shop_image):
    with open(shop_image.file.path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    response = segment(client, shop_image, [[48, 36]])
    assert response.status_code == 502
    assert response.json()["error"]  # the engine's reason, e.g. "UnsupportedImage: ..."


def test_an_api_failure_in_ai_cut_is_reported_without_the_key(client, shop_image, bgcut_server):
    bgcut_server.inject(status=400, times=None, path="/v3/ai-cut", detail="The model crashed.")
    response = segment(client, shop_image, [[48, 36]])
    assert response.status_code == 502
    body = response.content.decode()
    assert "The model crashed." in body
    assert bgcut_server.api_key not in body
