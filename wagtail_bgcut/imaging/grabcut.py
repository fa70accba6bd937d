"""The built-in, model-free segmenter: OpenCV GrabCut on a small working copy.

Automatic mode seeds GrabCut with what a product or portrait photo usually looks like (see
:mod:`.priors`): the backdrop reaches the frame's border, and pixels unlike it and walled off from
it by colour edges, nearer the centre, are probably subject. Point mode (AI Cut) turns green dots
into certain subject and red dots into certain background, starting from the previous mask so
each call refines the last one.

Both work at a few hundred thousand pixels (GrabCut's cost grows with the pixel count) and return
the coarse mask; :mod:`.matting` brings it back to full size along the photo's own edges.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .matting import guide_copy, guided_upsample, snap_to_edges, to_working_size
from .priors import border_width, edge_cost, geodesic_from, lab_image, subject_prior

__all__ = ["WORKING_PIXELS", "GrabCutSegmenter", "auto_mask", "is_uniform", "point_mask"]

# Size of the copy the outline is refined on, per quality ("high" is the API's default). The
# subject itself is always found on a _COARSE_PIXELS copy first.
WORKING_PIXELS = {"high": 250_000, "medium": 160_000, "low": 90_000}
_COARSE_PIXELS = 90_000
_MIN_SIDE = 8  # below this GrabCut has nothing to learn from; the whole image is the subject


def _run_grabcut(rgb: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut with an initial label map; returns a boolean subject mask."""
    has_fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any()
    has_bg = np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()
    if not (has_fg and has_bg):
        return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    # GrabCut sees Lab with lightness halved: shadows and shading change lightness far more than
    # hue, and a cast shadow must not look like a subject. (It takes any 3-channel 8-bit image.)
    features = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    features[..., 0] = features[..., 0] // 2 + 64
    if is_uniform(features):
        # One colour (give or take noise): GrabCut has no colour model to learn and can spin for
        # ever on it; the seeds are all there is to say.
        return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    cv2.setRNGSeed(7)
    # GrabCut refuses degenerate colour models (e.g. a single-colour image); keep the seeds then.
    with contextlib.suppress(cv2.error):
        cv2.grabCut(features, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


def is_uniform(image: np.ndarray, spread: float = 2.0) -> bool:
    """True when every channel of ``image`` varies by less than ``spread`` (std) overall."""
    sample = image.reshape(-1, image.shape[-1])[
        :: max(1, image.shape[0] * image.shape[1] // 20_000)
    ]
    return bool(sample.std(axis=0).max() < spread)


def _clean(mask: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Drop specks and fill pinholes; ``keep`` limits the result to components it touches."""
    area = mask.size
    count, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    sizes = stats[1:, cv2.CC_STAT_AREA]
    if keep is not None and keep.any():
        wanted = np.unique(comp[keep & mask])
        wanted = wanted[wanted > 0]
        if wanted.size:
            return _fill_pinholes(np.isin(comp, wanted), area)
    largest = sizes.max()
    wanted = np.nonzero(sizes >= max(0.02 * largest, 0.0005 * area))[0] + 1
    return _fill_pinholes(np.isin(comp, wanted), area)


def _fill_pinholes(mask: np.ndarray, area: int) -> np.ndarray:
    inverse = (~mask).astype(np.uint8)
    _count, comp, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    small = np.nonzero(stats[1:, cv2.CC_STAT_AREA] < 0.0005 * area)[0] + 1
    if small.size:
        mask = mask | np.isin(comp, small)
    return mask


def auto_mask(rgb: np.ndarray, alpha: np.ndarray | None = None, iterations: int = 3) -> np.ndarray:
    """Boolean subject mask of a small RGB image, with no user input."""
    h, w = rgb.shape[:2]
    if min(h, w) < _MIN_SIDE:
        return alpha > 0 if alpha is not None else np.ones((h, w), bool)
    labels = _initial_labels(rgb, alpha)
    mask = _run_grabcut(rgb, labels, iterations)
    if alpha is not None:
        mask &= alpha > 0
    return _clean(mask)


def _initial_labels(
    rgb: np.ndarray, alpha: np.ndarray | None, *, hard_border: bool = True
) -> np.ndarray:
    h, w = rgb.shape[:2]
    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if alpha is not None and (alpha < 8).mean() > 0.01:
        # Already a cut-out: its transparency is certain background, the rest probably subject.
        labels[alpha >= 8] = cv2.GC_PR_FGD
        labels[alpha < 8] = cv2.GC_BGD
        return labels
    score, background = subject_prior(rgb)
    threshold, _ = cv2.threshold((score * 255).astype(np.uint8), 0, 255, cv2.THRESH_OTSU)
    labels[score * 255 > max(threshold, 40)] = cv2.GC_PR_FGD
    if hard_border:
        labels[background] = cv2.GC_BGD
    return labels


def _disc_mask(shape: tuple[int, int], points: Sequence[tuple[float, float]], radius: int):
    canvas = np.zeros(shape, np.uint8)
    for x, y in points:
        cv2.circle(canvas, (round(x), round(y)), radius, 1, thickness=-1)
    return canvas.astype(bool)


_GROW = 12.0  # geodesic reach of a dot (summed Lab edge strength): "same region, no edge crossed"


def point_mask(
    rgb: np.ndarray,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]],
    previous: np.ndarray | None = None,
    iterations: int = 3,
) -> np.ndarray:
    """Boolean subject mask from dots already scaled to the small image's pixel grid.

    Each dot claims the region it sits in (everything reachable without crossing a colour edge,
    see :func:`.priors.geodesic_from`) as probable subject or background, overriding the previous
    mask there; the dot itself is certain. GrabCut then settles the rest, and only regions holding
    a green dot are kept.
    """
    h, w = rgb.shape[:2]
    radius = max(2, round(0.012 * max(h, w)))
    green_disc = _disc_mask((h, w), green, radius)
    red_disc = _disc_mask((h, w), red, radius)
    if min(h, w) < _MIN_SIDE or (previous is None and is_uniform(rgb)):
        # Too small, or one flat colour: the green dots' region is everything (no edge to stop
        # at), minus the red dots themselves.
        base = previous if previous is not None else np.full((h, w), bool(green_disc.any()))
        return (base | green_disc) & ~red_disc
    if previous is not None:
        labels = np.where(previous, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    else:
        labels = _initial_labels(rgb, None, hard_border=not red)
    cost = edge_cost(lab_image(rgb))
    inf = np.full((h, w), np.inf, np.float32)
    g_dist = geodesic_from(cost, green_disc) if green_disc.any() else inf
    r_dist = geodesic_from(cost, red_disc) if red_disc.any() else inf
    labels[(g_dist < _GROW) & (g_dist < r_dist)] = cv2.GC_PR_FGD
    labels[(r_dist < _GROW) & (r_dist <= g_dist)] = cv2.GC_PR_BGD
    if not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        bw = border_width((h, w))
        labels[:bw] = labels[-bw:] = cv2.GC_PR_BGD
        labels[:, :bw] = labels[:, -bw:] = cv2.GC_PR_BGD
    labels[green_disc] = cv2.GC_FGD
    labels[red_disc] = cv2.GC_BGD
    mask = _run_grabcut(rgb, labels, iterations)
    mask = snap_to_edges(rgb, (mask | green_disc) & ~red_disc)
    mask = (mask | green_disc) & ~red_disc
    return _clean(mask, keep=green_disc if green_disc.any() else None)


def _refine(work: np.ndarray, coarse: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Coarse-to-fine: redo GrabCut on the larger copy, only in a band around the coarse outline.

    The coarse pass decides *what* the subject is (a small copy gives GrabCut more context per
    pixel and makes it more robust); the band pass recovers detail the small copy could not hold.
    """
    h, w = work.shape[:2]
    up = cv2.resize(coarse.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR) > 0
    reach = max(2, round(2 * w / coarse.shape[1])) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))
    inside = cv2.erode(up.astype(np.uint8), kernel).astype(bool)
    outside = ~cv2.dilate(up.astype(np.uint8), kernel).astype(bool)
    labels = np.where(up, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[inside] = cv2.GC_FGD
    labels[outside] = cv2.GC_BGD
    if alpha is not None:
        labels[alpha == 0] = cv2.GC_BGD
    mask = _run_grabcut(work, labels, 2)
    return _clean(snap_to_edges(work, mask))


def working_copy(
    rgb: np.ndarray, pixels: int, guide: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """The image reduced to about ``pixels`` (from the guide copy when that is big enough)."""
    height, width = rgb.shape[:2]
    size = to_working_size(width, height, pixels)
    if size == (width, height):
        return rgb, size
    source = guide if guide is not None and guide.shape[0] * guide.shape[1] >= pixels else rgb
    return cv2.resize(source, size, interpolation=cv2.INTER_AREA), size


@dataclass(frozen=True)
class GrabCutSegmenter:
    """Model-free automatic segmenter (the default), coarse to fine.

    GrabCut finds the subject on a 0.09 MP copy (more context per pixel: steadier decisions), then
    redoes the outline band on a larger copy, whose size ``quality`` picks (:data:`WORKING_PIXELS`;
    ``working_pixels`` overrides it: the speed benchmark refines at full resolution with it).
    """

    quality: str = "high"
    working_pixels: int | None = None

    def alpha(
        self,
        rgb: np.ndarray,
        source_alpha: np.ndarray | None = None,
        guide: np.ndarray | None = None,
    ) -> np.ndarray:
        """Full-size uint8 alpha for an HxWx3 uint8 image (arrays in, array out)."""
        pixels = self.working_pixels or WORKING_PIXELS.get(self.quality, WORKING_PIXELS["high"])
        guide = guide_copy(rgb) if guide is None else guide
        work, size = working_copy(rgb, pixels, guide)
        small_alpha = None
        if source_alpha is not None:
            small_alpha = cv2.resize(source_alpha, size, interpolation=cv2.INTER_AREA)
        coarse_pixels = min(pixels, _COARSE_PIXELS)
        coarse_work, coarse_size = working_copy(rgb, coarse_pixels, guide)
        if source_alpha is None and is_uniform(coarse_work):
            # A flat image has no subject to find: answered in milliseconds, not by GrabCut.
            return np.zeros(rgb.shape[:2], np.uint8)
        coarse_alpha = None
        if source_alpha is not None:
            coarse_alpha = cv2.resize(source_alpha, coarse_size, interpolation=cv2.INTER_AREA)
        mask = snap_to_edges(coarse_work, auto_mask(coarse_work, coarse_alpha, iterations=3))
        if coarse_size != size:
            mask = _refine(work, mask, small_alpha)
        return guided_upsample(rgb, mask, guide=guide)

    def mask(self, image: Image.Image) -> Image.Image:
        """Full-size soft ``L`` mask (255 = subject)."""
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        source_alpha = np.asarray(image.getchannel("A")) if image.mode == "RGBA" else None
        return Image.fromarray(self.alpha(rgb, source_alpha), "L")
