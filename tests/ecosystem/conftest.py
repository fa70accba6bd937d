"""Fixtures: a published ``ShowcasePage`` that shows a Wagtail image, and the image itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import WagtailImageFactory


def site_root() -> Any:
    """The default site's root page, put back if a transactional test flushed Wagtail's rows."""
    from wagtail.models import Page, Site

    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        return site.root_page
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    home = root.add_child(title="Home", slug="home")
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    return home


@pytest.fixture
def photo(root_collection):
    """A yellow disc on blue (JPEG), whose cut-out nobody has asked for yet."""
    return WagtailImageFactory(yellow_disc=True, data__width=120, data__height=80)


@pytest.fixture
def make_page(db, committed):
    """Publish a ``ShowcasePage`` under the site root (reference index updated, as on commit)."""
    from tests.ecosystem.models import ShowcasePage

    def make(*, photo: Any = None, body: list[tuple[str, Any]] = (), slug: str = "show") -> Any:
        page = ShowcasePage(title=f"Showcase {slug}", slug=slug, photo=photo, body=list(body))
        with committed():
            site_root().add_child(instance=page)
            page.save_revision().publish()
        return page

    return make
