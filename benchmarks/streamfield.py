"""A StreamField of image blocks, ``CutoutImageBlock`` against the obvious alternative:
python benchmarks/streamfield.py

Same throwaway project as benchmarks/render.py (100 Wagtail images, their ``thumbnail`` cut-outs
cached and their renditions made). A stream of one block per image is loaded from its stored JSON
(``to_python``, as a page load does) and rendered each way:

* ``CutoutImageBlock(preset="thumbnail")``: ``{{ block }}`` shows the cut-out (one lookup for the
  whole stream);
* ``ImageChooserBlock`` with ``{% image value bgcut-thumbnail %}`` per block: what a site writes
  without the block (one rendition lookup per block);
* ``ImageChooserBlock`` with ``{% image value fill-200x200 %}``: a plain Wagtail image stream, for
  scale.

Prints the median of several runs, the ratio CutoutImageBlock / the alternative, and the queries.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# benchmarks/render.py: the throwaway project, its images and the timing helper.
import render as render_bench


def run_benchmark(count: int, runs: int) -> None:
    from django.template import Context, Template
    from wagtail import blocks
    from wagtail.images import get_image_model
    from wagtail.images.blocks import ImageChooserBlock

    from wagtail_bgcut.blocks import CutoutImageBlock

    ids = list(get_image_model().objects.order_by("pk").values_list("pk", flat=True))
    raw = [{"type": "image", "value": pk, "id": f"b{pk}"} for pk in ids]
    cutout_stream = blocks.StreamBlock([("image", CutoutImageBlock(preset="thumbnail"))])
    chooser_stream = blocks.StreamBlock([("image", ImageChooserBlock())])
    page_template = Template(
        "{% load wagtailcore_tags %}{% for block in stream %}{% include_block block %}{% endfor %}"
    )

    def per_block(spec: str) -> Template:
        return Template(
            "{% load wagtailimages_tags %}"
            "{% for block in stream %}{% image block.value " + spec + " %}{% endfor %}"
        )

    bgcut_op = per_block("bgcut-thumbnail")
    plain = per_block("fill-200x200")

    def cutout_block_page() -> str:
        return page_template.render(Context({"stream": cutout_stream.to_python(raw)}))

    def operation_page() -> str:
        return bgcut_op.render(Context({"stream": chooser_stream.to_python(raw)}))

    def plain_page() -> str:
        return plain.render(Context({"stream": chooser_stream.to_python(raw)}))

    for page in (cutout_block_page, operation_page, plain_page):
        page()  # warm up: template compilation, storage objects

    print(f"\nA stream of {count} image blocks, median of {runs} runs (to_python + render):")
    block_time, block_queries, block_html = render_bench.measure(
        'CutoutImageBlock(preset="thumbnail")', cutout_block_page, runs
    )
    op_time, op_queries, op_html = render_bench.measure(
        "ImageChooserBlock + {% image v bgcut-thumbnail %}", operation_page, runs
    )
    plain_time, plain_queries, _ = render_bench.measure(
        "ImageChooserBlock + {% image v fill-200x200 %}", plain_page, runs
    )
    assert block_html.count("<img ") == count and ".webp" in block_html, "block did not render"
    assert op_html.count("<img ") == count and "not-found" not in op_html, "operation failed"
    ratio = block_time / op_time
    print(f"\nratio CutoutImageBlock / ImageChooserBlock + bgcut- operation: {ratio:.2f}")
    print(f"ratio CutoutImageBlock / plain ImageChooserBlock stream: {block_time / plain_time:.2f}")
    print(
        f"queries: CutoutImageBlock {block_queries}, operation {op_queries}, plain {plain_queries}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bgcut-bench-stream-"))
    try:
        render_bench.configure(workdir)
        started = time.perf_counter()
        render_bench.build(args.images)
        print(f"{args.images} images built in {time.perf_counter() - started:.1f} s")
        run_benchmark(args.images, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
