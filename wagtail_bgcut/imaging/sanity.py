"""Is a cut-out plausible? Nothing kept, everything kept or a speck kept is almost always a failure.

The engines answer "done" whatever they return; an editor must not learn from the published page
that the subject vanished. The share of opaque pixels is measured once, when the cut-out is stored,
and the verdict is shown wherever the cut-out can be used.
"""

from __future__ import annotations

import io

from PIL import Image

__all__ = ["EMPTY", "FULL", "TINY", "kept_fraction", "verdict"]

EMPTY, FULL, TINY = "empty", "full", "tiny"

# Below / above these shares of opaque pixels a result is flagged.
EMPTY_BELOW = 0.002
TINY_BELOW = 0.02
FULL_ABOVE = 0.995
# An alpha at or above this counts as kept (half-transparent hair does not make a subject).
OPAQUE_FROM = 128


def kept_fraction(data: bytes) -> float | None:
    """The share (0..1) of pixels kept in a cut-out file; None when it has no transparency."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.mode not in ("RGBA", "LA", "PA") and "transparency" not in picture.info:
                return None  # a cut-out flattened on a colour: nothing to measure
            alpha = picture.convert("RGBA").getchannel("A")
            histogram = alpha.histogram()
    except (OSError, ValueError):
        return None
    total = sum(histogram)
    return sum(histogram[OPAQUE_FROM:]) / total if total else None


def verdict(fraction: float | None) -> str:
    """``EMPTY``, ``TINY``, ``FULL`` or ``""`` (plausible, or not measurable)."""
    if fraction is None:
        return ""
    if fraction < EMPTY_BELOW:
        return EMPTY
    if fraction < TINY_BELOW:
        return TINY
    if fraction > FULL_ABOVE:
        return FULL
    return ""
