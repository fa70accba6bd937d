"""Turn what callers hand us (bytes, a file object, a path) into the file part the API accepts.

With normalisation on (the default) every image goes through the imaging layer's
``prepare_upload``: EXIF orientation applied, formats the API refuses converted, and the file
shrunk to the documented 12 MB / 25 MP limits, so the provider never bills or rejects a request we
could have fixed locally. Its errors (``wagtail_bgcut.imaging.ImageError`` subclasses, which are
``ValueError``) reach the caller unchanged: no request was made.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

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
MAX_UPLOAD_BYTES = 12 * 1024 * 1024
MAX_UPLOAD_PIXELS = 25_000_000
# What we are willing to read into memory before normalisation (a huge TIFF may still shrink).
MAX_INPUT_BYTES = 256 * 1024 * 1024
_CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
}
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


def _too_big() -> ValueError:
    from wagtail_bgcut.imaging.errors import UnsupportedImage

    return UnsupportedImage(f"The image file is larger than {MAX_INPUT_BYTES:,} bytes.")


def read_input(image: ImageInput, filename: str | None = None) -> tuple[bytes, str]:
    """The image's bytes and a filename for the multipart part."""
    if isinstance(image, bytes | bytearray | memoryview):
        data, name = bytes(image), None
    elif isinstance(image, str | os.PathLike):
        path = os.fspath(image)
        size = os.path.getsize(path)
        if size > MAX_INPUT_BYTES:
            raise _too_big()
        with open(path, "rb") as fh:
            data = fh.read()
        name = os.path.basename(path)
    elif hasattr(image, "read"):
        data = image.read(MAX_INPUT_BYTES + 1)
        if not isinstance(data, bytes):
            raise TypeError("image file objects must be opened in binary mode")
        if len(data) > MAX_INPUT_BYTES:
            raise _too_big()
        raw_name = getattr(image, "name", None)
        name = os.path.basename(raw_name) if isinstance(raw_name, str) else None
    else:
        raise TypeError(
            f"image must be bytes, a binary file object or a path, not {type(image).__name__}"
        )
    if not data:
        from wagtail_bgcut.imaging.errors import UnsupportedImage

        raise UnsupportedImage("The image file is empty.")
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
    from PIL import Image

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
    try:
        from wagtail_bgcut.imaging import prepare_upload
    except ImportError:  # the package may not re-export it
        from wagtail_bgcut.imaging.upload import prepare_upload

    prepared = prepare_upload(data, max_bytes=MAX_UPLOAD_BYTES, max_pixels=MAX_UPLOAD_PIXELS)
    return PreparedFile(
        data=prepared.data,
        filename=_with_extension(name, prepared.extension),
        content_type=prepared.content_type,
        width=prepared.width,
        height=prepared.height,
        scale=float(prepared.scale),
    )
