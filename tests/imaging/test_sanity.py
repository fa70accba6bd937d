"""Result sanity: the share of kept pixels, and which results an editor must be warned about."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from wagtail_bgcut.imaging.sanity import EMPTY, FULL, TINY, kept_fraction, verdict


def png(kept_box: tuple[int, int, int, int] | None, size=(100, 100), mode="RGBA") -> bytes:
    picture = Image.new(mode, size, (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    if kept_box:
        picture.paste((200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30), kept_box)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("box", "fraction", "expected"),
    [
        (None, 0.0, EMPTY),
        ((0, 0, 1, 1), 0.0001, EMPTY),
        ((0, 0, 10, 10), 0.01, TINY),
        ((20, 20, 70, 70), 0.25, ""),
        ((0, 0, 100, 100), 1.0, FULL),
    ],
)
def test_kept_share_and_verdict(box, fraction, expected):
    measured = kept_fraction(png(box))
    assert measured == pytest.approx(fraction)
    assert verdict(measured) == expected


def test_a_cutout_without_transparency_is_not_judged():
    assert kept_fraction(png((0, 0, 10, 10), mode="RGB")) is None
    assert verdict(None) == ""


def test_unreadable_bytes_are_not_judged():
    assert kept_fraction(b"not an image") is None
