"""``{% bgcut %}``: what a page shows, ready or not, for Wagtail images and plain FieldFiles."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.images import ImageFile
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model

from tests.factories import ImageBytesFactory, WagtailImageFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.cutouts import prefetch_cutouts
from wagtail_bgcut.models import Cutout, SourceFile

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> str:
    return Template("{% load bgcut_tags %}" + source).render(Context(context))


def attrs_of(html: str) -> dict[str, str]:
    assert html.startswith("<img ") and html.endswith(">"), html
    return dict(re.findall(r'([\w-]+)="([^"]*)"', html))


@pytest.fixture
def ready_image():
    image = WagtailImageFactory(yellow_disc=True)
    pipeline.process_now(image, ["full", "thumbnail"])
    return image


def test_renders_the_cutout_img_tag(ready_image):
    html = render('{% bgcut img "thumbnail" %}', img=ready_image)
    attrs = attrs_of(html)
    cut = Cutout.objects.get(preset="thumbnail")
    assert attrs["src"] == cut.file.url
    assert attrs["src"].endswith(".webp")
    assert (attrs["width"], attrs["height"]) == (str(cut.width), str(cut.height))
    assert attrs["alt"] == "Yellow disc"


def test_extra_attributes_are_resolved_and_escaped(ready_image):
    html = render(
        '{% bgcut img "full" alt=label class="thumb x" data-note=note loading="lazy" %}',
        img=ready_image,
        label='Cup "deluxe"',
        note="<script>alert(1)</script>",
    )
    assert "<script>" not in html
    attrs = attrs_of(html)
    assert attrs["alt"] == "Cup &quot;deluxe&quot;"
    assert attrs["class"] == "thumb x"
    assert attrs["data-note"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert attrs["loading"] == "lazy"


def test_as_form_exposes_url_size_and_ready(ready_image):
    html = render(
        '{% bgcut img "full" as cut %}{{ cut.url }}|{{ cut.width }}x{{ cut.height }}|'
        "{{ cut.ready }}|{{ cut }}",
        img=ready_image,
    )
    url, size, ready, tag = html.split("|")
    assert url.endswith(".png")
    assert size == "96x64"
    assert ready == "True"
    assert attrs_of(tag)["src"] == url


def test_not_ready_shows_the_original_and_queues(django_capture_on_commit_callbacks):
    image = WagtailImageFactory(yellow_disc=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        html = render(
            '{% bgcut img "thumbnail" as cut %}{% if not cut.ready %}pending {% endif %}'
            '{% bgcut img "thumbnail" class="t" %}',
            img=image,
        )
    assert html.startswith("pending ")
    attrs = attrs_of(html.removeprefix("pending "))
    assert attrs["src"] == image.file.url
    assert (attrs["width"], attrs["height"]) == ("96", "64")
    # Two tags for the same image and preset: one row, one queued job.
    assert Cutout.objects.get().status == "pending"
    assert len(callbacks) == 1


def test_process_on_render_waits_for_the_cutout(settings):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "PROCESS_ON_RENDER": True}
    image = WagtailImageFactory(yellow_disc=True)
    html = render('{% bgcut img "full" %}', img=image)
    assert attrs_of(html)["src"] == Cutout.objects.get(status="done").file.url


def test_plain_fieldfile_works_with_empty_alt(ready_image):
    html = render('{% bgcut f "full" %}', f=ready_image.file)
    attrs = attrs_of(html)
    assert attrs["alt"] == ""
    assert attrs["src"].endswith(".png")


def test_none_renders_nothing_and_sets_none():
    assert render('{% bgcut img "full" %}', img=None) == ""
    assert render('{% bgcut missing "full" %}') == ""
    assert render('{% bgcut img "full" as cut %}[{{ cut|default:"none" }}]', img=None) == "[none]"


def test_unknown_preset_fails_the_render_naming_known_presets(ready_image):
    with pytest.raises(TemplateSyntaxError, match=r"No preset named 'thumbnial'.*full, thumbnail"):
        render('{% bgcut img "thumbnial" %}', img=ready_image)
    # Even without an image, so a typo cannot hide on pages that happen to have none.
    with pytest.raises(TemplateSyntaxError, match="thumbnial"):
        render('{% bgcut img "thumbnial" %}', img=None)


def test_preset_can_be_a_variable(ready_image):
    html = render("{% bgcut img which %}", img=ready_image, which="full")
    assert attrs_of(html)["src"].endswith(".png")


@pytest.mark.parametrize(
    "source",
    [
        "{% bgcut %}",
        "{% bgcut img %}",
        '{% bgcut img "full" as %}',
        '{% bgcut img "full" as a b %}',
        '{% bgcut img "full" lonely %}',
        '{% bgcut img "full" class="x" as cut %}',
    ],
)
def test_malformed_tags_are_syntax_errors(source):
    with pytest.raises(TemplateSyntaxError, match="bgcut"):
        Template("{% load bgcut_tags %}" + source)


def test_listing_with_prefetch_renders_without_queries(ready_image):
    others = [
        WagtailImageFactory(yellow_disc=True, title=f"Copy {i}", filename=f"copy{i}.jpg")
        for i in range(5)
    ]
    for other in others:
        pipeline.process_now(other, ["thumbnail"])
    images = prefetch_cutouts(get_image_model().objects.order_by("pk"), "thumbnail")
    template = Template(
        '{% load bgcut_tags %}{% for i in images %}{% bgcut i "thumbnail" class="t" %}{% endfor %}'
    )
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"images": images}))
    assert len(queries) == 0
    assert html.count("<img ") == 6
    assert html.count(".webp") == 6


def test_bgcut_url_tag(ready_image):
    assert render('{% bgcut_url img "full" %}', img=ready_image).endswith(".png")
    assert render('{% bgcut_url img "full" %}', img=None) == ""


@pytest.mark.parametrize("process_on_render", [False, True])
def test_unreadable_original_falls_back_without_crashing(settings, process_on_render, caplog):
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "PROCESS_ON_RENDER": process_on_render}
    image = WagtailImageFactory(yellow_disc=True, title="Gone", filename="gone.jpg")
    image.file.storage.delete(image.file.name)
    SourceFile.objects.all().delete()  # never hashed: the pipeline would have to read it
    html = render('{% bgcut img "full" %}', img=image)
    assert attrs_of(html)["src"] == image.file.url
    assert "cannot request the 'full' cut-out" in caplog.text


def test_plain_django_image_field(django_capture_on_commit_callbacks):
    from tests.testapp.models import Product

    with django_capture_on_commit_callbacks(execute=False):
        product = Product.objects.create(name="Lamp")
        product.photo.save(
            "lamp.jpg",
            ImageFile(io.BytesIO(ImageBytesFactory(yellow_on_blue=True)), name="lamp.jpg"),
        )
        fresh = Product.objects.get(pk=product.pk)
        html = render('{% bgcut p.photo "full" class="p" %}', p=fresh)
    # Not ready: the original, and no width/height since measuring would mean reading the file.
    attrs = attrs_of(html)
    assert attrs["src"] == fresh.photo.url
    assert "width" not in attrs and "height" not in attrs
    assert attrs["alt"] == "" and attrs["class"] == "p"

    pipeline.process_now(fresh.photo, ["full"])
    products = list(Product.objects.all())
    prefetch_cutouts([p.photo for p in products], "full")
    with CaptureQueriesContext(connection) as queries:
        html = render('{% bgcut p.photo "full" %}', p=products[0])
    assert len(queries) == 0
    attrs = attrs_of(html)
    assert attrs["src"].endswith(".png") and (attrs["width"], attrs["height"]) == ("96", "64")
