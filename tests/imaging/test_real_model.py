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


class _CountingSession:
    """The real onnxruntime session, counting how often the model actually runs."""

    def __init__(self, session):
        self.session = session
        self.runs = 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.session, name)


def test_later_clicks_on_the_same_image_do_not_run_the_model_again():
    from wagtail_bgcut.imaging import OnnxSegmenter
    from wagtail_bgcut.imaging.cutout import clear_point_cache

    path = real_model_path()
    segmenter = OnnxSegmenter(
        path,
        size=REAL_MODEL.input_size,
        mean=REAL_MODEL.mean,
        std=REAL_MODEL.std,
        scale_by_max=REAL_MODEL.scale_by_max,
    )
    segmenter.session = counting = _CountingSession(segmenter.session)
    clear_point_cache()
    image = _photo("coffee.jpg")
    first = np.asarray(segment_points(image, [(290, 150)], [], segmenter=segmenter))
    assert counting.runs == 1
    second = np.asarray(segment_points(image, [(290, 150)], [(365, 290)], segmenter=segmenter))
    third = np.asarray(segment_points(image, [(290, 150), (150, 330)], [], segmenter=segmenter))
    assert counting.runs == 1  # the clicks were answered from the cached model run
    assert first[290, 365] >= 128 and second[290, 365] < 128  # the red dot took effect
    assert np.array_equal(
        first, np.asarray(segment_points(image, [(290, 150)], [], segmenter=segmenter))
    )
    assert third[150, 290] == 255
    # Another image is another model run.
    segment_points(
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), [(310, 150)], [], segmenter=segmenter
    )
    assert counting.runs == 2


def test_a_green_dot_brings_back_a_part_the_model_dropped(model):
    rocket = _photo("rocket.jpg")
    before = np.asarray(segment_points(rocket, [(320, 235)], [], segmenter=model))
    assert before[140, 446] < 128  # the model left out the top of the mast right of the rocket
    after = np.asarray(segment_points(rocket, [(320, 235), (445, 140)], [], segmenter=model))
    assert after[140, 446] >= 128 and after[132, 446] >= 128  # the mast's top is back
    assert after[140, 470] < 128 and after[60, 446] < 128  # the sky around it is not
    assert after[235, 320] == 255  # the rocket is still there


def test_a_red_dot_removes_the_object_under_it(model):
    rocket = _photo("rocket.jpg")
    # No green dot: the model's main objects (the rocket and the towers it took for subject).
    auto = np.asarray(segment_points(rocket, [], [], segmenter=model))
    assert auto[250, 20] >= 128  # the big tower on the left edge
    red = np.asarray(segment_points(rocket, [], [(20, 250)], segmenter=model))
    assert (red[:, :60] >= 128).mean() < 0.01  # that tower is gone, whole
    assert red[235, 320] == 255  # the rocket stays
    # A red dot on the spoon of the cup the green dot keeps: the spoon goes, the cup stays.
    cup = np.asarray(
        segment_points(_photo("coffee.jpg"), [(290, 150)], [(365, 290)], segmenter=model)
    )
    assert cup[290, 365] < 128 and cup[150, 290] == 255 and cup[230, 220] == 255
