"""Model-based segmentation with a tiny ONNX model, and the errors a bad model setting gives."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from tests.imaging.helpers import disc_photo, iou
from tests.imaging.onnx_models import flat_input_model, quantised_conv_model, red_subject_model
from wagtail_bgcut.checks import check_local_model, check_local_providers
from wagtail_bgcut.imaging import (
    MissingDependency,
    ModelError,
    OnnxSegmenter,
    clear_segmenter_cache,
    get_segmenter,
    remove_background,
    validate_model,
)
from wagtail_bgcut.imaging.onnx_model import _float_weights, load_session


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


def test_system_check_does_not_load_a_model_the_api_backend_never_uses(tmp_path):
    """With the API making every cut-out, start-up (every web process and worker) skips the load:
    an unloadable file passes, the same file fails under the local backend."""
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    settings = {"LOCAL_MODEL": str(bad), "API_KEY": "k", "BACKEND": "backgroundcut"}
    with override_settings(WAGTAIL_BGCUT=settings):
        assert check_local_model() == []
    with override_settings(WAGTAIL_BGCUT={**settings, "BACKEND": "local"}):
        [error] = check_local_model()
    assert error.id == "wagtail_bgcut.E007"
    # A named file that is missing is still reported: a site switching back would need it.
    gone = {**settings, "LOCAL_MODEL": str(tmp_path / "nope.onnx")}
    with override_settings(WAGTAIL_BGCUT=gone):
        [error] = check_local_model()
    assert error.id == "wagtail_bgcut.E007" and "not a file" in error.msg


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


# -- execution providers and threads (LOCAL_PROVIDERS, LOCAL_THREADS) ----------------------------


def missing_provider() -> str:
    """A provider onnxruntime knows of but this installation does not offer (CUDA, TensorRT...)."""
    import onnxruntime

    missing = set(onnxruntime.get_all_providers()) - set(onnxruntime.get_available_providers())
    if not missing:
        pytest.skip("this onnxruntime offers every provider it knows")
    return sorted(missing)[0]


def test_an_unavailable_provider_is_a_check_warning_and_the_cpu_runs(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    absent = missing_provider()
    settings = {"LOCAL_MODEL": str(model), "LOCAL_PROVIDERS": [absent, "CPUExecutionProvider"]}
    with override_settings(WAGTAIL_BGCUT=settings):
        [warning] = check_local_providers()
        assert check_local_model() == []  # the model loads all the same
    assert warning.id == "wagtail_bgcut.W011" and absent in warning.msg
    assert "CPUExecutionProvider" in warning.msg  # what it offers instead
    segmenter = get_segmenter(model, providers=[absent])
    assert segmenter.session.get_providers() == ["CPUExecutionProvider"]
    photo, truth = red_on_blue()
    assert iou(np.asarray(segmenter.mask(photo)) >= 128, truth) > 0.9


def test_available_providers_pass_the_check_with_options_and_threads(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    providers = [("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})]
    settings = {"LOCAL_MODEL": str(model), "LOCAL_PROVIDERS": providers, "LOCAL_THREADS": 1}
    with override_settings(WAGTAIL_BGCUT=settings):
        assert check_local_providers() == []
        assert check_local_model() == []
    session = load_session(model, providers=providers, threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert session.get_session_options().intra_op_num_threads == 1
    assert get_segmenter(model, threads=1) is not get_segmenter(model, threads=2)
    assert get_segmenter(model, threads=1) is get_segmenter(model, threads=1)


@pytest.mark.parametrize(
    "settings",
    [
        {"LOCAL_PROVIDERS": "CPUExecutionProvider"},
        {"LOCAL_PROVIDERS": [("CPUExecutionProvider", "not options")]},
        {"LOCAL_THREADS": 0},
        {"LOCAL_THREADS": "2"},
    ],
    ids=["string", "bad-pair", "zero-threads", "text-threads"],
)
def test_malformed_provider_settings_are_e011(tmp_path, settings):
    model = red_subject_model(tmp_path / "tiny.onnx")
    with override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(model), **settings}):
        [error] = check_local_providers()
        assert check_local_model() == []  # the model itself still loads, on the CPU
    assert error.id == "wagtail_bgcut.E011"


def test_a_malformed_provider_is_a_clear_model_error(tmp_path):
    model = red_subject_model(tmp_path / "tiny.onnx")
    with pytest.raises(ModelError, match="not a provider name"):
        load_session(model, providers=[42])


def test_quantised_convolutions_run_as_float_ones_with_the_same_result(tmp_path):
    # The img.ly quint8 ISNet is DynamicQuantizeLinear -> ConvInteger chains: slow on the CPU.
    import onnx
    import onnxruntime

    model = quantised_conv_model(tmp_path / "quant.onnx")
    rewritten = onnx.load_from_string(_float_weights(model))
    kinds = {node.op_type for node in rewritten.graph.node}
    assert "Conv" in kinds and not kinds & {"ConvInteger", "DynamicQuantizeLinear"}
    photo, truth = disc_photo((64, 64), colour=(210, 30, 30), background=(40, 60, 210))
    feed = (np.asarray(photo, np.float32) / 255.0).transpose(2, 0, 1)[None].copy()
    as_is = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    quantised = as_is.run(None, {"input": feed})[0]
    ours = get_segmenter(model).session.run(None, {"input": feed})[0]
    assert np.abs(ours - quantised).max() < 0.05  # same weights, only activations unquantised
    mask = get_segmenter(model).mask(photo)
    assert iou(np.asarray(mask) >= 128, truth) > 0.9


def test_a_float_model_is_run_as_it_is(tmp_path):
    assert _float_weights(red_subject_model(tmp_path / "tiny.onnx")) is None
