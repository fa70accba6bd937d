"""The real ISNet model on the demo's real photos, and AI Cut that depends on the set of dots only.

The model tests need the img.ly ISNet fetched by scripts/ensure-model.sh (see real_model.py); each
photo goes through the model once per test session (inference takes seconds on two cores).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from tests.imaging.real_model import REAL_MODEL, SAMPLES, real_model_path
from wagtail_bgcut.imaging import SegmentationTimeout, remove_background, segment_points
from wagtail_bgcut.model_files.segmenter import load_segmenter
from wagtail_bgcut.pillow import remove_background as pillow_remove_background


@pytest.fixture(scope="module")
def model():
    path = real_model_path()
    return load_segmenter(REAL_MODEL.name, path.parent)


def _photo(name: str) -> Image.Image:
    with Image.open(SAMPLES / name) as im:
        return im.convert("RGB")


def _alpha(cut: Image.Image) -> np.ndarray:
    return np.asarray(cut.getchannel("A")).astype(float) / 255


def _region(alpha: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Mean alpha in a box given as fractions of the width and height."""
    h, w = alpha.shape
    x0, y0, x1, y1 = box
    return float(alpha[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)].mean())


def test_the_model_keeps_the_astronaut_whole_with_her_head(model):
    alpha = _alpha(remove_background(_photo("astronaut.jpg"), segmenter=model))
    assert _region(alpha, (0.38, 0.08, 0.52, 0.30)) > 0.9  # her face and hair
    assert _region(alpha, (0.30, 0.60, 0.60, 0.95)) > 0.9  # the orange suit
    assert _region(alpha, (0.0, 0.0, 0.12, 0.25)) < 0.1  # the backdrop, top left


def test_the_model_keeps_the_whole_cat_and_the_whole_cup(model):
    cat = _alpha(remove_background(_photo("chelsea.jpg"), segmenter=model))
    assert _region(cat, (0.30, 0.15, 0.70, 0.90)) > 0.9  # forehead, eyes, nose, cheeks
    assert _region(cat, (0.88, 0.0, 1.0, 0.25)) < 0.2  # the wall behind, top right
    cup = _alpha(remove_background(_photo("coffee.jpg"), segmenter=model))
    assert _region(cup, (0.30, 0.25, 0.70, 0.70)) > 0.9  # the cup, rim included
    assert _region(cup, (0.0, 0.0, 0.08, 0.15)) < 0.1  # the table top corner


def test_pillow_accepts_the_catalogue_name(model):
    path = real_model_path()
    small = _photo("coffee.jpg").resize((300, 200))
    cut = pillow_remove_background(small, model=REAL_MODEL.name, model_dir=path.parent)
    assert cut.mode == "RGBA" and cut.size == (300, 200)
    assert _region(_alpha(cut), (0.35, 0.3, 0.65, 0.65)) > 0.9


DOTS_GREEN = [(230, 150), (140, 60), (320, 70), (200, 250)]  # cat: forehead, ears, chin
DOTS_RED = [(440, 20), (20, 290)]  # the wall, the bottom-left corner


def _masks_for_every_order(image, **kwargs):
    masks = []
    orders = itertools.islice(itertools.permutations(range(len(DOTS_GREEN))), 0, 24, 7)
    for order in orders:
        green = [DOTS_GREEN[i] for i in order]
        masks.append(np.asarray(segment_points(image, green, DOTS_RED[::-1], **kwargs)))
        masks.append(np.asarray(segment_points(image, green[::-1], DOTS_RED, **kwargs)))
    return masks


def test_point_mode_with_the_model_depends_on_the_set_of_dots_only(model):
    image = _photo("chelsea.jpg")
    masks = _masks_for_every_order(image, segmenter=model)
    assert all(np.array_equal(masks[0], m) for m in masks[1:])
    alpha = masks[0].astype(float) / 255
    assert _region(alpha, (0.30, 0.15, 0.70, 0.90)) > 0.9  # the whole cat kept
    assert _region(alpha, (0.88, 0.0, 1.0, 0.15)) < 0.1  # the red-dotted wall gone


def test_point_mode_without_a_model_depends_on_the_set_of_dots_only():
    image = _photo("chelsea.jpg").resize((240, 160))
    green = [(x / 2, y / 2) for x, y in DOTS_GREEN]
    red = [(x / 2, y / 2) for x, y in DOTS_RED]
    first = np.asarray(segment_points(image, green, red))
    for g, r in [(green[::-1], red), (green[1:] + green[:1], red[::-1])]:
        assert np.array_equal(first, np.asarray(segment_points(image, g, r)))


def test_a_flat_image_is_answered_at_once_not_by_a_looping_grabcut():
    flat = Image.new("RGB", (500, 500), (200, 200, 200))
    cut = remove_background(flat)
    mask = segment_points(flat, [(250, 250)], [(10, 10)])
    # No timing assert: a hang would never get here. The answers are what a user sees.
    assert cut.getchannel("A").getextrema() == (0, 0)  # no subject on a flat image
    assert np.asarray(mask)[250, 250] == 255 and np.asarray(mask)[10, 10] < 128


def test_a_call_over_its_time_budget_stops_with_a_clear_error():
    photo = _photo("coffee.jpg").resize((200, 150))
    with pytest.raises(SegmentationTimeout, match="budget"):
        remove_background(photo, time_budget=1e-9)
    with pytest.raises(SegmentationTimeout, match="budget"):
        segment_points(photo, [(100, 75)], [], time_budget=1e-9)


def test_ai_cut_through_the_local_backend_ignores_the_order_of_requests():
    from wagtail_bgcut.backends.local import LocalBackend

    backend = LocalBackend()
    handle = backend.ai_cut_start(_encode(_photo("chelsea.jpg").resize((240, 160))))
    green = [(x / 2, y / 2) for x, y in DOTS_GREEN]
    red = [(x / 2, y / 2) for x, y in DOTS_RED]
    # A session that saw other dots first must answer the full set exactly as a fresh one does.
    backend.ai_cut_segment(handle, green[:1], red, 1)
    late = backend.ai_cut_segment(handle, green[::-1], red[::-1], 3)
    fresh = backend.ai_cut_segment(backend.ai_cut_start(handle_bytes(handle)), green, red, 1)
    assert np.array_equal(_png_alpha(late), _png_alpha(fresh))


def handle_bytes(handle) -> bytes:
    return _encode(handle["image"])


def _png_alpha(data: bytes) -> np.ndarray:
    import io

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.getchannel("A"))


def _encode(image: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
