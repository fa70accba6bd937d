"""What a browser upload may be, decided from the file's header before a pixel is decoded.

Direct uploads are the one door strangers can reach, so their limits sit well below the admin's:
``DIRECT_UPLOAD_MAX_PIXELS`` (never above the API's own 25 MP), ``DIRECT_UPLOAD_MAX_SIDE`` and
``DIRECT_UPLOAD_MAX_ASPECT``, plus Wagtail's own image rules (``WAGTAILIMAGES_MAX_UPLOAD_SIZE``,
``WAGTAILIMAGES_MAX_IMAGE_PIXELS``, the allowed extensions), so nothing enters the image library
through this door that the admin's upload form would refuse. Animations are refused: the engine
and the API cut one frame, and a file of thousands of frames is work nobody asked for.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image
from wagtail.images.utils import get_allowed_image_extensions

from ..api_facts import FORMAT_OF_PILLOW_NAME, MAX_UPLOAD_PIXELS, PILLOW_NAMES
from ..conf import bgcut_settings

__all__ = ["ImageRefused", "UploadFacts", "check_upload"]


class ImageRefused(ValueError):
    """The file may not come in through this door; the message is safe to show, ``status`` too."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadFacts:
    format: str  # "png", "jpg" or "webp"
    width: int  # upright (EXIF orientation applied), as a browser shows it
    height: int


def _wagtail_max_bytes() -> int | None:
    # Wagtail's default is 10 MB; None disables its check.
    return getattr(settings, "WAGTAILIMAGES_MAX_UPLOAD_SIZE", 10 * 1024 * 1024)


def _wagtail_max_pixels() -> int | None:
    return getattr(settings, "WAGTAILIMAGES_MAX_IMAGE_PIXELS", 128_000_000)


def _wagtail_extensions() -> set[str]:
    return {e.lower() for e in get_allowed_image_extensions()}


def max_pixels() -> int:
    """The public door's pixel limit: the setting, never above the API's 25 MP, nor Wagtail's."""
    limit = min(int(bgcut_settings.DIRECT_UPLOAD_MAX_PIXELS), MAX_UPLOAD_PIXELS)
    wagtail_limit = _wagtail_max_pixels()
    return min(limit, wagtail_limit) if wagtail_limit else limit


def check_upload(data: bytes) -> UploadFacts:
    """The upload's format and upright size, or :class:`ImageRefused` saying why not.

    Reads the header only: a 633-byte JPEG announcing 10000x10000, or a PNG of 1x100,000,000,
    is refused in microseconds.
    """
    if not data:
        raise ImageRefused(_("The file is empty."))
    wagtail_bytes = _wagtail_max_bytes()
    if wagtail_bytes and len(data) > wagtail_bytes:
        raise ImageRefused(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": f"{len(data) / 1e6:.1f}", "limit": f"{wagtail_bytes / 1e6:.1f}"},
            413,
        )
    limit = max_pixels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=list(PILLOW_NAMES.values()))
        except Image.DecompressionBombError:
            raise ImageRefused(
                _("The image has more than the %(limit)s pixels allowed here.")
                % {"limit": f"{limit:,}"},
                413,
            ) from None
        except Exception:
            raise ImageRefused(_("Invalid image format. Supported: PNG, JPG, JPEG, WebP")) from None
    with img:
        fmt = FORMAT_OF_PILLOW_NAME[img.format]
        width, height = img.size
        # Every limit first, from the header's size (a quarter turn changes none of them): asking
        # a PNG for its EXIF makes Pillow decode the whole image to look for a trailing chunk.
        _check_size(width, height, limit)
        # APNG and animated WebP announce their frames in the header (a GIF is not opened at all;
        # a phone's MPO JPEG has a second frame that is a depth map or preview, not an animation).
        animated = img.format in ("PNG", "WEBP") and getattr(img, "n_frames", 1) > 1
        orientation = _orientation(img)
    if animated:
        raise ImageRefused(_("Animated images are not accepted; upload a single picture."))
    allowed = _wagtail_extensions()
    if fmt not in allowed and not (fmt == "jpg" and "jpeg" in allowed):
        raise ImageRefused(_("%(format)s images are not accepted here.") % {"format": fmt.upper()})
    if orientation in (5, 6, 7, 8):  # a quarter turn: the browser shows it the other way round
        width, height = height, width
    return UploadFacts(fmt, width, height)


def _orientation(img: Image.Image) -> int | None:
    """EXIF orientation where the header holds it (JPEG, WebP, a PNG's early eXIf chunk)."""
    if img.format == "PNG" and "exif" not in img.info:
        return None
    try:
        return img.getexif().get(0x0112)
    except Exception:
        return None


def _check_size(width: int, height: int, limit: int) -> None:
    side = int(bgcut_settings.DIRECT_UPLOAD_MAX_SIDE)
    if width < 1 or height < 1:
        raise ImageRefused(_("The image has no pixels."))
    if max(width, height) > side:
        raise ImageRefused(
            _("The image is %(w)dx%(h)d; at most %(side)d pixels per side are accepted here.")
            % {"w": width, "h": height, "side": side},
            413,
        )
    aspect = max(width, height) / min(width, height)
    if aspect > float(bgcut_settings.DIRECT_UPLOAD_MAX_ASPECT):
        raise ImageRefused(
            _("The image is %(w)dx%(h)d; so long and thin a picture is not accepted here.")
            % {"w": width, "h": height}
        )
    if width * height > limit:
        raise ImageRefused(
            _("The image is %(w)dx%(h)d (%(mp)s megapixels); at most %(limit)s are accepted here.")
            % {
                "w": width,
                "h": height,
                "mp": f"{width * height / 1e6:.1f}",
                "limit": f"{limit / 1e6:g}",
            },
            413,
        )
