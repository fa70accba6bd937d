"""Cut-outs in S3 (django-storages against a moto server over HTTP): rendering asks S3 nothing."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from wagtail.images import get_image_model

from wagtail_bgcut import pipeline
from wagtail_bgcut.cutouts import prefetch_cutouts
from wagtail_bgcut.models import Cutout

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> str:
    return Template("{% load bgcut_tags wagtailimages_tags %}" + source).render(Context(context))


@pytest.fixture
def s3_images(s3_storage_settings, make_wagtail_image, image_bytes):
    images = [
        make_wagtail_image(image_bytes(seed=i, fmt="JPEG"), title=f"P{i}", name=f"p{i}.jpg")
        for i in range(3)
    ]
    for image in images:
        pipeline.process_now(image, ["full", "thumbnail"])
    assert Cutout.objects.filter(status="done").count() == 6
    # The pipeline wrote the cut-outs to the bucket over HTTP.
    assert any(method == "PUT" for method, _ in s3_storage_settings.requests)
    return images


def test_cutout_files_live_in_the_bucket(s3_storage_settings, s3_images):
    for cutout in Cutout.objects.all():
        head = s3_storage_settings.storage.connection.meta.client.head_object(
            Bucket=s3_storage_settings.bucket, Key=cutout.file.name
        )
        assert head["ContentLength"] == cutout.size


def test_bgcut_tag_makes_no_request_to_s3(s3_storage_settings, s3_images):
    s3_storage_settings.clear_requests()
    # Fresh instances, no prefetch: every tag looks its cut-out up in the database only.
    fresh = list(get_image_model().objects.order_by("pk"))
    html = render(
        '{% for i in images %}{% bgcut i "thumbnail" class="t" %}'
        '{% bgcut i "full" as cut %}{{ cut.url }} {{ cut.width }}{% endfor %}',
        images=fresh,
    )
    # ... and with a prefetch.
    prefetched = prefetch_cutouts(get_image_model().objects.order_by("pk"), ["thumbnail"])
    html += render('{% for i in images %}{% bgcut i "thumbnail" %}{% endfor %}', images=prefetched)
    assert s3_storage_settings.requests == []
    assert html.count(f"/{s3_storage_settings.bucket}/bgcut/") == 9
    assert html.count(".webp") == 6 and html.count(".png") == 3


def test_image_operation_reads_s3_once_then_renders_from_the_rendition(
    s3_storage_settings, s3_images
):
    image = s3_images[0]
    s3_storage_settings.clear_requests()
    first = render("{% image img bgcut-full fill-20x20 %}", img=image)
    assert 'width="20"' in first
    reads = [r for r in s3_storage_settings.requests if r[0] == "GET"]
    assert len(reads) == 1  # the cut-out was opened to make the rendition
    s3_storage_settings.clear_requests()
    fresh = get_image_model().objects.get(pk=image.pk)
    again = render("{% image img bgcut-full fill-20x20 %}", img=fresh)
    assert again == first
    assert s3_storage_settings.requests == []
