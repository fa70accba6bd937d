"""The emulator's own reading of the ``output_variants`` rules (pages 01 and 03).

Written apart from ``wagtail_bgcut.variants`` on purpose: the client validates with that module,
and an emulator that shared it would accept whatever the client gets wrong. Where the pages are
silent the choice is marked INVENTED (docs/testing.md lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .exceptions import BadRequest, ValidationError

# 01: "max_resolution Default: 12,000,000 (12MP). Range: 250,000 to 25,000,000."
RESOLUTION_MIN, RESOLUTION_MAX, RESOLUTION_DEFAULT = 250_000, 25_000_000, 12_000_000
# 01: "format Default: png. Options: png (lossless), jpg (no transparency), webp".
FORMATS = ("png", "jpg", "webp")
# INVENTED: "jpeg" and any letter case are accepted as the same formats (02 lists "JPG, JPEG").
FORMAT_ALIASES = {"jpeg": "jpg"}
# 01: "quality Default: high. Options: high, medium, low".
QUALITIES = ("high", "medium", "low")
# 01 says 90, 03 says 85. INVENTED: the emulator uses 90, the overview's number.
COMPRESSION_DEFAULT = 90
# 01: "background_color Default: transparent. Hex color like #ffffff, #1A01FF";
# 03: "Omit or set to null for transparent."
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
FIELDS = {
    "variant_name",
    "max_resolution",
    "format",
    "background_color",
    "quality",
    "output_compression",
    "autocrop",
}
# INVENTED: the pages give no length limit for variant_name.
NAME_MAX = 100
# 01: "autocrop ... (+0.5 credits per variant)". INVENTED: 1 credit per variant (never priced).
PRICE_PER_VARIANT, PRICE_PER_AUTOCROP = 1.0, 0.5


@dataclass(frozen=True)
class OutputVariant:
    """One requested output, as the emulator understood it (the renderer reads these names)."""

    variant_name: str
    max_resolution: int = RESOLUTION_DEFAULT
    format: str = "png"
    background_color: str | None = None
    quality: str = "high"
    output_compression: int = COMPRESSION_DEFAULT
    autocrop: bool = False

    @property
    def has_alpha(self) -> bool:
        return self.format != "jpg" and self.background_color is None


def _invalid(name: str, field: str, message: str) -> ValidationError:
    # INVENTED: 422 ("Validation error") for an option out of range; 400 for a broken shape.
    return ValidationError(f"variant {name!r}: {field}: {message}")


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_variant(item: Any) -> OutputVariant:
    if not isinstance(item, dict):
        raise ValidationError("Each output_variants item must be an object.")
    name = item.get("variant_name")
    # 01: "variant_name *Required ... This is the only required field."
    if not isinstance(name, str) or not name.strip():
        raise _invalid(str(name), "variant_name", "is required")
    if len(name) > NAME_MAX:
        raise _invalid(name, "variant_name", f"must be at most {NAME_MAX} characters")
    unknown = sorted(set(item) - FIELDS)
    if unknown:  # INVENTED: unknown options are refused rather than ignored
        raise _invalid(name, unknown[0], "unknown option")
    resolution = item.get("max_resolution", RESOLUTION_DEFAULT)
    if not _integer(resolution) or not RESOLUTION_MIN <= resolution <= RESOLUTION_MAX:
        raise _invalid(name, "max_resolution", "must be an integer from 250000 to 25000000")
    fmt = item.get("format", "png")
    fmt = FORMAT_ALIASES.get(str(fmt).lower(), str(fmt).lower()) if isinstance(fmt, str) else fmt
    if fmt not in FORMATS:
        raise _invalid(name, "format", "must be png, jpg or webp")
    background = item.get("background_color")
    if background in (None, "", "transparent"):
        background = None
    elif not (isinstance(background, str) and HEX.match(background)):
        raise _invalid(name, "background_color", 'must be a hex colour like "#ffffff"')
    else:
        background = background.lower()
    quality = item.get("quality", "high")
    quality = quality.lower() if isinstance(quality, str) else quality
    if quality not in QUALITIES:
        raise _invalid(name, "quality", "must be high, medium or low")
    compression = item.get("output_compression", COMPRESSION_DEFAULT)
    if not _integer(compression) or not 1 <= compression <= 100:
        raise _invalid(name, "output_compression", "must be an integer from 1 to 100")
    autocrop = item.get("autocrop", False)
    if not isinstance(autocrop, bool):
        raise _invalid(name, "autocrop", "must be true or false")
    return OutputVariant(name, resolution, fmt, background, quality, compression, autocrop)


def parse_output_variants(items: Any) -> list[OutputVariant]:
    """The whole ``output_variants`` array: present, non-empty, names unique (03: else 400)."""
    if items is None:
        raise BadRequest("output_variants is required.")
    if not isinstance(items, list):
        raise BadRequest("output_variants must be an array of variant objects.")
    if not items:
        raise BadRequest("output_variants must hold at least one variant.")
    names = [i.get("variant_name") for i in items if isinstance(i, dict)]
    for name in names:
        if isinstance(name, str) and names.count(name) > 1:
            # 03: "Using the same variant_name twice in one call will return a 400 error."
            raise BadRequest(f"Duplicate variant_name: {name!r}.")
    return [parse_variant(item) for item in items]


def price(variants: list[OutputVariant], per_variant: float, per_autocrop: float) -> float:
    return sum(per_variant + (per_autocrop if v.autocrop else 0.0) for v in variants)
