"""Make any image acceptable to the BackgroundCut API before it is uploaded.

The API takes PNG, JPEG and WebP up to 12 MB (see :mod:`wagtail_bgcut.api_facts`). An acceptable
file is sent byte for byte (no generation loss, no wasted CPU); anything else is converted once,
here, so the client never sends a request the API would refuse with a 400 or 413.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from ..api_facts import (
    CONTENT_TYPES,
    EXTENSIONS,
    FORMAT_OF_PILLOW_NAME,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
)
from .errors import UnsupportedImage
from .loading import has_transparency, open_image, read_header
from .render import fit_size

__all__ = ["API_FORMATS", "PreparedUpload", "prepare_upload"]

# Pillow's name for a file the API accepts as it is -> the API's spelling of its format.
API_FORMATS = FORMAT_OF_PILLOW_NAME
_JPEG_QUALITIES = (95, 90, 85, 80)


@dataclass(frozen=True)
class PreparedUpload:
    """The bytes to upload and how they relate to the image the user sees.

    ``scale`` is uploaded pixels per displayed pixel (<= 1.0): multiply AI Cut dot coordinates by
    it before sending them, divide result sizes by it to get back to the displayed image.
    """

    data: bytes
    format: str  # "PNG" | "JPEG" | "WEBP"
    width: int
    height: int
    scale: float
    changed: bool

    @property
    def extension(self) -> str:
        """``png``, ``jpg`` or ``webp``: the name the API's own examples give uploaded files."""
        return EXTENSIONS[API_FORMATS[self.format]]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[API_FORMATS[self.format]]


def _read_all(source: bytes | bytearray | memoryview | BinaryIO) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, bytes):
            return data
    raise UnsupportedImage(f"Cannot read an image from a {type(source).__name__}.")


def _is_16_bit_png(data: bytes) -> bool:
    # The IHDR chunk always comes first; its bit depth byte sits at offset 24.
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def _acceptable(img: Image.Image, data: bytes, max_bytes: int, max_pixels: int) -> bool:
    fmt = img.format or ""
    if fmt not in API_FORMATS or len(data) > max_bytes:
        return False
    if img.width * img.height > max_pixels:
        return False
    if img.mode not in ("RGB", "RGBA", "L", "LA", "P") or _is_16_bit_png(data):
        return False
    if getattr(img, "n_frames", 1) > 1 and fmt != "MPO":
        return False  # animated: the API would see an arbitrary frame; send the first one only
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:
        return False
    return orientation in (None, 1)


def prepare_upload(
    source: bytes | BinaryIO,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_UPLOAD_PIXELS,
    max_source_pixels: int = 100_000_000,
) -> PreparedUpload:
    """Return the original bytes when the API accepts them, otherwise a converted copy.

    Conversion applies EXIF orientation, takes the first frame of animations, writes PNG when the
    image has transparency and JPEG otherwise, and scales down (never up) until the file has at most
    ``max_pixels`` pixels and ``max_bytes`` bytes.
    """
    data = _read_all(source)
    header = read_header(data, max_pixels=max_source_pixels)
    with header:
        acceptable = _acceptable(header, data, max_bytes, max_pixels)
        if acceptable:
            try:
                header.load()  # a truncated file must fail here, not at the provider
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise UnsupportedImage("The image data is corrupt or truncated.") from exc
            fmt = "JPEG" if header.format == "MPO" else header.format
            return PreparedUpload(
                data=data,
                format=fmt,
                width=header.width,
                height=header.height,
                scale=1.0,
                changed=False,
            )
    img = open_image(data, max_pixels=max_source_pixels)
    return _convert(img, max_bytes=max_bytes, max_pixels=max_pixels)


def _convert(img: Image.Image, *, max_bytes: int, max_pixels: int) -> PreparedUpload:
    displayed_w = img.width
    fmt = "PNG" if has_transparency(img) else "JPEG"
    if fmt == "JPEG" and img.mode != "RGB":
        img = img.convert("RGB")
    size = fit_size(img.width, img.height, max_pixels)
    for _attempt in range(12):
        work = img if size == img.size else img.resize(size, Image.Resampling.LANCZOS)
        data = _encode_within(work, fmt, max_bytes)
        if data is not None:
            return PreparedUpload(
                data=data,
                format=fmt,
                width=work.width,
                height=work.height,
                scale=min(1.0, work.width / displayed_w),
                changed=True,
            )
        # Too many bytes even at the lowest quality: shrink the pixel count and retry.
        encoded = _encode(work, fmt, _JPEG_QUALITIES[-1])
        ratio = max_bytes / max(len(encoded), 1)
        factor = min(0.9, math.sqrt(ratio) * 0.95)
        size = (max(1, int(work.width * factor)), max(1, int(work.height * factor)))
    raise UnsupportedImage(f"Cannot make the image smaller than {max_bytes:,} bytes.")


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", compress_level=6)
    else:
        img.save(out, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return out.getvalue()


def _encode_within(img: Image.Image, fmt: str, max_bytes: int) -> bytes | None:
    qualities = _JPEG_QUALITIES if fmt == "JPEG" else (0,)
    for quality in qualities:
        data = _encode(img, fmt, quality)
        if len(data) <= max_bytes:
            return data
    return None
