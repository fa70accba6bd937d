"""Turn what callers hand us (bytes, a file object, a path) into the file part the API accepts.

With normalisation on (the default) every image goes through the imaging layer's
``prepare_upload``: EXIF orientation applied, formats the API refuses converted, and the file
shrunk to the 12 MB / 25 MP limits of :mod:`wagtail_bgcut.api_facts`, so the provider never bills
or rejects a request we could have fixed locally. Its errors (``wagtail_bgcut.imaging.ImageError``
subclasses, which are ``ValueError``) reach the caller unchanged: no request was made.

The imaging package is imported only when it is needed (it loads OpenCV), so a client that does not
normalise, and the API backend, never load it.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from ..api_facts import CONTENT_TYPES, FORMAT_OF_PILLOW_NAME, MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_PIXELS",
    "ImageInput",
    "PreparedFile",
    "prepare_file",
    "read_input",
]

ImageInput = bytes | bytearray | memoryview | BinaryIO | str | os.PathLike
# What we are willing to read into memory before normalisation (a huge TIFF may still shrink).
MAX_INPUT_BYTES = 256 * 1024 * 1024
# Pillow's format name -> the media type of the multipart part.
_CONTENT_TYPES = {name: CONTENT_TYPES[fmt] for name, fmt in FORMAT_OF_PILLOW_NAME.items()}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class PreparedFile:
    data: bytes
    filename: str
    content_type: str
    width: int | None
    height: int | None
    scale: float

    def part(self) -> tuple[str, bytes, str]:
        """The ``files=`` tuple for requests (bytes, so a retry can resend it)."""
        return (self.filename, self.data, self.content_type)


def _unsupported(message: str) -> ValueError:
    """The imaging layer's ``UnsupportedImage``, so bad input is one error type whoever reads it."""
    # Heavy: wagtail_bgcut.imaging loads OpenCV; import it only when an input is refused.
    from wagtail_bgcut.imaging.errors import UnsupportedImage

    return UnsupportedImage(message)


def read_input(image: ImageInput, filename: str | None = None) -> tuple[bytes, str]:
    """The image's bytes and a filename for the multipart part."""
    if isinstance(image, bytes | bytearray | memoryview):
        data, name = bytes(image), None
    elif isinstance(image, str | os.PathLike):
        path = os.fspath(image)
        size = os.path.getsize(path)
        if size > MAX_INPUT_BYTES:
            raise _unsupported(f"The image file is larger than {MAX_INPUT_BYTES:,} bytes.")
        with open(path, "rb") as fh:
            data = fh.read()
        name = os.path.basename(path)
    elif hasattr(image, "read"):
        data = image.read(MAX_INPUT_BYTES + 1)
        if not isinstance(data, bytes):
            raise TypeError("image file objects must be opened in binary mode")
        if len(data) > MAX_INPUT_BYTES:
            raise _unsupported(f"The image file is larger than {MAX_INPUT_BYTES:,} bytes.")
        raw_name = getattr(image, "name", None)
        name = os.path.basename(raw_name) if isinstance(raw_name, str) else None
    else:
        raise TypeError(
            f"image must be bytes, a binary file object or a path, not {type(image).__name__}"
        )
    if not data:
        raise _unsupported("The image file is empty.")
    return data, safe_filename(filename or name or "image")


def safe_filename(name: str) -> str:
    """A plain basename for the Content-Disposition header (no paths, quotes or newlines)."""
    name = _UNSAFE_NAME.sub("_", os.path.basename(str(name))).strip(" .") or "image"
    return name[-100:]


def _with_extension(filename: str, extension: str) -> str:
    stem, _dot, old = filename.rpartition(".")
    if not stem:
        stem = filename
    elif old.lower() in {"jpeg", "jpg"} and extension == "jpg":
        return filename
    return f"{stem}.{extension.lstrip('.')}"


def _sniff(data: bytes) -> tuple[str | None, int | None, int | None]:
    """Format and size from the header alone; (None, None, None) if Pillow cannot tell."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format, img.width, img.height
    except Exception:  # not normalising means "send it as it is"
        return None, None, None


def prepare_file(image: ImageInput, filename: str | None, *, normalize: bool) -> PreparedFile:
    data, name = read_input(image, filename)
    if not normalize:
        fmt, width, height = _sniff(data)
        content_type = _CONTENT_TYPES.get(fmt or "", "application/octet-stream")
        return PreparedFile(data, name, content_type, width, height, 1.0)
    # Heavy: wagtail_bgcut.imaging loads OpenCV; only normalising needs it.
    from wagtail_bgcut.imaging import prepare_upload

    prepared = prepare_upload(data, max_bytes=MAX_UPLOAD_BYTES, max_pixels=MAX_UPLOAD_PIXELS)
    return PreparedFile(
        data=prepared.data,
        filename=_with_extension(name, prepared.extension),
        content_type=prepared.content_type,
        width=prepared.width,
        height=prepared.height,
        scale=float(prepared.scale),
    )
