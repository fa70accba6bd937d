"""The guided upsampling skips work (solves only where the mask changes, per-pixel filtering only
where alpha can be soft): the alpha it gives must be the one the whole filter gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.imaging.real_model import SAMPLES
from wagtail_bgcut.imaging.matting import guide_copy, guided_upsample


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def textbook_alpha(rgb: np.ndarray, guide: np.ndarray, src: np.ndarray, r: int, eps: float):
    """He & Sun's fast guided filter, every pixel computed: coefficients at every guide pixel,
    enlarged bilinearly, q = a . I + b at every full-size pixel, then the engine's snapping."""
    i = guide.astype(np.float64) / 255.0
    p = src.astype(np.float64)
    mean_i, mean_p = _box(i, r), _box(p, r)
    cov = _box(i * p[..., None], r) - mean_i * mean_p[..., None]
    h, w = p.shape
    products = (i[..., :, None] * i[..., None, :]).reshape(h, w, 9)
    sigma = (_box(products, r).reshape(h, w, 3, 3)) - mean_i[..., :, None] * mean_i[..., None, :]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(axis=2)
    a, b = _box(a, r), _box(b, r)
    height, width = rgb.shape[:2]
    a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    q = (a * (rgb / 255.0)).sum(axis=2) + b
    return np.clip((q - 0.02) * (255.0 / 0.96) + 0.5, 0, 255).astype(np.uint8)


def _photo() -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / "astronaut.jpg").convert("RGB").resize((900, 600)))


def _mask(shape: tuple[int, int], soft: bool) -> np.ndarray:
    """A subject blob that runs off the bottom edge; a hard step or a soft ramp at its outline."""
    h, w = shape
    big = np.zeros((h * 4, w * 4), np.uint8)
    cv2.ellipse(big, (w * 2, h * 3), (w * 3 // 2, h * 2), 15, 0, 360, 255, -1)
    cv2.circle(big, (w // 2, h // 2), h // 3, 255, -1)  # a second object near the corner
    mask = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if soft:
        mask = cv2.GaussianBlur(mask, (0, 0), 2.0)
    return (mask >= 0.5).astype(np.float32) if not soft else mask


@pytest.mark.parametrize("soft", [True, False])
def test_guided_upsampling_gives_the_alpha_of_the_whole_filter(soft):
    rgb = _photo()
    guide = guide_copy(rgb, pixels=60_000)
    src = _mask(guide.shape[:2], soft)
    alpha = guided_upsample(rgb, src, guide=guide, radius=4, eps=1e-3)
    expected = textbook_alpha(rgb, guide, src, 4, 1e-3)
    diff = np.abs(alpha.astype(int) - expected)
    assert diff.max() <= 1  # float32 against float64 rounding, nothing more
    assert ((alpha > 0) & (alpha < 255)).sum() > 1000  # there was an edge to get right


def test_guided_filter_at_the_guide_size_is_the_whole_filter():
    rgb = np.ascontiguousarray(_photo()[:300, :400])
    src = _mask(rgb.shape[:2], soft=True)
    alpha = guided_upsample(rgb, src, guide=rgb, radius=4, eps=1e-3)
    assert np.abs(alpha.astype(int) - textbook_alpha(rgb, rgb, src, 4, 1e-3)).max() <= 1
