"""The docs' recipe for ``{% cache %}`` fragments (docs/caches.md), run as written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.template import Context, Template

from wagtail_bgcut import pipeline
from wagtail_bgcut.frontend_cache import images_with_hash
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.signals import cutouts_ready

pytestmark = pytest.mark.django_db

CARD = Template(
    "{% load cache bgcut_tags %}{% cache 3600 product_card image.pk %}"
    '{% bgcut image "full" %}{% endcache %}'
)


def forget_image_fragments(sender, source_hash, **kwargs):
    for image in images_with_hash(source_hash):
        # the template has {% cache 3600 product_card image.pk %}
        cache.delete(make_template_fragment_key("product_card", [image.pk]))


@pytest.fixture
def clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def render(image) -> str:
    """The card as a new request renders it: a freshly loaded image, the shared cache."""
    fresh = type(image).objects.get(pk=image.pk)
    return CARD.render(Context({"image": fresh}))


def test_without_a_receiver_the_fragment_keeps_the_original(clean_cache, photo):
    assert photo.file.url in render(photo)
    pipeline.process_now(photo, ["full"])
    assert photo.file.url in render(photo)  # stale: the reason for the recipe


def test_the_recipe_drops_the_fragment_when_the_cutout_lands(clean_cache, photo):
    cutouts_ready.connect(forget_image_fragments)
    try:
        assert photo.file.url in render(photo)
        pipeline.process_now(photo, ["full"])
    finally:
        cutouts_ready.disconnect(forget_image_fragments)
    html = render(photo)
    assert Cutout.objects.get(preset="full").file.url in html
    assert photo.file.url not in html
