"""A corpus of hostile and odd image files, generated at test time (nothing binary is committed).

Each entry says what a careful door must do with it: ``refuse`` (a clear 4xx before any real work)
or ``accept`` (an odd but genuine picture that must be processed like any other). The files are
small on disk; several announce far more work than they carry, which is the point.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from tests.factories import ImageBytesFactory, encode, png_bomb


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[], bytes]
    verdict: str  # "refuse" or "accept"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_1x100m() -> bytes:
    """1 x 100,000,000 grey pixels, really compressed (about 100 KB): the reported 102 s, 5.2 GB."""
    ihdr = struct.pack(">IIBBBBB", 1, 100_000_000, 8, 0, 0, 0, 0)
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\x00\x00" * 1_000_000) for _ in range(100)) + rows.flush()
    chunks = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def jpeg_header_bomb() -> bytes:
    """A tiny real JPEG whose frame header is patched to announce 10000 x 10000 pixels."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG"))
    at = data.index(b"\xff\xc0") + 5  # SOF0: length(2) precision(1) height(2) width(2)
    data[at : at + 4] = struct.pack(">HH", 10_000, 10_000)
    return bytes(data)


def extreme_aspect() -> bytes:
    return encode(Image.new("RGB", (6000, 2), (10, 200, 10)), "PNG")


def truncated_png() -> bytes:
    data = ImageBytesFactory(squashed_ball=True)
    return data[: len(data) // 2]


def polyglot() -> bytes:
    """A genuine PNG with an HTML page and a ZIP header glued after IEND."""
    html = b"<html><script>alert(1)</script></html>"
    return ImageBytesFactory(squashed_ball=True) + html + b"PK\x03\x04" + b"\x00" * 26


def animated_gif(frames: int = 3000) -> bytes:
    images = []
    for i in range(frames):
        img = Image.new("L", (16, 16), 0)
        img.putpixel((i % 16, (i // 16) % 16), 255)  # every frame differs, so none is merged away
        images.append(img)
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=10)


def apng() -> bytes:
    frames = [Image.new("RGBA", (64, 48), (i * 40, 0, 0, 255)) for i in range(5)]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50)


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 48), (0, i * 40, 0)) for i in range(4)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)


def cmyk_jpeg() -> bytes:
    rgb = Image.open(io.BytesIO(ImageBytesFactory(squashed_ball=True)))
    return encode(rgb.convert("CMYK"), "JPEG")


def png_16bit() -> bytes:
    rgb = Image.open(io.BytesIO(ImageBytesFactory(squashed_ball=True))).convert("L")
    return encode(rgb.point(lambda v: v).convert("I;16"), "PNG")


CORPUS: list[Hostile] = [
    Hostile("zero-bytes", lambda: b"", "refuse"),
    Hostile("text-named-png", lambda: b"just some text, not an image\n", "refuse"),
    Hostile("png-header-60000x60000", png_bomb, "refuse"),
    Hostile("png-1x100000000", png_1x100m, "refuse"),
    Hostile("jpeg-header-10000x10000", jpeg_header_bomb, "refuse"),
    Hostile("extreme-aspect-6000x2", extreme_aspect, "refuse"),
    Hostile("truncated-png", truncated_png, "refuse"),
    Hostile("gif-3000-frames", animated_gif, "refuse"),
    Hostile("apng", apng, "refuse"),
    Hostile("animated-webp", animated_webp, "refuse"),
    Hostile("polyglot-png-html-zip", polyglot, "accept"),
    Hostile("cmyk-jpeg", cmyk_jpeg, "accept"),
    Hostile("png-16-bit-grey", png_16bit, "accept"),
]


def dump(folder: str) -> None:
    """Write every corpus file to ``folder`` under its name (for probes in other settings)."""
    import os

    os.makedirs(folder, exist_ok=True)
    for hostile in CORPUS:
        with open(os.path.join(folder, hostile.name), "wb") as fh:
            fh.write(hostile.make())
