"""Fixtures for the admin tests: real users, groups, collections and images (no mocks).

- ``superuser``; ``editor`` may add/change images in the "Shop" collection only; ``outsider`` is an
  editor with the same rights on another collection ("Press"); all can use the admin.
- ``shop_image``: a small synthetic photo (a red disc on grey) in the "Shop" collection.

Browser tests (marked ``browser``) launch chromium through tests/browser.py.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from PIL import ImageDraw

PASSWORD = "correct horse battery"


def photo_bytes(width: int = 96, height: int = 72, *, seed: int = 0) -> bytes:
    """A red disc on a light grey background: something the local engine can cut out."""
    img = PILImage.new("RGB", (width, height), (232, 232, 232))
    draw = ImageDraw.Draw(img)
    dx = seed % 5
    draw.ellipse(
        (width // 4 + dx, height // 6, 3 * width // 4 + dx, 5 * height // 6), fill=(200, 30, 30)
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def collections(root_collection):
    return {
        "shop": root_collection.add_child(name="Shop"),
        "press": root_collection.add_child(name="Press"),
    }


def _editor(username: str, collection) -> object:
    from django.contrib.auth import get_user_model
    from wagtail.models import GroupCollectionPermission

    group = Group.objects.create(name=f"{username} group")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_image", "change_image", "choose_image"):
        GroupCollectionPermission.objects.create(
            group=group,
            collection=collection,
            permission=Permission.objects.get(
                codename=codename, content_type__app_label="wagtailimages"
            ),
        )
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.groups.add(group)
    return user


@pytest.fixture
def editor(collections):
    return _editor("editor", collections["shop"])


@pytest.fixture
def outsider(collections):
    return _editor("outsider", collections["press"])


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)


@pytest.fixture
def make_image(collections, django_capture_on_commit_callbacks):
    from wagtail.images import get_image_model

    def make(title: str = "Red ball", *, collection: str = "shop", seed: int = 0, tags=()):
        image = get_image_model()(
            title=title,
            collection=collections[collection],
            file=ImageFile(io.BytesIO(photo_bytes(seed=seed)), name=f"ball{seed}.png"),
        )
        image._set_image_file_metadata()
        with django_capture_on_commit_callbacks(execute=True):
            image.save()
        if tags:
            image.tags.add(*tags)
        return image

    return make


@pytest.fixture
def shop_image(make_image):
    return make_image(tags=["toys", "red"])


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """``with run_on_commit():`` runs queued tasks as a real commit would (test transactions)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def read_file(fieldfile) -> bytes:
    with fieldfile.storage.open(fieldfile.name, "rb") as fh:
        return fh.read()
