"""Where the subject probably is, before any user input: two cues from the frame's border.

Product shots and portraits put the subject in the middle of a background that reaches the border.
Two complementary cues measure "unlike the border":

- colour: distance to the border's dominant colours (k-means in Lab). Good for plain and textured
  backgrounds, blind to a backdrop whose colour drifts (a spotlight, a vignette);
- geodesic: the cheapest path to the border when only colour *steps* (not slow drifts) cost
  something. Good for gradients and spotlights, blind to textures (every texture edge costs).

A pixel is background when either cue says so, so the prior is their minimum (softened for the
colour cue on smooth backdrops, see :func:`subject_prior`). Lightness counts half in the colour
distance: shading and cast shadows change lightness more than hue. Which part of the border is
backdrop at all is decided first (:func:`background_border`): subjects cut by the frame exist.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "background_border",
    "border_width",
    "colour_score",
    "edge_cost",
    "geodesic_distance",
    "geodesic_from",
    "lab_image",
    "subject_prior",
]


def border_width(shape: tuple[int, int]) -> int:
    return max(2, round(0.015 * min(shape)))


def lab_image(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (0, 0), 1.0), cv2.COLOR_RGB2LAB)
    return lab.astype(np.float32)


def _border_pixels(lab: np.ndarray) -> np.ndarray:
    bw = border_width(lab.shape[:2])
    return np.concatenate(
        [
            lab[:bw].reshape(-1, 3),
            lab[-bw:].reshape(-1, 3),
            lab[:, :bw].reshape(-1, 3),
            lab[:, -bw:].reshape(-1, 3),
        ]
    )


def _min_dist(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    dist = np.full(points.shape[0], np.inf, np.float32)
    for centre in centres:
        dist = np.minimum(dist, np.linalg.norm(points - centre, axis=1))
    return dist


def _colour_model(points: np.ndarray, k: int = 6) -> tuple[np.ndarray, float]:
    """k-means centres of ``points`` (subsampled) and their 90th-percentile spread."""
    if len(points) > 4000:
        points = points[:: len(points) // 4000 + 1]
    k = max(1, min(k, len(points)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(7)
    _c, _labels, centres = cv2.kmeans(
        np.ascontiguousarray(points, np.float32), k, None, criteria, 2, cv2.KMEANS_PP_CENTERS
    )
    return centres, float(np.percentile(_min_dist(points, centres), 90))


def _clean_line(line: np.ndarray, length: int) -> np.ndarray:
    """Close then open a 1-D boolean run so texture speckle does not flip single pixels."""
    size = max(3, length // 30) | 1
    kernel = np.ones((1, size), np.uint8)
    row = line.astype(np.uint8)[None, :]
    row = cv2.morphologyEx(row, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    row = cv2.morphologyEx(row, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    # Keep clear of where a subject crosses the edge: a seed inside the subject would make the
    # whole subject "connected to the backdrop".
    row = cv2.erode(row, kernel, borderType=cv2.BORDER_REPLICATE)
    return row[0].astype(bool)


_WALK_TAU = 1.5  # Lab units per border pixel a smooth drift may change by, free
_WALK_REACH = 8.0  # summed excess over _WALK_TAU: one real colour step stops the walk


def _walk(line: np.ndarray, start: int | np.ndarray) -> np.ndarray:
    """Border pixels reached from the seeds along ``line`` (Nx3 Lab) without a colour step.

    ``start`` is either a count (the first ``start`` entries are seeds) or a boolean seed array.
    The walk is a 1-D geodesic distance: each step costs its colour change beyond
    ``_WALK_TAU``; entries within ``_WALK_REACH`` of a seed are reached.
    """
    n = line.shape[0]
    seeds = np.zeros(n, bool)
    if isinstance(start, np.ndarray):
        seeds[:] = start
    else:
        seeds[: max(1, start)] = True
    step = np.zeros(n, np.float32)
    step[1:] = np.maximum(0.0, np.linalg.norm(np.diff(line, axis=0), axis=1) - _WALK_TAU)
    dist = np.where(seeds, 0.0, np.inf)[None, :].astype(np.float32)
    dist = _scan(dist, step[None, :])  # forwards
    back = np.concatenate([step[1:], [0.0]])[::-1]  # stepping from i+1 to i costs step[i+1]
    dist = np.minimum(dist, _scan(dist[:, ::-1], back[None, :])[:, ::-1])
    return dist[0] < _WALK_REACH


def background_border(lab: np.ndarray, min_spread: float = 6.0) -> np.ndarray:
    """Border pixels that are background (HxW bool), allowing for subjects cut by the frame.

    Photos have gravity: a portrait or a product is cut by the bottom edge (and the lower sides),
    hardly ever by the top. The top edge and the upper halves of the sides define the backdrop's
    colours; any border pixel matching them is background. The rest of the border is left to the
    segmenter, except when it spans the whole bottom edge: that is a floor or a table, not a
    subject (a bust as wide as the frame is the case this rule gets wrong).
    """
    h, w = lab.shape[:2]
    bw = border_width((h, w))
    half = h // 2
    reference = np.concatenate(
        [
            lab[:bw].reshape(-1, 3),
            lab[:half, :bw].reshape(-1, 3),
            lab[:half, -bw:].reshape(-1, 3),
        ]
    )
    centres, spread = _colour_model(reference)
    limit = 2.5 * max(min_spread, spread)

    def matches(strip: np.ndarray, axis: int) -> np.ndarray:
        line = strip.mean(axis=axis)  # average across the border's width
        return _clean_line(_min_dist(line.reshape(-1, 3), centres) < limit, line.shape[0])

    out = np.zeros((h, w), bool)
    out[:bw] = True
    bottom_line = lab[-bw:].mean(axis=0)
    left_line = lab[:, :bw].mean(axis=1)
    right_line = lab[:, -bw:].mean(axis=1)
    bottom = matches(lab[-bw:], 0)
    left = matches(lab[:, :bw], 1)
    right = matches(lab[:, -bw:], 1)
    left[: half // 2] = right[: half // 2] = True  # the upper sides are backdrop by definition
    # A backdrop that drifts (a studio gradient, a vignette, a floor lit unevenly) no longer
    # matches the top's colours at the bottom, yet it is reached from the top along the border
    # without crossing a colour step; a subject cut by the frame starts with one.
    left |= _walk(left_line, half // 2)
    right |= _walk(right_line, half // 2)
    seeds = np.zeros(w, bool)
    seeds[0], seeds[-1] = left[-1], right[-1]
    if seeds.any():
        bottom |= _walk(bottom_line, seeds)
    if not bottom.any() and h >= 16:
        # Nothing on the bottom edge looks like the backdrop: a floor spanning the frame. Its
        # colours join the backdrop's, for the lower sides too.
        floor_centres, floor_spread = _colour_model(lab[-bw:].reshape(-1, 3))
        floor_limit = 2.5 * max(min_spread, floor_spread)
        bottom[:] = True
        for side, strip in ((left, lab[:, :bw]), (right, lab[:, -bw:])):
            line = strip.mean(axis=1)
            side |= _clean_line(_min_dist(line, floor_centres) < floor_limit, h)
    out[-bw:] |= bottom[None, :]
    out[:, :bw] |= left[:, None]
    out[:, -bw:] |= right[:, None]
    return out


def colour_score(
    lab: np.ndarray, background: np.ndarray | None = None, min_spread: float = 6.0
) -> np.ndarray:
    """0..1: how far each pixel's colour is from the background border's dominant colours."""
    h, w = lab.shape[:2]
    lab = lab * np.array([0.5, 1.0, 1.0], np.float32)  # shading changes lightness, not hue
    border = lab[background] if background is not None and background.any() else None
    if border is None:
        border = _border_pixels(lab)
    centres, spread = _colour_model(border)
    dist = _min_dist(lab.reshape(-1, 3), centres)
    # The background's own spread (how far border pixels are from their centres) sets the scale,
    # with a floor so JPEG noise on a flat backdrop does not look like subject.
    spread = max(min_spread, spread)
    return (1.0 - np.exp(-((dist / (2.0 * spread)) ** 2))).reshape(h, w).astype(np.float32)


def _scan(dist: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """One left-to-right min-plus pass over every row at once.

    ``cost[:, j]`` is the price of stepping into column j. Unrolling
    d[j] = min(d[j], d[j-1] + cost[j]) gives d[j] = C[j] + min_{k<=j}(d[k] - C[k]) with C the
    running sum of costs, i.e. a cumulative sum and a cumulative minimum: no Python loop.
    """
    running = np.cumsum(cost, axis=1, dtype=np.float64)
    return (running + np.minimum.accumulate(dist - running, axis=1)).astype(np.float32)


def _edge_strength(lab: np.ndarray) -> np.ndarray:
    """Colour gradient magnitude per pixel (Lab units per pixel, central differences)."""
    gx = np.zeros_like(lab)
    gy = np.zeros_like(lab)
    gx[:, 1:-1] = (lab[:, 2:] - lab[:, :-2]) * 0.5
    gy[1:-1] = (lab[2:] - lab[:-2]) * 0.5
    return np.sqrt((gx * gx + gy * gy).sum(axis=2))


def edge_cost(lab: np.ndarray, tau: float = 3.0) -> np.ndarray:
    """Price of entering each pixel: max(0, its colour edge strength - tau)."""
    return np.maximum(0.0, _edge_strength(lab) - tau).astype(np.float32)


def geodesic_from(cost: np.ndarray, seeds: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Cheapest summed ``cost`` of a 4-connected path from any ``seeds`` pixel to each pixel.

    Alternating row and column scans converge to the exact distance in a few rounds for the
    compact shapes that matter here (a path needing many turns against the scan order may stay
    slightly over-estimated, which only makes the prior more cautious).
    """
    cost_t = np.ascontiguousarray(cost.T)
    dist = np.where(seeds, 0.0, np.inf).astype(np.float32)
    for _ in range(rounds):
        dist = _scan(dist, cost)
        dist = _scan(dist[:, ::-1], cost[:, ::-1])[:, ::-1]
        dist_t = _scan(np.ascontiguousarray(dist.T), cost_t)
        dist = _scan(dist_t[:, ::-1], cost_t[:, ::-1])[:, ::-1].T
    return np.ascontiguousarray(dist)


def geodesic_distance(
    lab: np.ndarray, seeds: np.ndarray | None = None, tau: float = 3.0, rounds: int = 3
) -> np.ndarray:
    """Distance to the frame border where entering a pixel costs max(0, edge strength - tau).

    Slow drifts (gradients, vignettes) stay under ``tau`` and cost nothing; the edge of a subject
    costs about its colour contrast. The cost belongs to the pixel, not to the step, so a path
    cannot sneak in by creeping along an anti-aliased edge in many small steps.
    """
    if seeds is None:
        h, w = lab.shape[:2]
        seeds = np.zeros((h, w), bool)
        bw = border_width((h, w))
        seeds[:bw] = seeds[-bw:] = True
        seeds[:, :bw] = seeds[:, -bw:] = True
    return geodesic_from(edge_cost(lab, tau), seeds, rounds)


def subject_prior(rgb: np.ndarray, geodesic_scale: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """(prior 0..1 weighted towards the centre, background part of the border) for a small image.

    On a smooth backdrop (plain, gradient, vignette: almost no border pixel costs anything to
    cross) being walled off by colour edges counts even in a colour close to the backdrop's. On a
    textured one every texture edge is a wall, so the colour cue must fully agree.
    """
    h, w = rgb.shape[:2]
    lab = lab_image(rgb)
    background = background_border(lab)
    colour = colour_score(lab, background)
    cost = edge_cost(lab)
    geo = geodesic_from(cost, background)
    geo_score = 1.0 - np.exp(-((geo / geodesic_scale) ** 2))
    roughness = float(np.percentile(cost[background], 75)) if background.any() else 0.0
    smooth = float(np.exp(-((roughness / 0.3) ** 2)))
    # sqrt: on a smooth backdrop a faint colour difference counts, but the backdrop's own colour
    # (a ring's hole) still scores 0.
    prior = np.minimum(geo_score, np.maximum(colour, smooth * np.sqrt(colour)))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = np.exp(-(((xx / w - 0.5) / 0.45) ** 2 + ((yy / h - 0.5) / 0.45) ** 2))
    prior *= 0.4 + 0.6 * centre
    return prior.astype(np.float32), background
