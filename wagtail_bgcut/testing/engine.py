"""The emulator's bridge to the package's own local engine (``wagtail_bgcut.imaging``).

The emulator answers with real images: uploads are sniffed by their bytes (never their filename),
decoded once, cut once per quality and rendered per variant, so what a caller downloads is an
image of the kind it asked for.
"""

from __future__ import annotations

import io
from typing import Any

from .exceptions import BadRequest, PayloadTooLarge
from .state import Upload
from .validation import OutputVariant

# The API's facts as the emulator reads them from the provider's pages. Kept apart from
# wagtail_bgcut.api_facts on purpose: the client reads its limits and formats from there, and the
# emulator exists to vouch for the client, so a wrong value in that module must show up as a
# disagreement with this copy instead of being shared by both sides of every test.
# "Max 12MB" (v3) / "File size should not exceed 12MB" (v2): read as 12,000,000 bytes, the strict
# reading, so a client sending up to 12 MiB is caught here (INVENTED: the pages do not say which).
MAX_UPLOAD_BYTES = 12_000_000
FORMAT_ERROR = "Invalid image format. Supported: PNG, JPG, JPEG, WebP"
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def _imaging() -> Any:
    # Imported on first use so a broken or missing engine surfaces as a clear error on the request
    # that needs it, not as an import error of the whole emulator.
    from wagtail_bgcut import imaging

    return imaging


def sniff_format(data: bytes) -> str | None:
    """ "png", "jpeg" or "webp" from the file's magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_size(data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            "Request Entity Too Large. File size should not exceed 12MB when uploading."
        )


def decode(data: bytes) -> tuple[str, Any]:
    """Validate and decode an uploaded image: its format and the decoded PIL image."""
    if not data:
        raise BadRequest("Missing image. Send the image file in the 'image' form field.")
    check_size(data)
    fmt = sniff_format(data)
    if fmt is None:
        raise BadRequest(FORMAT_ERROR)
    try:
        image = _imaging().open_image(data)
        image.load()
    except ImportError:
        raise
    except Exception:
        raise BadRequest("Unable to process input image file.")
    return fmt, image


def cutout(upload: Upload, quality: str) -> Any:
    """The RGBA cut-out of ``upload`` at ``quality``, computed once and cached on the upload."""
    with upload.lock:
        cached = upload.cutouts.get(quality)
        if cached is None:
            cached = _imaging().remove_background(upload.image, quality=quality)
            upload.cutouts[quality] = cached
            upload.cuts += 1
        return cached


def render(cut: Any, variant: OutputVariant) -> Any:
    """One variant rendered by the engine: ``RenderedImage(data, format, content_type, ...)``."""
    return _imaging().render_variant(cut, variant)


def segment(
    upload: Upload,
    green: list[tuple[float, float]],
    red: list[tuple[float, float]],
    previous_mask: Any = None,
) -> tuple[bytes, Any]:
    """An AI Cut result as PNG bytes (the image, transparent outside the dot-selected mask), and
    the mask, which the session keeps so the next call refines it."""
    imaging = _imaging()
    mask = imaging.segment_points(upload.image, green, red, previous_mask=previous_mask)
    return encode_png(imaging.apply_mask(upload.image, mask)), mask


def encode_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_v2(
    cut: Any, *, max_pixels: int, return_type: str, alpha_only: bool
) -> tuple[bytes, str]:
    """The v2 binary answer: PNG or WebP (WEBP_100 lossless), RGBA or the alpha mask alone,
    scaled down (never up) to at most ``max_pixels``."""
    image = cut.getchannel("A") if alpha_only else cut
    width, height = image.size
    if width * height > max_pixels:
        factor = (max_pixels / (width * height)) ** 0.5
        size = (max(1, int(width * factor)), max(1, int(height * factor)))
        image = image.resize(size, _resample())
    buffer = io.BytesIO()
    if return_type == "PNG":
        image.save(buffer, format="PNG")
        return buffer.getvalue(), "image/png"
    level = 90 if return_type == "WEBP" else int(return_type.split("_", 1)[1])
    if level >= 100:
        image.save(buffer, format="WEBP", lossless=True)
    else:
        image.save(buffer, format="WEBP", quality=level)
    return buffer.getvalue(), "image/webp"


def _resample() -> Any:
    from PIL import Image  # on first use, as the engine itself (see _imaging)

    return Image.Resampling.LANCZOS
