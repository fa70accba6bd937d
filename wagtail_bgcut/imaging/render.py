"""Render output variants from one RGBA cut-out: THE implementation every backend shares.

The local backend, the API emulator and the "derive variants locally" mode all call
:func:`render_variant`, so a variant looks the same whichever of them produced it.

Documented choices where the provider's pages are silent:

- ``autocrop`` crops first, then ``max_resolution`` scales the cropped subject (a thumbnail keeps as
  much detail of the subject as its pixel budget allows). The crop box is the tight bounding box of
  pixels whose alpha exceeds :data:`AUTOCROP_ALPHA_THRESHOLD`. A cut-out with no such pixel (nothing
  found) is not cropped: the full frame is returned rather than an error or a 0x0 file.
- ``max_resolution`` scales down proportionally so that ``width * height <= max_resolution``; an
  image is never scaled up. Each side stays at least 1 pixel.
- ``format="jpg"`` never carries alpha: without a ``background_color`` the subject is flattened on
  white (#ffffff), the same default the provider's examples show for JPEG.
- ``output_compression`` is the JPEG/WebP quality (1..100); WebP at 100 is lossless. PNG ignores it.
- ``quality`` only picks the resampling filter (high: Lanczos, medium: bicubic, low: bilinear).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image

from ..api_facts import CONTENT_TYPES, EXTENSIONS
from ..variants import Variant

__all__ = [
    "AUTOCROP_ALPHA_THRESHOLD",
    "CONTENT_TYPES",
    "JPEG_DEFAULT_BACKGROUND",
    "RenderedImage",
    "autocrop_box",
    "fit_size",
    "render_variant",
    "render_variants",
]

AUTOCROP_ALPHA_THRESHOLD = 8  # alpha values at or below this count as background for autocrop
JPEG_DEFAULT_BACKGROUND = "#ffffff"
_RESAMPLE = {
    "high": Image.Resampling.LANCZOS,
    "medium": Image.Resampling.BICUBIC,
    "low": Image.Resampling.BILINEAR,
}


@dataclass(frozen=True)
class RenderedImage:
    """An encoded variant, ready to store or send."""

    data: bytes
    format: str  # "png" | "jpg" | "webp"
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def fit_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest proportional size with ``w * h <= max_pixels``, never larger than the input."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    new_w = max(1, math.floor(width * scale))
    new_h = max(1, math.floor(height * scale))
    while new_w * new_h > max_pixels and (new_w > 1 or new_h > 1):
        # Rounding can overshoot by a row or a column; trim the longer side.
        if new_w >= new_h:
            new_w -= 1
        else:
            new_h -= 1
    return new_w, new_h


def autocrop_box(cutout: Image.Image) -> tuple[int, int, int, int] | None:
    """Tight bounds of the subject (alpha above the threshold), or None when there is none."""
    if cutout.mode != "RGBA":
        return None
    alpha = cutout.getchannel("A").point(lambda a: 255 if a > AUTOCROP_ALPHA_THRESHOLD else 0)
    return alpha.getbbox()


def _parse_hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _flatten(img: Image.Image, colour: str) -> Image.Image:
    background = Image.new("RGB", img.size, _parse_hex(colour))
    background.paste(img, mask=img.getchannel("A"))
    return background


def render_variant(cutout: Image.Image, variant: Variant) -> RenderedImage:
    """Encode ``cutout`` (any mode; RGBA expected) as ``variant`` says. See the module docstring."""
    img = cutout if cutout.mode == "RGBA" else cutout.convert("RGBA")
    if variant.autocrop:
        box = autocrop_box(img)
        if box is not None and box != (0, 0, *img.size):
            img = img.crop(box)
    size = fit_size(*img.size, variant.max_resolution)
    if size != img.size:
        # Pillow resamples RGBA premultiplied, so transparent pixels do not bleed into edges.
        img = img.resize(size, _RESAMPLE[variant.quality], reducing_gap=3.0)
    background = variant.background_color
    if background is None and variant.format == "jpg":
        background = JPEG_DEFAULT_BACKGROUND
    if background is not None:
        img = _flatten(img, background)
    data = _encode(img, variant)
    return RenderedImage(
        data=data,
        format=variant.format,
        content_type=CONTENT_TYPES[variant.format],
        width=img.width,
        height=img.height,
    )


def render_variants(cutout: Image.Image, variants: Iterable[Variant]) -> dict[str, RenderedImage]:
    """Render several variants of one cut-out, keyed by ``variant_name``."""
    return {v.variant_name: render_variant(cutout, v) for v in variants}


def _encode(img: Image.Image, variant: Variant) -> bytes:
    out = io.BytesIO()
    q = variant.output_compression
    if variant.format == "png":
        # Level 6 is zlib's sweet spot; "optimize" costs seconds on 12 MP for a few percent.
        img.save(out, "PNG", compress_level=6)
    elif variant.format == "jpg":
        img.save(
            out,
            "JPEG",
            quality=q,
            optimize=True,
            progressive=True,
            # Chroma subsampling smears coloured edges; skip it when the caller asked for quality.
            subsampling=0 if q >= 90 else 2,
        )
    else:
        if q >= 100:
            img.save(out, "WEBP", lossless=True, quality=100, method=4)
        else:
            img.save(out, "WEBP", quality=q, method=4)
    return out.getvalue()
