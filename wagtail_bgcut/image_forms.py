"""An image form base that keeps a broken file a form error in Wagtail's own upload views.

Wagtail's image field opens an upload with Willow and then asks Pillow for its size and frame
count. A truncated PNG makes Pillow raise ``struct.error`` there (and Wagtail 7.4 lets a header
bomb's ``DecompressionBombError`` escape too), so the add-image view answers 500. Sites point
``WAGTAILIMAGES_IMAGE_FORM_BASE`` at :class:`BgcutImageForm` and the same file is refused with
Wagtail's own "not a valid image" message instead.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from PIL import Image
from wagtail.images.fields import WagtailImageField
from wagtail.images.forms import BaseImageForm

__all__ = ["BgcutImageForm", "refuse_unreadable"]

# What Pillow raises while reading a damaged or hostile file's header or frames.
UNREADABLE = (
    struct.error,
    zlib.error,
    EOFError,
    OSError,
    SyntaxError,
    ValueError,
    IndexError,
    Image.DecompressionBombError,
)


def refuse_unreadable(field: WagtailImageField) -> None:
    """Make ``field.clean`` turn Pillow's read errors into the field's ``invalid_image`` error."""
    clean: Callable[..., Any] = field.clean

    @wraps(clean)
    def clean_readable(*args: Any, **kwargs: Any) -> Any:
        try:
            return clean(*args, **kwargs)
        except UNREADABLE as exc:
            raise ValidationError(
                field.error_messages["invalid_image"], code="invalid_image"
            ) from exc

    field.clean = clean_readable  # type: ignore[method-assign]


class BgcutImageForm(BaseImageForm):
    """Wagtail's ``BaseImageForm``, refusing unreadable files as a form error (never a 500).

    Set ``WAGTAILIMAGES_IMAGE_FORM_BASE = "wagtail_bgcut.image_forms.BgcutImageForm"``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("file")
        if isinstance(field, WagtailImageField):
            refuse_unreadable(field)
