"""Safe image loading: refuse bombs before decoding, show pixels the way a viewer displays them.

Every entry point of the engine goes through :func:`open_image`, so the rest of the code can assume
a fully decoded 8-bit ``RGB`` or ``RGBA`` image whose pixel grid matches what the user saw on screen
(AI Cut dots are given in displayed pixels, so EXIF orientation must already be applied).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import DecompressionBomb, UnsupportedImage

__all__ = ["ALLOWED_FORMATS", "DEFAULT_MAX_PIXELS", "ImageSource", "open_image", "read_header"]

DEFAULT_MAX_PIXELS = 100_000_000
# Longest side over shortest side; panoramas and banners stay well under it.
MAX_ASPECT = 100

# Raster formats people actually upload. Anything else (EPS would run Ghostscript, for example) is
# refused before a decoder is chosen.
ALLOWED_FORMATS = (
    "PNG",
    "JPEG",  # also opens MPO: phone JPEGs with a depth/preview frame (the first frame is the photo)
    "WEBP",
    "GIF",
    "TIFF",
    "BMP",
    "AVIF",
    "HEIF",
    "PPM",
    "TGA",
    "ICO",
)

ImageSource = bytes | bytearray | memoryview | BinaryIO | str | os.PathLike | Image.Image

_heif_registered = False


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF when pillow-heif is installed (Wagtail usually brings it)."""
    global _heif_registered
    if _heif_registered:
        return
    _heif_registered = True
    try:
        # Optional: pillow-heif is not our dependency (Wagtail usually brings it).
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def _known_formats() -> list[str]:
    Image.init()
    return [name for name in ALLOWED_FORMATS if name in Image.OPEN]


def _as_stream(source: ImageSource) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as fh:
                return io.BytesIO(fh.read())
        except OSError as exc:
            raise UnsupportedImage(f"Cannot read the image file: {exc.strerror or exc}.") from exc
    if hasattr(source, "read"):
        return source  # type: ignore[return-value]
    raise UnsupportedImage(f"Cannot read an image from a {type(source).__name__}.")


def read_header(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open lazily (header only) and refuse bombs; pixels are NOT decoded yet."""
    _register_heif()
    stream = _as_stream(source)
    with warnings.catch_warnings():
        # Our own limit below replaces Pillow's warning; its hard error is mapped to ours.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(stream, formats=_known_formats())
        except Image.DecompressionBombError as exc:
            # Pillow's own hard limit (twice MAX_IMAGE_PIXELS) fired while reading the header.
            found = re.search(r"\((\d+) pixels\)", str(exc))
            raise DecompressionBomb(None, None, max_pixels, int(found[1]) if found else 0) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UnsupportedImage(
                "The file is not an image in a supported format "
                "(PNG, JPEG, WebP, GIF, TIFF, BMP, AVIF or HEIC)."
            ) from exc
    width, height = img.size
    if width < 1 or height < 1:
        raise UnsupportedImage("The image has no pixels.")
    if width * height > max_pixels:
        img.close()
        raise DecompressionBomb(width, height, max_pixels)
    if max(width, height) / min(width, height) > MAX_ASPECT:
        # 1 x 100,000,000 is "only" 100 MP, yet no photo: every per-row step of the engine would
        # run a hundred million times.
        img.close()
        raise UnsupportedImage(f"The image is {width}x{height}: too long and thin to cut out.")
    return img


def open_image(
    source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS, copy: bool = True
) -> Image.Image:
    """Decode ``source`` into a fully loaded 8-bit ``RGB`` or ``RGBA`` image, displayed upright.

    - more than ``max_pixels`` pixels: :class:`DecompressionBomb`, decided from the header alone;
    - corrupt, truncated or unknown data: :class:`UnsupportedImage`;
    - animations (GIF, APNG, animated WebP): the first frame;
    - EXIF orientation applied, so coordinates match what a browser shows;
    - CMYK, palette, 1-bit, grey, LA, 16-bit and float images become ``RGB``/``RGBA``;
      alpha is kept whenever the source has any (palette transparency included).

    A ``PIL.Image.Image`` is accepted too (it is never modified; a new image is returned, unless
    ``copy=False`` and it needs no conversion: callers that only read it save a full-size copy).
    """
    if isinstance(source, Image.Image):
        width, height = source.size
        if width * height > max_pixels:
            raise DecompressionBomb(width, height, max_pixels)
        img = source
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UnsupportedImage("The image data is corrupt or truncated.") from exc
        result = _normalise(_upright(img))
        return result.copy() if result is source and copy else result

    img = read_header(source, max_pixels=max_pixels)
    try:
        with img:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.seek(0)
                img.load()
            result = _normalise(_upright(img))
            if result is img:
                result = img.copy()  # detach from the (about to close) file handle
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise UnsupportedImage("The image data is corrupt or truncated.") from exc
    return result


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a broken EXIF block is ignored, not fatal."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:
        return img
    if orientation in (None, 1):
        return img
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        return img


def has_transparency(img: Image.Image) -> bool:
    """Whether the (normalised) image has at least one pixel that is not fully opaque."""
    if img.mode != "RGBA":
        return False
    lo, _hi = img.getchannel("A").getextrema()
    return lo < 255


def _normalise(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img
    if mode == "CMYK":
        return _cmyk_to_rgb(img)
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in img.info or img.palette.mode == "RGBA"
        return img.convert("RGBA" if alpha else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode in ("1", "L", "RGBX", "YCbCr", "LAB", "HSV"):
        if mode == "L" and "transparency" in img.info:
            return img.convert("RGBA")
        return img.convert("RGB")
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(img)), "L").convert("RGB")
    try:
        return img.convert("RGBA" if "A" in mode else "RGB")
    except (ValueError, OSError) as exc:
        raise UnsupportedImage(f"Images in mode {mode} are not supported.") from exc


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale 16-bit, 32-bit and float grey levels to 0..255 (floats in 0..1 are stretched)."""
    arr = arr.astype(np.float64, copy=False)
    if arr.size == 0:
        return arr.astype(np.uint8)
    high = float(np.nanmax(arr))
    if np.issubdtype(arr.dtype, np.floating) and high <= 1.0:
        arr = arr * 255.0
    elif high > 255:
        arr = arr / 257.0
    return np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """Use the embedded ICC profile when there is one; Pillow's naive formula otherwise."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return img.convert("RGB")
