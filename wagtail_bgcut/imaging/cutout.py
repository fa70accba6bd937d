"""The two things users ask of the engine: a cut-out of the whole subject, and a cut from dots."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import SegmentationTimeout
from .grabcut import _GROW, WORKING_PIXELS, GrabCutSegmenter, point_mask, working_copy
from .loading import open_image
from .matting import cutout_array, guide_copy, guided_upsample, snap_to_edges
from .onnx_model import OnnxSegmenter, soft_only_near_outline
from .priors import edge_cost, geodesic_from, lab_image
from .segmenters import Segmenter

__all__ = ["DEFAULT_TIME_BUDGET", "clear_point_cache", "remove_background", "segment_points"]

_POINT_WORKING_PIXELS = 250_000
# Seconds one segmentation call may take before it gives up with SegmentationTimeout.
DEFAULT_TIME_BUDGET = 300.0
# Per-image AI Cut state (working copies; with a model its full-size alpha and objects, ~26 MB
# for a 12 MP photo), least recently used dropped beyond this many bytes per process.
_STATE_BYTES = 192 * 2**20
_states: OrderedDict[tuple, _PointState] = OrderedDict()
_states_lock = threading.Lock()


class _Deadline:
    """Checked between stages: a call over budget stops with a clear error, not a hung worker."""

    def __init__(self, budget: float | None):
        self.budget = budget
        self.end = time.monotonic() + budget if budget else math.inf

    def check(self, stage: str) -> None:
        if time.monotonic() > self.end:
            raise SegmentationTimeout(self.budget or 0.0, stage)


def _arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    alpha = np.asarray(image.getchannel("A")) if image.mode == "RGBA" else None
    return rgb, alpha


def remove_background(
    image: Image.Image,
    *,
    quality: str = "high",
    segmenter: Segmenter | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Image.Image:
    """Full-size RGBA cut-out of ``image`` (same size as the opened input).

    ``quality`` sets the built-in segmenter's working resolution (high > medium > low); a given
    ``segmenter`` (e.g. an ONNX model) is used as is. Transparency already in the image is kept.
    Over ``time_budget`` seconds it raises :class:`~.errors.SegmentationTimeout`.
    """
    deadline = _Deadline(time_budget)
    image = open_image(image, copy=False)  # only read here: no full-size copy
    rgb, source_alpha = _arrays(image)
    guide = guide_copy(rgb)
    if segmenter is None:
        segmenter = GrabCutSegmenter(quality=quality if quality in WORKING_PIXELS else "high")
    if isinstance(segmenter, GrabCutSegmenter | OnnxSegmenter):
        alpha = segmenter.alpha(rgb, source_alpha, guide)  # arrays all the way: no copies
    else:
        mask = segmenter.mask(image).convert("L")
        if mask.size != image.size:
            mask = mask.resize(image.size, Image.Resampling.BILINEAR)
        alpha = np.asarray(mask)
    deadline.check("segmentation")
    if source_alpha is not None:
        alpha = np.minimum(alpha, source_alpha)
    return Image.fromarray(cutout_array(rgb, alpha, guide), "RGBA")


def _valid_points(
    points: Sequence[tuple[float, float]], size: tuple[int, int], scale: tuple[float, float]
) -> list[tuple[float, float]]:
    """Dots moved onto the working grid; non-finite ones dropped, outside ones clamped."""
    width, height = size
    out = []
    for point in points:
        x, y = float(point[0]), float(point[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        x = min(max(x, 0.0), width - 1.0)
        y = min(max(y, 0.0), height - 1.0)
        out.append(((x + 0.5) * scale[0] - 0.5, (y + 0.5) * scale[1] - 0.5))
    return out


def _engine_key(segmenter: Segmenter | None) -> str:
    """What makes two segmenters give the same mask: the model file and how it is fed."""
    if segmenter is None or getattr(segmenter, "small_mask", None) is None:
        return "built-in"
    parts = (type(segmenter).__name__, str(getattr(segmenter, "path", repr(segmenter))))
    spec = tuple(getattr(segmenter, name, None) for name in ("size", "mean", "std", "scale_by_max"))
    return repr((*parts, *spec))


@dataclass
class _PointState:
    """What every click on one image reuses: working copies and, with a model, its answer."""

    guide: np.ndarray  # ~1 MP copy (guided-filter guide)
    work: np.ndarray  # point-mode working copy
    cost: np.ndarray | None = None  # colour-edge cost on ``work`` (model path)
    alpha: np.ndarray | None = None  # full-size uint8 alpha of the model's mask
    small_alpha: np.ndarray | None = None  # the same at guide size
    prior: np.ndarray | None = None  # the model's soft mask (0..1) on ``work``
    objects: np.ndarray | None = None  # the model's objects, labelled at guide size
    main: tuple[int, ...] = ()  # objects kept with no green dot (not specks)

    @property
    def nbytes(self) -> int:
        arrays = (self.guide, self.work, self.cost, self.alpha, self.small_alpha, self.objects)
        arrays += (self.prior,)
        return sum(a.nbytes for a in arrays if a is not None)


def _image_key(engine: str, image: Image.Image, rgb: np.ndarray, alpha: np.ndarray | None) -> tuple:
    digest = hashlib.sha1(np.ascontiguousarray(rgb).data, usedforsecurity=False)
    if alpha is not None:
        digest.update(np.ascontiguousarray(alpha).data)
    return (engine, image.mode, image.size, digest.hexdigest())


def _cached_state(key: tuple) -> _PointState | None:
    with _states_lock:
        state = _states.get(key)
        if state is not None:
            _states.move_to_end(key)
        return state


def _remember(key: tuple, state: _PointState) -> None:
    with _states_lock:
        _states[key] = state
        _states.move_to_end(key)
        total = sum(s.nbytes for s in _states.values())
        while len(_states) > 1 and total > _STATE_BYTES:
            _old_key, old = _states.popitem(last=False)
            total -= old.nbytes


def clear_point_cache() -> None:
    """Forget the per-image AI Cut state (tests; or to free memory at once)."""
    with _states_lock:
        _states.clear()


def _model_state(
    image: Image.Image, rgb: np.ndarray, state: _PointState, segmenter: Segmenter
) -> None:
    """Run the model once for this image; keep its full-size alpha and its objects."""
    prior = np.asarray(segmenter.small_mask(image), np.float32)  # type: ignore[attr-defined]
    guide = state.guide
    gh, gw = guide.shape[:2]
    # Specks stay (unlike automatic mode): a green dot may claim one.
    settled = soft_only_near_outline(prior)
    state.alpha = guided_upsample(rgb, settled, guide=guide, radius=4, eps=1e-3)
    state.small_alpha = cv2.resize(state.alpha, (gw, gh), interpolation=cv2.INTER_AREA)
    # Objects are the pieces of the model's mask, dilated by a guide pixel so that every
    # full-size pixel with some alpha maps onto its object's label.
    present = cv2.dilate((state.small_alpha > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    count, objects, stats, _ = cv2.connectedComponentsWithStats(present, connectivity=8)
    state.objects = objects.astype(np.int32)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        state.main = tuple(int(k) + 1 for k in np.nonzero(areas >= 0.05 * areas.max())[0])
    state.cost = edge_cost(lab_image(state.work))
    h, w = state.work.shape[:2]
    state.prior = cv2.resize(prior, (w, h), interpolation=cv2.INTER_AREA)


def _point_state(
    image: Image.Image,
    rgb: np.ndarray,
    source_alpha: np.ndarray | None,
    segmenter: Segmenter | None,
    deadline: _Deadline,
) -> _PointState:
    engine = _engine_key(segmenter)
    key = _image_key(engine, image, rgb, source_alpha)
    state = _cached_state(key)
    if state is not None:
        return state
    guide = guide_copy(rgb)
    work, _size = working_copy(rgb, _POINT_WORKING_PIXELS, guide)
    state = _PointState(guide=guide, work=work)
    if engine != "built-in":
        _model_state(image, rgb, state, segmenter)  # type: ignore[arg-type]
        deadline.check("the model's mask")
    _remember(key, state)
    return state


def segment_points(
    image: Image.Image,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]],
    *,
    previous_mask: Image.Image | None = None,
    segmenter: Segmenter | None = None,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
) -> Image.Image:
    """Soft ``L`` mask (255 = subject), same size as ``image``, from AI Cut dots.

    ``green`` dots are subject, ``red`` dots background, both ``(x, y)`` in displayed image pixels.
    Without ``previous_mask`` the result depends on the image and the *set* of dots only (their
    order does not matter). With a model ``segmenter`` the model runs once per image (its answer
    is cached per process, keyed by the pixels): a green dot keeps the model's object under it, a
    red dot removes its object, and a dot on what the model called background claims the region
    around it; clicks after the first cost a fraction of a second even at 12 MP. Without a model,
    GrabCut runs on a bounded working copy. ``previous_mask`` (older API) refines an earlier
    result instead.
    """
    deadline = _Deadline(time_budget)
    image = open_image(image, copy=False)  # only read here: no full-size copy per click
    rgb, source_alpha = _arrays(image)
    use_model = previous_mask is None and _engine_key(segmenter) != "built-in"
    state = _point_state(image, rgb, source_alpha, segmenter if use_model else None, deadline)
    if use_model and state.alpha is not None:
        out = _model_points(rgb, state, green, red, image.size)
        deadline.check("point segmentation")
        if source_alpha is not None:
            out = np.minimum(out, source_alpha)
        return Image.fromarray(out, "L")
    work = state.work
    h, w = work.shape[:2]
    scale = (w / image.width, h / image.height)
    green_pts = sorted(_valid_points(green, image.size, scale))
    red_pts = sorted(_valid_points(red, image.size, scale))
    previous = None
    if previous_mask is not None:
        prev = previous_mask.convert("L").resize((w, h), Image.Resampling.BILINEAR)
        previous = np.asarray(prev) >= 128
    mask = point_mask(work, green_pts, red_pts, previous)
    deadline.check("point segmentation")
    if source_alpha is not None:
        mask &= cv2.resize(source_alpha, (w, h), interpolation=cv2.INTER_AREA) > 0
    return Image.fromarray(guided_upsample(rgb, mask, guide=state.guide), "L")


_SPLIT_STEP = 0.3  # per working-copy pixel: on smooth or evenly textured ground the nearer dot wins
_FAINT = 0.1  # the model's probability at a dot from which it "saw something" there
_SEED = 0  # dots seed the geodesics from a (2 * _SEED + 1)-pixel square: thin parts are thin


def _seeds(shape: tuple[int, int], points: Sequence[tuple[float, float]]) -> np.ndarray:
    h, w = shape
    seeds = np.zeros(shape, bool)
    for x, y in points:
        cx, cy = min(max(round(x), 0), w - 1), min(max(round(y), 0), h - 1)
        seeds[max(cy - _SEED, 0) : cy + _SEED + 1, max(cx - _SEED, 0) : cx + _SEED + 1] = True
    return seeds


def _model_points(
    rgb: np.ndarray,
    state: _PointState,
    green: Sequence[tuple[float, float]],
    red: Sequence[tuple[float, float]],
    size: tuple[int, int],
) -> np.ndarray:
    """Full-size uint8 alpha: the model's objects chosen by the dots, plus what dots claim.

    A green dot keeps the model's object under it; with no green dot the model's main objects
    are kept. A red dot removes its object; when that object holds a green dot too it is split
    between them along the photo's colour edges (geodesic distance: nearest dot wins). A green
    dot where the model saw background claims the region reachable from it without crossing a
    colour edge (and nearer to it than to any red dot). Only those claimed or split regions are
    recomputed at full size (guided filter in a crop); the rest is the model's cached alpha.
    """
    assert state.alpha is not None and state.objects is not None and state.cost is not None
    objects, alpha, guide, work = state.objects, state.alpha, state.guide, state.work
    gh, gw = objects.shape
    h, w = work.shape[:2]
    g_guide = sorted(_valid_points(green, size, (gw / size[0], gh / size[1])))
    r_guide = sorted(_valid_points(red, size, (gw / size[0], gh / size[1])))
    g_work = sorted(_valid_points(green, size, (w / size[0], h / size[1])))
    r_work = sorted(_valid_points(red, size, (w / size[0], h / size[1])))

    def label(point: tuple[float, float]) -> int:
        return int(
            objects[min(max(round(point[1]), 0), gh - 1), min(max(round(point[0]), 0), gw - 1)]
        )

    g_labels = [label(p) for p in g_guide]
    r_labels = {label(p) for p in r_guide} - {0}
    kept = set(g_labels) - {0} if g_guide else set(state.main) - r_labels
    split = kept & r_labels
    keep = np.isin(objects, sorted(kept)) if kept else np.zeros((gh, gw), bool)
    keep_full = cv2.resize(keep.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    out = cv2.multiply(alpha, keep_full)

    strays = [p for p, lab in zip(g_work, g_labels, strict=True) if lab == 0]
    if not strays and not split:
        return out
    inf = np.full((h, w), np.inf, np.float32)
    r_dist = geodesic_from(state.cost, _seeds((h, w), r_work)) if r_work else inf
    add = np.zeros((h, w), bool)
    cut = np.zeros((h, w), bool)
    # A stray dot where the model saw a part faintly (a thin mast, a dropped ear) claims only
    # what the model saw at all: a dot on a thin part's edge must not flood the smooth sky
    # around it. A dot where the model saw nothing claims its colour region.
    faint, blind = [], []
    for x, y in strays:
        seen = float(state.prior[min(max(round(y), 0), h - 1), min(max(round(x), 0), w - 1)])  # type: ignore[index]
        (faint if seen >= _FAINT else blind).append((x, y, seen))
    for group in (faint, blind):
        if not group:
            continue
        seeds = _seeds((h, w), [(x, y) for x, y, _ in group])
        if group is faint:
            # The piece of the model's faint answer under the dot (a threshold region of its
            # probability map), put on the photo's edges at the working size.
            level = max(0.05, 0.25 * min(seen for _x, _y, seen in group))
            _n, pieces = cv2.connectedComponents((state.prior >= level).astype(np.uint8))  # type: ignore[operator]
            claim = np.isin(pieces, sorted(set(pieces[seeds].tolist()) - {0}))
            claim = _snap_local(work, claim & (r_dist >= _GROW)) | seeds
        else:
            s_dist = geodesic_from(state.cost, seeds)
            claim = (s_dist < _GROW) & (s_dist < r_dist)
        add |= claim
    if split:
        # Path length counts too (per working-copy pixel), so that where the photo has no edge
        # to split at, the nearer dot wins, not the whole smooth region.
        split_cost = state.cost + np.float32(_SPLIT_STEP)
        g_split = geodesic_from(split_cost, _seeds((h, w), g_work))
        r_split = geodesic_from(split_cost, _seeds((h, w), r_work))
        inside = cv2.resize(
            np.isin(objects, sorted(split)).astype(np.uint8),
            (w, h),
            interpolation=cv2.INTER_NEAREST,
        ).astype(bool)
        cut = inside & _snap_local(work, inside & (r_split < g_split))  # on the photo's edges
    changed = cv2.resize((add | cut).astype(np.uint8), (gw, gh), interpolation=cv2.INTER_LINEAR)
    if not changed.any():
        return out
    soft = state.small_alpha.astype(np.float32) * (1.0 / 255.0) * keep  # type: ignore[union-attr]
    soft[cv2.resize(add.astype(np.uint8), (gw, gh), interpolation=cv2.INTER_LINEAR) > 0] = 1.0
    soft[cv2.resize(cut.astype(np.uint8), (gw, gh), interpolation=cv2.INTER_LINEAR) > 0] = 0.0
    return _refit(rgb, guide, soft, changed.astype(bool), out)


def _snap_local(work: np.ndarray, mask: np.ndarray, margin: int = 8) -> np.ndarray:
    """:func:`.matting.snap_to_edges` in the box around ``mask`` only (a click stays cheap)."""
    ys, xs = np.nonzero(mask)
    if not ys.size:
        return mask
    h, w = mask.shape
    y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)
    x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = snap_to_edges(work[y0:y1, x0:x1], mask[y0:y1, x0:x1])
    return out


_RADIUS = 4  # guided-filter radius (guide pixels), as for the model's own mask


def _refit(
    rgb: np.ndarray, guide: np.ndarray, soft: np.ndarray, changed: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Redo the full-size alpha where the dots changed the decision, in a crop around it."""
    gh, gw = soft.shape
    height, width = out.shape
    reach = 2 * (2 * _RADIUS + 1) + 1
    paste = cv2.dilate(changed.astype(np.uint8), np.ones((reach, reach), np.uint8))
    ys, xs = np.nonzero(paste)
    margin = 3 * (2 * _RADIUS + 1)
    gy0, gy1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, gh)
    gx0, gx1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, gw)
    y0, y1 = gy0 * height // gh, min(height, -(-gy1 * height // gh))
    x0, x1 = gx0 * width // gw, min(width, -(-gx1 * width // gw))
    crop = guided_upsample(
        rgb[y0:y1, x0:x1],
        soft[gy0:gy1, gx0:gx1],
        guide=guide[gy0:gy1, gx0:gx1],
        radius=_RADIUS,
        eps=1e-3,
    )
    where = cv2.resize(
        paste[gy0:gy1, gx0:gx1], (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    out[y0:y1, x0:x1][where] = crop[where]
    return out
