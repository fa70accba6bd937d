"""Permission matrix: every admin view x (anonymous, editor of another collection, editor of the
image's collection, superuser). Real users, groups and collection permissions; Django's client.

Expected: anonymous users get the login page, users without permission on the image's collection
get 403 and change nothing, editors of that collection and superusers get the page or the action.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from wagtail.images import get_image_model

from tests.factories import PASSWORD, EditorFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout

from .conftest import read_file

pytestmark = pytest.mark.django_db

DOTS = json.dumps({"green": [[48, 36]], "red": [[2, 2]], "request_number": 1})

# name -> (method, url name, body, content type, needs a ready cut-out)
VIEWS = {
    "page": ("get", "remove_background", None, None, False),
    "status_json": ("get", "cutout_status", None, None, False),
    "start": ("post", "start", {"preset": "full"}, None, False),
    "save_as_new": ("post", "save_as_new", {"preset": "full"}, None, True),
    "replace_file": ("post", "replace_file", {"preset": "full"}, None, True),
    "replace_confirm": ("get", "replace_confirm", None, None, True),
    "redo": ("post", "redo", {"preset": "full"}, None, True),
    "redo_confirm": ("get", "redo_confirm", None, None, True),
    "restore_original": ("post", "restore_original", {"preset": "full"}, None, False),
    "aicut_page": ("get", "aicut", None, None, False),
    "aicut_segment": ("post", "aicut_segment", DOTS, "application/json", False),
    "aicut_save": ("post", "aicut_save", DOTS, "application/json", False),
}
ALLOWED = {  # status for a user allowed to act
    "page": 200,
    "status_json": 200,
    "start": 302,
    "save_as_new": 302,
    "replace_file": 302,
    "replace_confirm": 200,
    "redo": 302,
    "redo_confirm": 200,
    "restore_original": 302,
    "aicut_page": 200,
    "aicut_segment": 200,
    "aicut_save": 200,
}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def call(client: Client, view: str, image, run_on_commit):
    method, name, body, content_type, _ready = VIEWS[view]
    url = reverse(f"wagtail_bgcut:{name}", args=[image.pk])
    with run_on_commit():
        if method == "get":
            return client.get(url)
        if content_type:
            return client.post(url, body, content_type=content_type)
        return client.post(url, body)


def state(image):
    """What a forbidden request must not change: images, the file, cut-outs."""
    image.refresh_from_db()
    return (
        get_image_model().objects.count(),
        image.file.name,
        read_file(image.file),
        list(Cutout.objects.values_list("pk", "status")),
    )


@pytest.fixture
def user_for(editor, outsider, superuser):
    return {"anonymous": None, "outsider": outsider, "editor": editor, "superuser": superuser}


@pytest.mark.parametrize("view", list(VIEWS))
def test_anonymous_users_are_sent_to_the_login_page(view, shop_image, run_on_commit):
    before = state(shop_image)
    response = call(Client(), view, shop_image, run_on_commit)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))
    assert state(shop_image) == before


@pytest.mark.parametrize("view", list(VIEWS))
def test_editors_of_another_collection_are_refused(view, shop_image, outsider, run_on_commit):
    if VIEWS[view][4]:
        pipeline.process_now(shop_image, ["full"])
    before = state(shop_image)
    response = call(client_for(outsider), view, shop_image, run_on_commit)
    assert response.status_code == 403
    assert state(shop_image) == before


@pytest.mark.parametrize("who", ["editor", "superuser"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_editors_of_the_collection_and_superusers_may(
    view, who, shop_image, user_for, run_on_commit
):
    if VIEWS[view][4]:
        pipeline.process_now(shop_image, ["full"])
    images_before = get_image_model().objects.count()
    response = call(client_for(user_for[who]), view, shop_image, run_on_commit)
    assert response.status_code == ALLOWED[view]
    if view in ("save_as_new", "aicut_save"):
        assert get_image_model().objects.count() == images_before + 1
    if view == "replace_file":
        shop_image.refresh_from_db()
        assert shop_image.file.name.endswith("-nobg.png")


def test_saving_a_new_image_needs_add_permission_in_the_collection(
    shop_image, editor, run_on_commit
):
    from wagtail.models import GroupCollectionPermission

    GroupCollectionPermission.objects.filter(permission__codename="add_image").delete()
    pipeline.process_now(shop_image, ["full"])
    before = state(shop_image)
    for view in ("save_as_new", "aicut_save"):
        assert call(client_for(editor), view, shop_image, run_on_commit).status_code == 403
    assert state(shop_image) == before
    page = client_for(editor).get(reverse("wagtail_bgcut:remove_background", args=[shop_image.pk]))
    assert b"data-bgcut-save-new" not in page.content  # the button is not offered either
    assert b"data-bgcut-replace" in page.content


@pytest.mark.parametrize("view", [v for v, spec in VIEWS.items() if spec[0] == "post"])
def test_state_changing_views_refuse_get(view, shop_image, editor):
    url = reverse(f"wagtail_bgcut:{VIEWS[view][1]}", args=[shop_image.pk])
    assert client_for(editor).get(url).status_code == 405


@pytest.mark.parametrize("view", [v for v, spec in VIEWS.items() if spec[0] == "post"])
def test_posts_without_a_csrf_token_are_refused(view, shop_image, editor, run_on_commit):
    pipeline.process_now(shop_image, ["full"])
    client = Client(enforce_csrf_checks=True)
    client.login(username=editor.username, password=PASSWORD)
    before = state(shop_image)
    response = call(client, view, shop_image, run_on_commit)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert state(shop_image) == before


def test_unknown_images_are_404(editor):
    response = client_for(editor).get(reverse("wagtail_bgcut:remove_background", args=[999999]))
    assert response.status_code == 404


# --- status page and retry -------------------------------------------------------------------


@pytest.fixture
def failed_cutout(shop_image):
    from django.conf import settings
    from django.test import override_settings

    from wagtail_bgcut.backends.base import BackendError
    from wagtail_bgcut.backends.dummy import DummyBackend

    DummyBackend.reset()
    DummyBackend.fail_next(BackendError("engine on fire", detail="engine on fire"))
    with override_settings(WAGTAIL_BGCUT={**settings.WAGTAIL_BGCUT, "BACKEND": "dummy"}):
        pipeline.process_now(shop_image, ["full"])
    row = Cutout.objects.get()
    assert row.status == Cutout.Status.FAILED
    return row


def test_status_page_matrix(failed_cutout, editor, outsider, superuser):
    url = reverse("wagtail_bgcut:status")
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("wagtailadmin_login"))
    # The outsider may change images (elsewhere), so sees the page, but not this image's failure.
    outsider_page = client_for(outsider).get(url)
    assert outsider_page.status_code == 200
    assert b"engine on fire" not in outsider_page.content
    for user in (editor, superuser):
        page = client_for(user).get(url)
        assert page.status_code == 200
        assert b"engine on fire" in page.content
        assert b"Red ball" in page.content


def test_status_page_is_forbidden_without_any_image_permission(db, collections):
    user = EditorFactory(username="viewer")  # may use the admin, but no collection's images
    assert client_for(user).get(reverse("wagtail_bgcut:status")).status_code == 403


def test_retry_matrix(failed_cutout, editor, outsider, superuser, run_on_commit):
    url = reverse("wagtail_bgcut:retry", args=[failed_cutout.pk])
    with run_on_commit():
        anonymous = Client().post(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("wagtailadmin_login"))
    with run_on_commit():
        assert client_for(outsider).post(url).status_code == 403
    failed_cutout.refresh_from_db()
    assert failed_cutout.status == Cutout.Status.FAILED
    assert client_for(editor).get(url).status_code == 405
    with run_on_commit():
        response = client_for(editor).post(url)
    assert response.status_code == 302
    failed_cutout.refresh_from_db()
    assert failed_cutout.status == Cutout.Status.DONE  # retried with the local engine
    # A superuser may retry too (the row is done now, so nothing more happens).
    with run_on_commit():
        assert client_for(superuser).post(url).status_code == 302


# --- bulk action ---------------------------------------------------------------------------


def bulk_url(*images) -> str:
    url = reverse("wagtail_bulk_action", args=("wagtailimages", "image", "bgcut_remove_background"))
    return url + "?" + "&".join(f"id={i.pk}" for i in images) + "&next=/admin/images/"


def test_bulk_action_matrix(shop_image, editor, outsider, superuser, run_on_commit):
    url = bulk_url(shop_image)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("wagtailadmin_login"))

    # The outsider sees the image among those they may not change, and posting queues nothing.
    page = client_for(outsider).get(url)
    assert page.status_code == 200
    assert b"have permission to change this image" in page.content
    with run_on_commit():
        client_for(outsider).post(url, {"preset": "full"})
    assert not Cutout.objects.exists()

    for user in (editor, superuser):
        page = client_for(user).get(url)
        assert page.status_code == 200
        assert b"data-bgcut-estimates" in page.content
    with run_on_commit():
        response = client_for(editor).post(url, {"preset": "thumbnail"})
    assert response.status_code == 302
    row = Cutout.objects.get()
    assert row.preset == "thumbnail"
    assert row.status == Cutout.Status.DONE  # ImmediateBackend ran the queued task
