"""Background removal on plain Pillow images, usable without Django.

    from PIL import Image
    from wagtail_bgcut.pillow import remove_background, segment

    cutout = remove_background(Image.open("photo.jpg"))                     # RGBA
    thumb = remove_background(Image.open("photo.jpg"), format="webp",
                              max_resolution=250_000, autocrop=True)
    cut = segment(Image.open("photo.jpg"), green=[(250, 300)], red=[(20, 20)])

Only the base install is needed (Pillow, numpy, OpenCV); no settings are read. Pass
``model="isnet-imgly-small"`` (a catalogue name, fetched beforehand with ``manage.py bgcut_model
fetch`` into ``model_dir``, default the per-user cache) or ``model="u2net.onnx"`` (a path) to use
an ONNX model instead of the built-in segmenter. Nothing is downloaded here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

from PIL import Image

from .imaging import apply_mask, open_image, render_variant, segment_points
from .imaging import remove_background as _cutout
from .model_files.segmenter import load_segmenter
from .variants import Variant

__all__ = ["remove_background", "segment"]


def remove_background(
    image: Image.Image,
    *,
    model: str | os.PathLike | None = None,
    model_dir: str | os.PathLike | None = None,
    model_path: str | os.PathLike | None = None,
    **variant_options: Any,
) -> Image.Image:
    """Cut the subject out of ``image`` and return the rendered variant as a Pillow image.

    ``variant_options`` are the API's ``output_variants`` options (``max_resolution``, ``format``,
    ``background_color``, ``quality``, ``output_compression``, ``autocrop``); invalid ones raise
    :class:`wagtail_bgcut.variants.InvalidVariant`. The result is decoded from the encoded file, so
    a ``jpg`` or lossy ``webp`` variant shows its compression and a ``png`` one is ``RGBA``.
    """
    variant = Variant.from_dict(variant_options, name="pillow")
    segmenter = load_segmenter(model or model_path, model_dir)
    cutout = _cutout(open_image(image), quality=variant.quality, segmenter=segmenter)
    rendered = render_variant(cutout, variant)
    result = Image.open(io.BytesIO(rendered.data))  # in memory: no file handle to leak
    result.load()
    return result  # keeps ``.format`` ("PNG", "JPEG", "WEBP")


def segment(
    image: Image.Image,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]] = (),
    *,
    previous_mask: Image.Image | None = None,
    model: str | os.PathLike | None = None,
    model_dir: str | os.PathLike | None = None,
) -> Image.Image:
    """RGBA cut-out from AI Cut style dots: ``green`` on the subject, ``red`` on the background.

    Coordinates are ``(x, y)`` in displayed pixels (EXIF orientation applied). To refine, pass the
    alpha channel of the previous result as ``previous_mask`` together with all dots so far; without
    it the result depends on the set of dots only. ``model`` as for :func:`remove_background`.
    """
    opened = open_image(image)
    segmenter = load_segmenter(model, model_dir)
    mask = segment_points(opened, green, red, previous_mask=previous_mask, segmenter=segmenter)
    return apply_mask(opened, mask)
