"""From a coarse mask to a full-size soft alpha, and from alpha to a halo-free RGBA cut-out.

Segmentation runs on a small working copy (a fraction of a megapixel) for speed. Bringing the mask
back with plain interpolation would give blurry, staircase edges that ignore the photo, so we use a
colour *guided filter* (He, Sun & Tang, 2010) whose linear coefficients are computed on a "guide"
copy of about a megapixel and then evaluated on the full image ("fast guided filter", He & Sun,
2015). The coefficients only vary near the subject's outline, so full-size pixels are computed in
that band alone; everywhere else alpha is plainly 0 or 255. That keeps a 12 MP cut-out to a few
tens of milliseconds and a few tens of MB above the image itself. ``cv2.ximgproc`` is not part of
opencv-python-headless, hence the filter here, built on ``cv2.boxFilter``.

Edge pixels mix subject and background colours; keeping them as they are leaves a coloured fringe
("halo") when the cut-out is placed on a new background. :func:`apply_mask` re-estimates the subject
colour of every partly transparent pixel with the two-pass *blur-fusion* estimator (Forte & Pitie,
"Approximate fast foreground colour estimation", ICIP 2021), computed on the guide copy and only
evaluated at full size where alpha is strictly between 0 and 255.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

__all__ = [
    "GUIDE_PIXELS",
    "apply_mask",
    "cutout_array",
    "guide_copy",
    "guided_upsample",
    "snap_to_edges",
    "to_working_size",
]

GUIDE_PIXELS = 1_000_000
_COLOUR_PIXELS = 300_000  # colour fields are blurs: a third of a megapixel is plenty


def to_working_size(width: int, height: int, pixels: int) -> tuple[int, int]:
    """About ``pixels`` pixels with the same aspect ratio; never larger than the input."""
    if width * height <= pixels:
        return width, height
    scale = math.sqrt(pixels / (width * height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def guide_copy(rgb: np.ndarray, pixels: int = GUIDE_PIXELS) -> np.ndarray:
    """The image reduced to about ``pixels`` (area averaging), or itself when already smaller."""
    height, width = rgb.shape[:2]
    size = to_working_size(width, height, pixels)
    if size == (width, height):
        return rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def _guided_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Colour guided filter: per-pixel ``a`` (HxWx3) and ``b`` (HxW) with q = a . I + b."""
    mean_i = _box(guide, radius)
    mean_p = _box(src, radius)
    mean_ip = _box(guide * src[..., None], radius)
    cov_ip = mean_ip - mean_i * mean_p[..., None]

    r, g, b = guide[..., 0], guide[..., 1], guide[..., 2]
    mr, mg, mb = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    var_rr = _box(r * r, radius) - mr * mr + eps
    var_rg = _box(r * g, radius) - mr * mg
    var_rb = _box(r * b, radius) - mr * mb
    var_gg = _box(g * g, radius) - mg * mg + eps
    var_gb = _box(g * b, radius) - mg * mb
    var_bb = _box(b * b, radius) - mb * mb + eps

    # Inverse of the symmetric 3x3 covariance by cofactors, for every pixel at once.
    inv_rr = var_gg * var_bb - var_gb * var_gb
    inv_rg = var_gb * var_rb - var_rg * var_bb
    inv_rb = var_rg * var_gb - var_gg * var_rb
    inv_gg = var_rr * var_bb - var_rb * var_rb
    inv_gb = var_rb * var_rg - var_rr * var_gb
    inv_bb = var_rr * var_gg - var_rg * var_rg
    det = var_rr * inv_rr + var_rg * inv_rg + var_rb * inv_rb
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)

    cr, cg, cb = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    a = np.empty_like(guide)
    a[..., 0] = (inv_rr * cr + inv_rg * cg + inv_rb * cb) / det
    a[..., 1] = (inv_rg * cr + inv_gg * cg + inv_gb * cb) / det
    a[..., 2] = (inv_rb * cr + inv_gb * cg + inv_bb * cb) / det
    b_coef = mean_p - (a * mean_i).sum(axis=2)
    return _box(a, radius), _box(b_coef, radius)


def _apply(coeffs: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """q = a . I + b for coefficient rows ``[a_r, a_g, a_b, b]`` and colours in 0..1."""
    return (coeffs[..., :3] * colours).sum(axis=-1) + coeffs[..., 3]


def snap_to_edges(
    rgb: np.ndarray, mask: np.ndarray, *, iterations: int = 3, radius: int = 3, eps: float = 1e-3
) -> np.ndarray:
    """Move a binary mask's boundary onto the image's colour edges (same resolution).

    Graph cuts tend to give anti-aliased boundary pixels to the subject, a one-pixel dilation that
    costs a few IoU points; a guided filter fit thresholded at 0.5 assigns each of them by colour.
    """
    guide = rgb.astype(np.float32) / 255.0
    out = mask
    for _ in range(iterations):
        a, b = _guided_coefficients(guide, out.astype(np.float32), radius, eps)
        out = ((a * guide).sum(axis=2) + b) >= 0.5
    return out


_SNAP = 0.02  # filter output this close to 0 or 1 is noise, not translucency


def _to_alpha(q: np.ndarray) -> np.ndarray:
    """Filter output to uint8 alpha, with near-certain values snapped to fully in or out."""
    q = (q - _SNAP) * (255.0 / (1.0 - 2 * _SNAP)) + 0.5
    return np.clip(q, 0, 255).astype(np.uint8)


def guided_upsample(
    rgb: np.ndarray,
    mask: np.ndarray,
    *,
    guide: np.ndarray | None = None,
    radius: int = 4,
    eps: float = 1e-3,
) -> np.ndarray:
    """Full-size uint8 alpha from a small float mask (0..1) and the full-size uint8 RGB image.

    ``guide`` is :func:`guide_copy` of ``rgb`` when the caller already has it; ``radius`` is in
    guide pixels.
    """
    height, width = rgb.shape[:2]
    guide_u8 = guide_copy(rgb) if guide is None else guide
    gh, gw = guide_u8.shape[:2]
    guide_f = guide_u8.astype(np.float32) / 255.0
    src = mask.astype(np.float32)
    if src.shape != (gh, gw):
        src = cv2.resize(src, (gw, gh), interpolation=cv2.INTER_LINEAR)
    a, b = _guided_coefficients(guide_f, src, radius, eps)
    coeffs = np.dstack([a, b[..., None]])
    q_guide = _apply(coeffs, guide_f)
    if (gh, gw) == (height, width):
        return _to_alpha(q_guide)

    # Outside a band around the outline the coefficients are flat (a = 0, b = 0 or 1), so a plain
    # enlargement is exact there; the band gets the real per-pixel filter, evaluated in bands of
    # rows (bounded memory, OpenCV's remap instead of numpy gathers: a 12 MP image costs a few
    # hundred ms and a few tens of MB).
    alpha = cv2.resize(_to_alpha(q_guide), (width, height), interpolation=cv2.INTER_LINEAR)
    varying = ((src > 0.002) & (src < 0.998)).astype(np.uint8)
    reach = 2 * (2 * radius + 1) + 1
    band_guide = cv2.dilate(varying, np.ones((reach, reach), np.uint8))
    band = cv2.resize(band_guide, (width, height), interpolation=cv2.INTER_NEAREST)
    ys, xs = _points(band)
    if ys.size:
        c = _sample(coeffs, ys, xs, (height, width))
        colours = rgb[ys, xs].astype(np.float32)
        colours *= 1.0 / 255.0
        alpha[ys, xs] = _to_alpha(_apply(c, colours))
    return alpha


def _points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a uint8 mask's non-zero pixels (OpenCV: 3x numpy's nonzero)."""
    found = cv2.findNonZero(mask)
    if found is None:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    found = found.reshape(-1, 2)  # (x, y) pairs; OpenCV 4 adds a middle axis, 5 does not
    return found[:, 1], found[:, 0]


_REMAP_COLS = 1024  # OpenCV's remap takes maps under 32767 a side: points go in rows of this


def _sample(
    field: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Bilinear samples (N x C) of a small HxWxC float32 field at full-size pixel coordinates.

    Pixel centres are aligned and edges clamped. OpenCV's remap does the interpolation over the
    point list laid out as rows: several times faster than four numpy gathers and blends.
    """
    fh, fw = field.shape[:2]
    height, width = shape
    count = ys.size
    padded = -(-count // _REMAP_COLS) * _REMAP_COLS
    map_x = np.zeros(padded, np.float32)
    map_y = np.zeros(padded, np.float32)
    np.multiply(xs + 0.5, fw / width, out=map_x[:count], casting="unsafe")
    np.multiply(ys + 0.5, fh / height, out=map_y[:count], casting="unsafe")
    map_x -= 0.5
    map_y -= 0.5
    np.clip(map_x, 0, fw - 1, out=map_x)
    np.clip(map_y, 0, fh - 1, out=map_y)
    map_x = map_x.reshape(-1, _REMAP_COLS)
    map_y = map_y.reshape(-1, _REMAP_COLS)
    channels = field.shape[2] if field.ndim == 3 else 1
    parts = []
    for first in range(0, channels, 4):  # remap takes at most four channels
        part = np.ascontiguousarray(field[..., first : first + 4]) if field.ndim == 3 else field
        out = cv2.remap(part, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        parts.append(out.reshape(padded, -1)[:count])
    return parts[0] if len(parts) == 1 else np.hstack(parts)


def _blur(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.blur(x, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def _blur_fusion(
    image: np.ndarray, alpha: np.ndarray, radius: int, fg: np.ndarray, bg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One blur-fusion pass (all float32, 0..1): new F, and the blurred F and B it used."""
    a = alpha[..., None]
    blurred_a = _blur(alpha, radius)[..., None]
    blurred_f = _blur(fg * a, radius) / (blurred_a + 1e-5)
    blurred_b = _blur(bg * (1 - a), radius) / ((1 - blurred_a) + 1e-5)
    fg = blurred_f + a * (image - a * blurred_f - (1 - a) * blurred_b)
    return np.clip(fg, 0, 1), blurred_f, blurred_b


def _estimate_colours(guide: np.ndarray, guide_alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth subject and background colour fields on the guide copy (float32 0..1).

    The first, wide pass fills in plausible colours everywhere; the fields of the second, narrow
    pass are what the full-size correction uses. Both fields are blurs, so sampling them from a
    megapixel copy loses nothing visible.
    """
    size = to_working_size(guide.shape[1], guide.shape[0], _COLOUR_PIXELS)
    if size != (guide.shape[1], guide.shape[0]):
        guide = cv2.resize(guide, size, interpolation=cv2.INTER_AREA)
        guide_alpha = cv2.resize(guide_alpha, size, interpolation=cv2.INTER_AREA)
    small = guide.astype(np.float32) / 255.0
    small_a = guide_alpha.astype(np.float32) / 255.0
    scale = max(small.shape[:2]) / 1000.0
    # Radii as in the paper (90 then 6 px windows at 1000 px), with floors for tiny images.
    fg, _f, bg = _blur_fusion(small, small_a, max(8, round(45 * scale)), small, small)
    _fg, blurred_f, blurred_b = _blur_fusion(small, small_a, max(2, round(3 * scale)), fg, bg)
    return blurred_f, blurred_b


def cutout_array(rgb: np.ndarray, alpha: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
    """HxWx4 uint8 cut-out: see :func:`apply_mask`. ``guide`` is :func:`guide_copy` of ``rgb``."""
    height, width = alpha.shape
    # Transparent pixels become transparent black: the removed background must not survive in
    # the file, and constant pixels compress far better.
    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    out[..., 3] = alpha
    # copyTo zero-fills where the mask is 0 (10x faster than numpy's boolean assignment).
    out = cv2.copyTo(out, (alpha > 0).view(np.uint8))
    edge = cv2.inRange(alpha, 1, 254)
    if cv2.countNonZero(edge) and min(height, width) >= 2:
        guide = guide_copy(rgb) if guide is None else guide
        gh, gw = guide.shape[:2]
        guide_alpha = cv2.resize(alpha, (gw, gh), interpolation=cv2.INTER_AREA)
        fg, bg = _estimate_colours(guide, guide_alpha)
        ys, xs = _points(edge)
        sampled = _sample(np.dstack([fg, bg]).astype(np.float32), ys, xs, (height, width))
        f_blur, b_blur = sampled[:, :3], sampled[:, 3:]
        a = alpha[ys, xs].astype(np.float32)[:, None] * (1.0 / 255.0)
        colours = rgb[ys, xs].astype(np.float32) * (1.0 / 255.0)
        f = f_blur + a * (colours - a * f_blur - (1 - a) * b_blur)
        out[ys, xs, :3] = np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def apply_mask(image: Image.Image, mask: Image.Image) -> Image.Image:
    """RGBA cut-out of ``image`` with ``mask`` as alpha and edge colours freed of the background.

    Fully opaque pixels keep their exact colour; partly transparent pixels get ``F`` solving
    ``I = alpha F + (1 - alpha) B``; fully transparent ones become transparent black, so the file
    does not secretly keep the removed background. An alpha channel already in ``image`` is kept
    (the result is never more opaque than the source).
    """
    if mask.size != image.size:
        raise ValueError(f"mask is {mask.size}, image is {image.size}")
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    alpha = np.asarray(mask if mask.mode == "L" else mask.convert("L"))
    if image.mode == "RGBA":
        alpha = np.minimum(alpha, np.asarray(image.getchannel("A")))
    return Image.fromarray(cutout_array(rgb, alpha), "RGBA")
