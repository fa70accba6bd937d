"""Fixtures for the admin tests: real users, groups, collections and images (no mocks).

- ``superuser``; ``editor`` may add/change images in the "Shop" collection only; ``outsider`` is an
  editor with the same rights on another collection ("Press"); all can use the admin.
- ``shop_image``: a small synthetic photo (a red ball on grey) in the "Shop" collection.

All of them come from tests/factories.py. Browser tests (marked ``browser``) launch chromium through
tests/browser.py.
"""

from __future__ import annotations

import pytest

from tests.factories import CollectionFactory, EditorFactory, UserFactory, WagtailImageFactory


@pytest.fixture
def collections(root_collection):
    return {"shop": CollectionFactory(name="Shop"), "press": CollectionFactory(name="Press")}


@pytest.fixture
def editor(collections):
    return EditorFactory(username="editor", collection=collections["shop"])


@pytest.fixture
def outsider(collections):
    return EditorFactory(username="outsider", collection=collections["press"])


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", superuser=True)


@pytest.fixture
def make_image(collections, run_on_commit):
    """Upload a red ball (``seed`` moves it, so seeds give different files) as the admin would."""

    def make(title: str = "Red ball", *, collection: str = "shop", seed: int = 0, tags=()):
        with run_on_commit():
            return WagtailImageFactory(
                title=title,
                collection=collections[collection],
                data__ball=True,
                data__seed=seed,
                filename=f"ball{seed}.png",
                file_metadata=True,
                tags=tags,
            )

    return make


@pytest.fixture
def shop_image(make_image):
    return make_image(tags=["toys", "red"])


def read_file(fieldfile) -> bytes:
    with fieldfile.storage.open(fieldfile.name, "rb") as fh:
        return fh.read()
