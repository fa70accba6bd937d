"""Small real images shared by the test folders that speak to the API (emulator, contract)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

RED = (220, 20, 20)


def red_disc(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A red disc on white: an obvious subject with a plain background."""
    img = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(img).ellipse((w // 4, h // 6, 3 * w // 4, 5 * h // 6), fill=RED)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and fully load encoded image bytes (so errors surface here, not later)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img
