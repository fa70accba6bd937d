"""Automatic and point-based segmentation on small synthetic photos with known masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.imaging.helpers import disc_photo, iou
from wagtail_bgcut.imaging import apply_mask, remove_background, segment_points


def alpha_of(img: Image.Image) -> np.ndarray:
    return np.asarray(img.getchannel("A")) >= 128


def test_subject_on_a_plain_background_is_found():
    photo, truth = disc_photo()
    cut = remove_background(photo)
    assert cut.mode == "RGBA" and cut.size == photo.size
    assert iou(alpha_of(cut), truth) > 0.9


def test_subject_on_a_strong_gradient_is_found():
    w, h = 160, 120
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    background = np.array([250, 220, 120]) * (1 - ramp) + np.array([40, 90, 160]) * ramp
    photo, truth = disc_photo((w, h), colour=(30, 160, 60))
    arr = np.asarray(photo).astype(np.float32)
    arr = np.where(truth[..., None], arr, np.broadcast_to(background, arr.shape))
    cut = remove_background(Image.fromarray(arr.astype(np.uint8)))
    assert iou(alpha_of(cut), truth) > 0.9


def test_subject_cut_by_the_bottom_edge_is_kept():
    """A bust or a product cut by the frame: the bottom edge is not all background."""
    photo, truth = disc_photo((200, 150), centre=(100, 140), radius=60)
    cut = remove_background(photo)
    assert truth[-1].any()  # the subject really touches the bottom edge
    assert iou(alpha_of(cut), truth) > 0.9


def test_floor_spanning_the_bottom_edge_is_background():
    photo, truth = disc_photo((200, 150), centre=(100, 70), radius=35)
    arr = np.asarray(photo).copy()
    arr[120:] = (120, 90, 60)  # a table top across the whole frame
    cut = remove_background(Image.fromarray(arr))
    assert iou(alpha_of(cut), truth) > 0.9


def test_removed_background_does_not_survive_under_the_alpha():
    photo, _truth = disc_photo()
    rgba = np.asarray(remove_background(photo))
    hidden = rgba[rgba[..., 3] == 0]
    assert hidden.size and not hidden[:, :3].any()


@pytest.mark.parametrize("quality", ["medium", "low"])
def test_lower_qualities_still_cut_the_subject(quality):
    photo, truth = disc_photo((320, 240))
    cut = remove_background(photo, quality=quality)
    assert cut.size == (320, 240)
    assert iou(alpha_of(cut), truth) > 0.85


def test_large_image_is_cut_at_full_size():
    photo, truth = disc_photo((1600, 1200), radius=350)
    cut = remove_background(photo)
    assert cut.size == (1600, 1200)
    assert iou(alpha_of(cut), truth) > 0.95


def test_transparency_already_in_the_image_is_kept():
    photo, _truth = disc_photo()
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.new("L", photo.size, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 40, 120))  # left strip already cut away
    cut = remove_background(rgba)
    assert np.asarray(cut.getchannel("A"))[:, :40].max() == 0


def test_edges_are_decontaminated():
    """A soft edge between a red subject and a green backdrop must not stay yellow-brown."""
    w, h = 120, 60
    coverage = np.clip((np.arange(w, dtype=np.float32) - 50) / 6, 0, 1)[None, :].repeat(h, 0)
    red, green = np.array([220, 20, 20], np.float32), np.array([20, 200, 20], np.float32)
    mixed = red * coverage[..., None] + green * (1 - coverage[..., None])
    image = Image.fromarray(mixed.astype(np.uint8))
    mask = Image.fromarray((coverage * 255).astype(np.uint8))
    cut = np.asarray(apply_mask(image, mask)).astype(int)
    column = 53  # coverage 0.5: the photo shows (120, 110, 20) here
    r, g, _b, a = cut[30, column]
    assert 100 <= a <= 155
    assert r > 180 and g < 60
    assert (cut[30, 100, :3] == [220, 20, 20]).all()  # opaque pixels keep their exact colour


def test_apply_mask_refuses_a_mask_of_another_size():
    photo, _ = disc_photo()
    with pytest.raises(ValueError, match="mask"):
        apply_mask(photo, Image.new("L", (10, 10)))


def two_objects() -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """A red disc on the left and a blue square on the right, on grey."""
    w, h = 200, 120
    photo, left = disc_photo((w, h), centre=(55, 60), radius=32)
    arr = np.asarray(photo).copy()
    right = np.zeros((h, w), bool)
    right[35:85, 125:175] = True
    arr[right] = (40, 60, 210)
    return Image.fromarray(arr), left, right


def test_a_green_dot_selects_the_object_under_it():
    photo, left, right = two_objects()
    mask = segment_points(photo, green=[(55, 60)], red=[])
    assert mask.mode == "L" and mask.size == photo.size
    pred = np.asarray(mask) >= 128
    assert iou(pred, left) > 0.9
    assert not (pred & right).any()


def test_more_dots_refine_the_previous_result():
    photo, left, right = two_objects()
    first = segment_points(photo, green=[(55, 60)], red=[])
    second = segment_points(photo, green=[(55, 60), (150, 60)], red=[], previous_mask=first)
    both = np.asarray(second) >= 128
    assert iou(both, left | right) > 0.9
    third = segment_points(
        photo, green=[(55, 60), (150, 60)], red=[(150, 60)], previous_mask=second
    )
    # The red dot is the latest word on that spot: the right object's centre is background now.
    assert np.asarray(third)[60, 150] < 128
    assert iou((np.asarray(third) >= 128) & left, left) > 0.9


def test_a_red_dot_removes_a_wrongly_included_region():
    photo, left, right = two_objects()
    previous = Image.fromarray(((left | right) * 255).astype(np.uint8))
    mask = segment_points(photo, green=[(55, 60)], red=[(150, 60)], previous_mask=previous)
    pred = np.asarray(mask) >= 128
    assert iou(pred, left) > 0.9
    assert (pred & right).sum() < 0.05 * right.sum()


def test_dots_use_displayed_coordinates_of_exif_rotated_photos():
    import io

    photo, left, _right = two_objects()  # 200x120 as displayed
    stored = photo.transpose(Image.Transpose.ROTATE_270)  # stored sideways: 120x200
    exif = Image.Exif()
    exif[0x0112] = 8  # viewers rotate it back
    out = io.BytesIO()
    stored.save(out, "PNG", exif=exif.tobytes())
    mask = segment_points(out.getvalue(), green=[(55, 60)], red=[])
    assert mask.size == (200, 120)
    assert iou(np.asarray(mask) >= 128, left) > 0.85


def test_odd_dots_are_tolerated():
    photo, left, _right = two_objects()
    mask = segment_points(
        photo, green=[(55, 60), (-50, 10_000), (float("nan"), 3)], red=[(1e9, 1e9)]
    )
    assert mask.size == photo.size
    assert (np.asarray(mask) >= 128)[left].mean() > 0.9
