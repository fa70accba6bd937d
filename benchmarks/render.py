"""Render cost of ``{% bgcut %}`` against Wagtail's ``{% image %}``: python benchmarks/render.py

Builds a throwaway SQLite database and media folder, 100 Wagtail images whose ``thumbnail``
cut-outs are cached (made by the local engine, through the real pipeline) and whose Wagtail
renditions already exist, then times a listing page of the 100 images each way:

* ``{% bgcut i "thumbnail" %}`` over ``prefetch_cutouts(Image.objects..., "thumbnail")``
* ``{% image i fill-200x200 %}`` over ``Image.objects.prefetch_renditions("fill-200x200")``

Each timing includes the queryset and its prefetch (what a page pays). It prints the median of
several runs, the ratio bgcut / Wagtail (target <= 1.0) and the queries each listing made
(target <= 2). Also shown for reference: ``{% image i bgcut-thumbnail %}`` with prefetched
renditions, i.e. the operation path once its renditions exist, and ``{% bgcut %}`` without
``prefetch_cutouts`` (one query per image).
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

# Wagtail's apps and the storages, as the test settings have them.
from tests import wagtail_project  # noqa: E402


def configure(workdir: Path) -> None:
    settings.configure(
        SECRET_KEY="benchmark-only",
        DEBUG=False,
        USE_TZ=True,
        ALLOWED_HOSTS=["*"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(workdir / "db.sqlite3")}
        },
        INSTALLED_APPS=["wagtail_bgcut", *wagtail_project.APPS],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        MEDIA_ROOT=str(workdir / "media"),
        MEDIA_URL="/media/",
        STATIC_URL="/static/",
        STORAGES=wagtail_project.STORAGES,
        TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        WAGTAIL_SITE_NAME="bench",
        WAGTAIL_BGCUT={
            "PRESETS": {
                "thumbnail": {"format": "webp", "max_resolution": 250_000, "autocrop": True}
            },
            "AUTO_PROCESS": [],
        },
    )
    django.setup()


def image_bytes(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (96, 64), (230, 230, 230 - seed % 40))
    shift = seed % 9
    ImageDraw.Draw(img).ellipse((20 + shift, 12, 70 + shift, 52), fill=(200, 40 + seed % 50, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def build(count: int) -> None:
    from django.core.files.images import ImageFile
    from django.core.management import call_command
    from wagtail.images import get_image_model

    from wagtail_bgcut import pipeline

    call_command("migrate", interactive=False, verbosity=0)
    Image = get_image_model()
    for i in range(count):
        image = Image(title=f"Product {i}")
        image.file = ImageFile(io.BytesIO(image_bytes(i)), name=f"product{i}.jpg")
        image.save()
        rows = pipeline.process_now(image, ["thumbnail"])
        if not all(row.ready for row in rows):
            raise SystemExit(f"cut-out of image {i} failed: {[row.error for row in rows]}")
        image.get_rendition("fill-200x200")
        image.get_rendition("bgcut-thumbnail")


def measure(label: str, run, runs: int) -> tuple[float, int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        html = run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"  {label:<52} {median * 1000:8.2f} ms   {len(queries)} queries")
    return median, len(queries), html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bgcut-bench-render-"))
    try:
        configure(workdir)
        started = time.perf_counter()
        build(args.images)
        print(
            f"{args.images} images with cached cut-outs and renditions built in "
            f"{time.perf_counter() - started:.1f} s ({workdir})"
        )
        run_benchmark(args.images, args.runs)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_benchmark(count: int, runs: int) -> None:
    from django.template import Context, Template
    from wagtail.images import get_image_model

    from wagtail_bgcut.cutouts import prefetch_cutouts

    Image = get_image_model()
    bgcut_template = Template(
        '{% load bgcut_tags %}{% for i in images %}{% bgcut i "thumbnail" %}{% endfor %}'
    )
    image_template = Template(
        "{% load wagtailimages_tags %}{% for i in images %}{% image i fill-200x200 %}{% endfor %}"
    )
    op_template = Template(
        "{% load wagtailimages_tags %}"
        "{% for i in images %}{% image i bgcut-thumbnail %}{% endfor %}"
    )

    def bgcut_page() -> str:
        images = prefetch_cutouts(Image.objects.order_by("pk"), "thumbnail")
        return bgcut_template.render(Context({"images": images}))

    def bgcut_page_without_prefetch() -> str:
        images = Image.objects.order_by("pk")
        return bgcut_template.render(Context({"images": images}))

    def image_page() -> str:
        images = Image.objects.order_by("pk").prefetch_renditions("fill-200x200")
        return image_template.render(Context({"images": images}))

    def op_page() -> str:
        images = Image.objects.order_by("pk").prefetch_renditions("bgcut-thumbnail")
        return op_template.render(Context({"images": images}))

    # Warm both paths (template compilation, hooks, storage objects) before timing.
    for page in (bgcut_page, bgcut_page_without_prefetch, image_page, op_page):
        page()

    print(f"\nListing of {count} images, median of {runs} runs (queryset + prefetch + render):")
    bgcut_time, bgcut_queries, bgcut_html = measure('{% bgcut i "thumbnail" %}', bgcut_page, runs)
    image_time, image_queries, image_html = measure(
        "{% image i fill-200x200 %} (prefetch_renditions)", image_page, runs
    )
    op_time, op_queries, _ = measure(
        "{% image i bgcut-thumbnail %} (prefetch_renditions)", op_page, runs
    )
    measure('{% bgcut i "thumbnail" %} without prefetch', bgcut_page_without_prefetch, runs)
    assert bgcut_html.count("<img ") == count and ".webp" in bgcut_html, "bgcut did not render"
    assert image_html.count("<img ") == count, "image tag did not render"

    ratio = bgcut_time / image_time
    print(
        f"\nratio bgcut / image: {ratio:.2f} (target <= 1.0: {'met' if ratio <= 1.0 else 'MISSED'})"
    )
    print(
        f"queries: bgcut {bgcut_queries}, image {image_queries}, bgcut- operation {op_queries} "
        f"(target <= 2: {'met' if bgcut_queries <= 2 else 'MISSED'})"
    )
    print(
        f"per image: bgcut {bgcut_time / count * 1e6:.1f} us, "
        f"image {image_time / count * 1e6:.1f} us, "
        f"bgcut- operation {op_time / count * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
