"""From a coarse mask to a full-size soft alpha, and from alpha to a halo-free RGBA cut-out.

Segmentation runs on a small working copy (a fraction of a megapixel) for speed. Bringing the mask
back with plain interpolation would give blurry, staircase edges that ignore the photo, so we use a
colour *guided filter* (He, Sun & Tang, 2010) whose linear coefficients are computed on a "guide"
copy of about a megapixel and then evaluated on the full image ("fast guided filter", He & Sun,
2015). Work is skipped only where its result is known exactly: the per-pixel 3x3 solve is done
where the mask changes within the filter window (elsewhere a = 0, b = the mask), and a full-size
pixel is computed only where alpha can come out between 0 and 255 (bounds from its guide
neighbours' coefficients); everywhere else alpha is plainly 0 or 255. That keeps a 12 MP alpha to
a few tens of milliseconds and a few tens of MB above the image itself. ``cv2.ximgproc`` is not
part of opencv-python-headless, hence the filter here, built on ``cv2.boxFilter``.

Edge pixels mix subject and background colours; keeping them as they are leaves a coloured fringe
("halo") when the cut-out is placed on a new background. :func:`apply_mask` re-estimates the subject
colour of every partly transparent pixel with the two-pass *blur-fusion* estimator (Forte & Pitie,
"Approximate fast foreground colour estimation", ICIP 2021), computed on the guide copy and only
evaluated at full size where alpha is strictly between 0 and 255.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    """Colour guided filter: per-pixel ``a`` (HxWx3) and ``b`` (HxW) with q = a . I + b.

    Where ``src`` is constant over a pixel's window the fit is exactly ``a = 0, b = src``, so the
    per-pixel 3x3 solve is only done where the window sees ``src`` change: around the outline, a
    few percent of the guide. Its box sums come from the bounding box of those pixels grown by
    the radius, which is exact for them (their windows lie inside it or meet the image edge).
    """
    height, width = src.shape
    size = 2 * radius + 1
    square = np.ones((size, size), np.uint8)
    changing = cv2.compare(cv2.dilate(src, square), cv2.erode(src, square), cv2.CMP_GT)
    a = np.zeros((height, width, 3), np.float32)
    b = _box(src, radius)  # the mean of src; the fit's b wherever a = 0
    ys, xs = _points(changing)
    if ys.size:
        y0, y1 = max(int(ys.min()) - radius, 0), min(int(ys.max()) + radius + 1, height)
        x0, x1 = max(int(xs.min()) - radius, 0), min(int(xs.max()) + radius + 1, width)
        p = np.ascontiguousarray(src[y0:y1, x0:x1])
        r, g, bl = cv2.split(np.ascontiguousarray(guide[y0:y1, x0:x1]))
        at = (ys - y0) * (x1 - x0) + (xs - x0)  # the changing pixels in the crop, flat
        product, boxed = np.empty_like(p), np.empty_like(p)  # reused: fresh pages cost more

        def box_at(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
            """Box sum of x (times y) at the changing pixels, plane by plane."""
            if y is not None:
                x = cv2.multiply(x, y, dst=product)
            cv2.boxFilter(x, -1, (size, size), dst=boxed, borderType=cv2.BORDER_REFLECT)
            return np.take(boxed.reshape(-1), at)

        # Box sums of I, I p and the six products of I's channels.
        m = [box_at(r), box_at(g), box_at(bl), box_at(r, p), box_at(g, p), box_at(bl, p)]
        m += [box_at(r, r), box_at(r, g), box_at(r, bl), box_at(g, g), box_at(g, bl)]
        m += [box_at(bl, bl)]
        flat = ys * width + xs
        mean_p = np.take(b.reshape(-1), flat)
        mr, mg, mb = m[0], m[1], m[2]
        cr, cg, cb = m[3] - mr * mean_p, m[4] - mg * mean_p, m[5] - mb * mean_p
        var_rr = m[6] - mr * mr + eps
        var_rg = m[7] - mr * mg
        var_rb = m[8] - mr * mb
        var_gg = m[9] - mg * mg + eps
        var_gb = m[10] - mg * mb
        var_bb = m[11] - mb * mb + eps
        # Inverse of the symmetric 3x3 covariance by cofactors, for every pixel at once.
        inv_rr = var_gg * var_bb - var_gb * var_gb
        inv_rg = var_gb * var_rb - var_rg * var_bb
        inv_rb = var_rg * var_gb - var_gg * var_rb
        inv_gg = var_rr * var_bb - var_rb * var_rb
        inv_gb = var_rb * var_rg - var_rr * var_gb
        inv_bb = var_rr * var_gg - var_rg * var_rg
        det = var_rr * inv_rr + var_rg * inv_rg + var_rb * inv_rb
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        a_r = (inv_rr * cr + inv_rg * cg + inv_rb * cb) / det
        a_g = (inv_rg * cr + inv_gg * cg + inv_gb * cb) / det
        a_b = (inv_rb * cr + inv_gb * cg + inv_bb * cb) / det
        a.reshape(-1, 3)[flat] = np.stack([a_r, a_g, a_b], axis=1)
        b.reshape(-1)[flat] = mean_p - (a_r * mr + a_g * mg + a_b * mb)
    return _box(a, radius), _box(b, radius)


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
# Bounds within which :func:`_to_alpha` surely gives 0 and 255 (it does below 0.0219, from 0.9781).
_SURELY_CLEAR = _SNAP
_SURELY_OPAQUE = 1.0 - _SNAP


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
    if (gh, gw) == (height, width):
        return _to_alpha((a * guide_f).sum(axis=2) + b)

    # At full size q = a . I + b with a and b interpolated between guide pixels. Colours are in
    # 0..1, so q at a full-size pixel lies within the lowest and highest value any colour could
    # give at its guide neighbours: where all of them are surely snapped to transparent (or all
    # to opaque) alpha is known without looking at the pixel. Only the rest, part of a band
    # around the outline, is computed per pixel (OpenCV's remap samples the coefficients).
    ones = np.ones((1, 3), np.float32)
    negative = np.minimum(a, 0)
    low = b + cv2.transform(negative, ones)
    high = b + cv2.transform(a - negative, ones)
    # The bilinear neighbours of a full-size pixel are within one guide pixel of the nearest.
    square = np.ones((3, 3), np.uint8)
    opaque = cv2.erode(cv2.compare(low, _SURELY_OPAQUE, cv2.CMP_GE), square)
    clear = cv2.erode(cv2.compare(high, _SURELY_CLEAR, cv2.CMP_LE), square)
    unsure = cv2.bitwise_not(cv2.bitwise_or(opaque, clear))
    alpha = cv2.resize(opaque, (width, height), interpolation=cv2.INTER_NEAREST)
    ys, xs = _points(cv2.resize(unsure, (width, height), interpolation=cv2.INTER_NEAREST))
    if ys.size:
        (coeffs,) = _sample([np.dstack([a, b[..., None]])], ys, xs, (height, width))
        # Colours as RGBA rows: the constant 255 of the fourth channel multiplies b.
        colours = cv2.cvtColor(_gather(rgb, ys, xs), cv2.COLOR_RGB2RGBA)
        terms = cv2.multiply(coeffs, colours, scale=1.0 / 255.0, dtype=cv2.CV_32F)
        q = cv2.transform(terms, np.ones((1, 4), np.float32))
        alpha.reshape(-1)[ys * width + xs] = _to_alpha(q.reshape(-1)[: ys.size])
    return alpha


def _points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a uint8 mask's non-zero pixels (OpenCV: 3x numpy's nonzero)."""
    found = cv2.findNonZero(mask)
    if found is None:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    found = found.reshape(-1, 2)  # (x, y) pairs; OpenCV 4 adds a middle axis, 5 does not
    return found[:, 1], found[:, 0]


_REMAP_COLS = 1024  # OpenCV's remap takes maps under 32767 a side: points go in rows of this


def _rows(values: np.ndarray, count: int) -> np.ndarray:
    """``count`` values (and their channels) as rows of ``_REMAP_COLS``, the last row padded.

    Row layout lets OpenCV's per-pixel arithmetic (multiply, transform) run on point lists.
    """
    rows = -(-count // _REMAP_COLS)
    out = np.zeros((rows * _REMAP_COLS, *values.shape[1:]), values.dtype)
    out[:count] = values
    return out.reshape(rows, _REMAP_COLS, *values.shape[1:])


def _gather(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Pixels of a full-size image at the points, in rows (see :func:`_rows`).

    A flat ``np.take`` is several times faster than indexing with two arrays.
    """
    if not image.flags.c_contiguous:  # a crop: flattening it would copy it whole
        return _rows(image[ys, xs], ys.size)
    height, width = image.shape[:2]
    flat = image.reshape(height * width, *image.shape[2:])
    return _rows(np.take(flat, ys * width + xs, axis=0), ys.size)


def _sample(
    fields: Sequence[np.ndarray], ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]
) -> list[np.ndarray]:
    """Bilinear samples of small HxWxC float32 fields (C <= 4, one size) at full-size pixel
    coordinates, one array per field.

    In rows (see :func:`_rows`). Pixel centres are aligned and edges clamped. The maps are built
    once for all fields; OpenCV's remap does the interpolation over the point list: several
    times faster than four numpy gathers and blends.
    """
    fh, fw = fields[0].shape[:2]
    height, width = shape
    count = ys.size
    map_x = np.empty(count, np.float32)
    map_y = np.empty(count, np.float32)
    np.multiply(xs + 0.5, fw / width, out=map_x, casting="unsafe")
    np.multiply(ys + 0.5, fh / height, out=map_y, casting="unsafe")
    map_x -= 0.5
    map_y -= 0.5
    np.clip(map_x, 0, fw - 1, out=map_x)
    np.clip(map_y, 0, fh - 1, out=map_y)
    rows_x, rows_y = _rows(map_x, count), _rows(map_y, count)
    return [
        cv2.remap(field, rows_x, rows_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for field in fields
    ]


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
    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    cv2.mixChannels([alpha], [out], [0, 3])  # in place: no second full-size copy
    # Transparent pixels become transparent black: the removed background must not survive in
    # the file, and constant pixels compress far better. One 32-bit word per pixel: far faster
    # than zeroing four channels through a boolean index.
    pixels = out.view(np.uint32).reshape(height, width)
    np.copyto(pixels, 0, where=alpha == 0)
    edge = cv2.inRange(alpha, 1, 254)
    if cv2.countNonZero(edge) and min(height, width) >= 2:
        guide = guide_copy(rgb) if guide is None else guide
        gh, gw = guide.shape[:2]
        guide_alpha = cv2.resize(alpha, (gw, gh), interpolation=cv2.INTER_AREA)
        fg, bg = _estimate_colours(guide, guide_alpha)
        ys, xs = _points(edge)
        f_blur, b_blur = _sample(
            [fg.astype(np.float32), bg.astype(np.float32)], ys, xs, (height, width)
        )
        alpha_at = _gather(alpha, ys, xs)
        a = alpha_at.astype(np.float32)[..., None] * (1.0 / 255.0)
        colours = _gather(rgb, ys, xs).astype(np.float32) * (1.0 / 255.0)
        f = f_blur + a * (colours - a * f_blur - (1 - a) * b_blur)
        f = np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)
        # The new colours with their alpha, written as one 32-bit word per pixel.
        rgba = cv2.cvtColor(f, cv2.COLOR_RGB2RGBA)
        rgba[..., 3] = alpha_at
        pixels.reshape(-1)[ys * width + xs] = rgba.view(np.uint32).reshape(-1)[: ys.size]
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
