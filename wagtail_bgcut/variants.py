"""Output variants exactly as BackgroundCut's ``output_variants`` spell them.

This module is the single source of truth for what a variant may say; the numbers it checks against
are the provider's, from :mod:`wagtail_bgcut.api_facts`. It has no dependency on Django, HTTP or
Pillow, so the client (validation before any request), the imaging code (rendering), the emulator
(server-side validation) and the Django settings checks all share it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .api_facts import (
    COMPRESSION_RANGE,
    CREDITS_PER_AUTOCROP,
    CREDITS_PER_VARIANT,
    DEFAULT_COMPRESSION,
    DEFAULT_MAX_RESOLUTION,
    FORMAT_SPELLINGS,
    MAX_RESOLUTION_RANGE,
    QUALITIES,
)
from .api_facts import OUTPUT_FORMATS as FORMATS
from .exceptions import BgcutError

__all__ = [
    "FORMATS",
    "MAX_RESOLUTION_RANGE",
    "QUALITIES",
    "InvalidVariant",
    "Variant",
    "estimate_credits",
    "parse_variants",
]

# FORMATS, QUALITIES, MAX_RESOLUTION_RANGE, COMPRESSION_RANGE, the defaults and the credit prices
# are the API's facts, re-exported from api_facts under the names callers already use. The pages
# disagree on the compression default, so every variant sends an explicit value.
TRANSPARENT_SPELLINGS = (None, "transparent", "")
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KNOWN_FIELDS = frozenset(
    {
        "variant_name",
        "max_resolution",
        "format",
        "background_color",
        "quality",
        "output_compression",
        "autocrop",
        "extra",
    }
)


class InvalidVariant(BgcutError, ValueError):
    """A variant option is missing or out of range; ``field`` names the offending option.

    Part of :class:`~wagtail_bgcut.exceptions.BgcutError` (never ``retryable``: the same options
    fail the same way) and still a ``ValueError``, as argument errors are.
    """

    def __init__(self, field: str, message: str, *, variant_name: str | None = None):
        self.field = field
        self.variant_name = variant_name
        where = f"variant {variant_name!r}: " if variant_name else ""
        super().__init__(f"{where}{field}: {message}")


@dataclass(frozen=True)
class Variant:
    """One validated output variant. Build it with :meth:`from_dict` to get validation."""

    variant_name: str
    max_resolution: int = DEFAULT_MAX_RESOLUTION
    format: Literal["png", "jpg", "webp"] = "png"
    background_color: str | None = None  # None means transparent; otherwise "#rrggbb"
    quality: Literal["high", "medium", "low"] = "high"
    output_compression: int = DEFAULT_COMPRESSION
    autocrop: bool = False
    # Options the provider added after this package: canonical JSON, so the variant stays hashable.
    extra_json: str = ""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def extra(self) -> dict[str, Any]:
        """Options sent verbatim in the ``output_variants`` item, never checked (``esp_extra``)."""
        return json.loads(self.extra_json) if self.extra_json else {}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str | None = None) -> Variant:
        """Validate a mapping spelled like the API's ``output_variants`` items.

        ``name`` supplies ``variant_name`` (settings presets are keyed by name). A preset's variant
        is always named after the preset, end to end: the token, ``output_urls`` and finalize all
        use that one name, so a mapping that sets a *different* ``variant_name`` is refused here
        rather than failing after the provider has been paid. Unknown keys are refused so a typo
        in a preset never falls back to a default.
        """
        if not isinstance(data, Mapping):
            raise InvalidVariant("variant", f"must be an object, not {type(data).__name__}")
        unknown = sorted(set(data) - _KNOWN_FIELDS)
        label = data.get("variant_name") or name
        if unknown:
            raise InvalidVariant(unknown[0], "unknown option", variant_name=label)
        values = dict(data)
        if name is not None:
            given = values.get("variant_name")
            if given not in (None, "", name):
                raise InvalidVariant(
                    "variant_name",
                    f"must be left out or equal the preset name {name!r}, not {given!r}",
                    variant_name=name,
                )
            values["variant_name"] = name
        if "variant_name" not in values:
            raise InvalidVariant("variant_name", "is required")
        background = values.get("background_color")
        if background in TRANSPARENT_SPELLINGS:
            values["background_color"] = None
        elif isinstance(background, str) and _HEX_COLOUR.match(background):
            values["background_color"] = background.lower()
        if isinstance(values.get("format"), str):
            fmt = values["format"].lower()
            values["format"] = FORMAT_SPELLINGS.get(fmt, fmt)
        if isinstance(values.get("quality"), str):
            values["quality"] = values["quality"].lower()
        if "extra" in values:
            values["extra_json"] = _extra_json(values.pop("extra"), label)
        return cls(**values)

    def to_api(self) -> dict[str, Any]:
        """Every option explicit, transparency spelled out; ``extra`` nested (``from_dict`` reads
        it back). The API receives :meth:`output_variant`."""
        data = asdict(self)
        extra_json = data.pop("extra_json")
        if data["background_color"] is None:
            data["background_color"] = "transparent"
        if extra_json:
            data["extra"] = json.loads(extra_json)
        return data

    def output_variant(self) -> dict[str, Any]:
        """The ``output_variants`` item sent to the API: :meth:`to_api` with ``extra`` merged in."""
        data = self.to_api()
        data.update(data.pop("extra", {}))
        return data

    def options_key(self) -> str:
        """A stable hash of everything that changes the output (the name does not)."""
        options = self.to_api()
        options.pop("variant_name")
        blob = json.dumps(options, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    @property
    def has_alpha(self) -> bool:
        """Whether the rendered file keeps transparency (jpg never does, a background fills it)."""
        return self.format != "jpg" and self.background_color is None

    @property
    def credits(self) -> float:
        return CREDITS_PER_VARIANT + (CREDITS_PER_AUTOCROP if self.autocrop else 0.0)


def _extra_json(extra: Any, name: str | None) -> str:
    """``extra`` as canonical JSON ("" when empty); its shape is checked, never its meaning."""
    if extra is None:
        return ""
    if not isinstance(extra, Mapping):
        raise InvalidVariant("extra", "must be an object of option -> value", variant_name=name)
    clashes = sorted(str(k) for k in extra if not isinstance(k, str) or k in _KNOWN_FIELDS)
    if clashes:
        raise InvalidVariant(
            "extra",
            f"{clashes[0]!r} is not an extra option (set it outside 'extra')",
            variant_name=name,
        )
    try:
        blob = json.dumps(dict(extra), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidVariant(
            "extra", f"must be plain JSON, it is sent as is ({exc})", variant_name=name
        ) from exc
    return "" if blob == "{}" else blob


def _validate(v: Variant) -> None:
    name = v.variant_name
    if not isinstance(name, str) or not name.strip():
        raise InvalidVariant("variant_name", "is required and must be a non-empty string")
    if len(name) > 100:
        raise InvalidVariant("variant_name", "must be at most 100 characters", variant_name=name)
    low, high = MAX_RESOLUTION_RANGE
    if isinstance(v.max_resolution, bool) or not isinstance(v.max_resolution, int):
        raise InvalidVariant("max_resolution", "must be an integer", variant_name=name)
    if not low <= v.max_resolution <= high:
        raise InvalidVariant(
            "max_resolution", f"must be between {low:,} and {high:,} pixels", variant_name=name
        )
    if v.format not in FORMATS:
        raise InvalidVariant("format", f"must be one of {', '.join(FORMATS)}", variant_name=name)
    if v.background_color is not None and not (
        isinstance(v.background_color, str) and _HEX_COLOUR.match(v.background_color)
    ):
        raise InvalidVariant(
            "background_color",
            'must be a hex colour like "#ffffff", "transparent" or null',
            variant_name=name,
        )
    if v.quality not in QUALITIES:
        raise InvalidVariant("quality", f"must be one of {', '.join(QUALITIES)}", variant_name=name)
    low, high = COMPRESSION_RANGE
    if (
        isinstance(v.output_compression, bool)
        or not isinstance(v.output_compression, int)
        or not low <= v.output_compression <= high
    ):
        raise InvalidVariant(
            "output_compression", f"must be an integer from {low} to {high}", variant_name=name
        )
    if not isinstance(v.autocrop, bool):
        raise InvalidVariant("autocrop", "must be true or false", variant_name=name)


def parse_variants(items: Iterable[Variant | Mapping[str, Any]]) -> list[Variant]:
    """Validate a whole ``output_variants`` list: at least one item, names unique."""
    variants = [i if isinstance(i, Variant) else Variant.from_dict(i) for i in items]
    if not variants:
        raise InvalidVariant("output_variants", "at least one variant is required")
    seen: set[str] = set()
    for v in variants:
        if v.variant_name in seen:
            raise InvalidVariant(
                "variant_name", "is used twice in one request", variant_name=v.variant_name
            )
        seen.add(v.variant_name)
    return variants


def estimate_credits(variants: Iterable[Variant]) -> float:
    """Credits one remove-bg call with these variants costs (see ``api_facts`` for the prices)."""
    return sum(v.credits for v in variants)
