"""Model-based segmentation with a tiny ONNX model, and the errors a bad model setting gives."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from tests.imaging.helpers import disc_photo, iou
from tests.imaging.onnx_models import flat_input_model, red_subject_model
from wagtail_bgcut.checks import check_local_model
from wagtail_bgcut.imaging import (
    MissingDependency,
    ModelError,
    OnnxSegmenter,
    clear_segmenter_cache,
    get_segmenter,
    remove_background,
    validate_model,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_segmenter_cache()
    yield
    clear_segmenter_cache()


def red_on_blue() -> tuple[Image.Image, np.ndarray]:
    return disc_photo((160, 120), colour=(210, 30, 30), background=(40, 60, 210))


@pytest.mark.parametrize(
    ("size", "sigmoid"), [(64, True), (None, True), (64, False)], ids=["fixed", "dynamic", "raw"]
)
def test_onnx_model_segments_the_subject(tmp_path, size, sigmoid):
    model = red_subject_model(tmp_path / "tiny.onnx", size=size, sigmoid=sigmoid)
    segmenter = OnnxSegmenter(model)
    assert segmenter.size == (size or 320)
    photo, truth = red_on_blue()
    mask = segmenter.mask(photo)
    assert mask.mode == "L" and mask.size == photo.size
    assert iou(np.asarray(mask) >= 128, truth) > 0.9


def test_remove_background_uses_the_model(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    photo, truth = red_on_blue()
    cut = remove_background(photo, segmenter=get_segmenter(model))
    assert cut.mode == "RGBA" and cut.size == photo.size
    assert iou(np.asarray(cut.getchannel("A")) >= 128, truth) > 0.9


def test_segmenters_are_loaded_once_per_path(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    assert get_segmenter(model) is get_segmenter(str(model))
    assert get_segmenter(None) is not get_segmenter(model)


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="is not a file"):
        get_segmenter(tmp_path / "u2net.onnx")


def test_garbage_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "u2net.onnx"
    bad.write_bytes(b"this is not protobuf" * 10)
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        validate_model(bad)


def test_model_that_does_not_take_an_image_is_refused(tmp_path):
    with pytest.raises(ModelError, match="1x3xHxW"):
        validate_model(flat_input_model(tmp_path / "flat.onnx"))


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    model = red_subject_model(tmp_path / "tiny.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(MissingDependency, match=r"wagtail-bgcut\[onnx\]"):
        get_segmenter(model)


def test_system_check_accepts_a_valid_model(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    with override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(model)}):
        assert check_local_model() == []


def test_system_check_reports_a_missing_file(tmp_path):
    with override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(tmp_path / "nope.onnx")}):
        [error] = check_local_model()
    assert error.id == "wagtail_bgcut.E007" and "not a file" in error.msg


def test_system_check_reports_an_invalid_model(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    with override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(bad)}):
        [error] = check_local_model()
    assert error.id == "wagtail_bgcut.E007" and "not a valid ONNX model" in error.msg


def test_system_check_reports_missing_onnxruntime(tmp_path, monkeypatch):
    model = red_subject_model(tmp_path / "tiny.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(model)}):
        [error] = check_local_model()
    assert error.id == "wagtail_bgcut.E008" and "wagtail-bgcut[onnx]" in error.hint


def test_specks_the_model_calls_subject_are_not_kept(tmp_path):
    # A quantised model leaves small blotches over smooth backdrops (the img.ly quint8 ISNet on a
    # plain grey studio backdrop); they must not reach the cut-out as floating specks.
    segmenter = OnnxSegmenter(red_subject_model(tmp_path / "tiny.onnx", size=None))
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[...] = (40, 60, 210)
    rgb[64:192, 64:192] = (210, 30, 30)  # the subject
    rgb[10:16, 10:16] = (210, 30, 30)  # a speck (0.2% of the subject's area)
    mask = np.asarray(segmenter.mask(Image.fromarray(rgb)))
    assert mask[100:160, 100:160].min() == 255
    assert mask[8:18, 8:18].max() == 0
