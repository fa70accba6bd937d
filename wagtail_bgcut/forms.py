"""Admin forms: choosing a preset, and checking AI Cut dots sent by the browser.

Dots arrive as JSON from the editor; they are validated here (numbers, inside the image, a sane
count) so a hostile or broken request gets a clear 400, never a crash in the engine.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .presets import all_presets, preset_labels

MAX_DOTS = 200
MAX_BODY_BYTES = 64 * 1024


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def preset_choices() -> list[tuple[str, str]]:
    return list(preset_labels().items())


def default_preset() -> str:
    names = list(all_presets())
    return "full" if "full" in names else (names[0] if names else "")


class PresetForm(forms.Form):
    """The preset an editor wants a cut-out for."""

    preset = forms.ChoiceField(label=_("Preset"), choices=())

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = preset_choices()
        self.fields["preset"].initial = default_preset()


class BulkRemoveBackgroundForm(PresetForm):
    """The bulk action's form: a preset, with the credits each preset would cost shown beside it."""

    def __init__(self, *args: Any, estimates: dict[str, float] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if estimates is not None:
            labels = preset_labels()
            self.fields["preset"].choices = [
                (
                    name,
                    _("%(preset)s (about %(credits)s credits)")
                    % {"preset": labels.get(name, name), "credits": _fmt(c)},
                )
                for name, c in estimates.items()
            ]


def _fmt(value: float) -> str:
    return f"{value:g}"


class InvalidDots(ValueError):
    """The dots payload is malformed; the message is safe to show."""


@dataclass(frozen=True)
class Dots:
    green: list[tuple[int, int]]
    red: list[tuple[int, int]]
    request_number: int


def _points(value: Any, width: int, height: int, label: str) -> list[tuple[int, int]]:
    if not isinstance(value, list):
        raise InvalidDots(gettext("%(label)s must be a list of [x, y] pairs.") % {"label": label})
    points = []
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in item
            )
        ):
            raise InvalidDots(
                gettext("%(label)s must be a list of [x, y] pairs.") % {"label": label}
            )
        x, y = round(item[0]), round(item[1])
        if not (0 <= x < width and 0 <= y < height):
            raise InvalidDots(gettext("A %(label)s dot lies outside the image.") % {"label": label})
        points.append((x, y))
    return points


def parse_dots(body: bytes, width: int, height: int) -> Dots:
    """Dots from a JSON request body ``{"green": [[x, y]...], "red": [...], "request_number": n}``.

    Coordinates are in the original image's pixels.
    """
    if len(body or b"") > MAX_BODY_BYTES:
        raise InvalidDots(gettext("The request is too large."))
    try:
        # NaN and Infinity are valid to Python's json, not to JSON: refuse them.
        data = json.loads(body or b"{}", parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidDots(gettext("The request body is not JSON."))
    if not isinstance(data, dict):
        raise InvalidDots(gettext("The request body must be a JSON object."))
    green = _points(data.get("green", []), width, height, "green")
    red = _points(data.get("red", []), width, height, "red")
    if len(green) + len(red) > MAX_DOTS:
        raise InvalidDots(gettext("At most %(max)d dots are allowed.") % {"max": MAX_DOTS})
    number = data.get("request_number", 0)
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**31:
        raise InvalidDots(gettext("request_number must be a non-negative integer."))
    return Dots(green, red, number)
