"""The backend interface and the three bundled backends."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from PIL import Image as PILImage

from tests.factories import ImageBytesFactory
from wagtail_bgcut.backends.backgroundcut import BackgroundCutBackend
from wagtail_bgcut.backends.base import BaseBackend, UploadRef, get_backend
from wagtail_bgcut.backends.dummy import DummyBackend
from wagtail_bgcut.backends.local import LocalBackend
from wagtail_bgcut.presets import cutout_options_key, get_preset
from wagtail_bgcut.variants import Variant

from .conftest import bgcut_settings

VARIANTS = [
    Variant.from_dict({"format": "png"}, name="full"),
    Variant.from_dict({"format": "webp", "autocrop": True, "quality": "medium"}, name="thumb"),
    Variant.from_dict({"format": "jpg", "background_color": "#ffffff"}, name="white"),
]


def test_forgotten_step_names_the_class_and_method():
    class Half(BaseBackend):
        name = "half"

    with pytest.raises(NotImplementedError, match=r"Half\.process\(\)"):
        Half().process(b"", VARIANTS)
    with pytest.raises(NotImplementedError, match=r"Half\.ai_cut_start\(\)"):
        Half().ai_cut_start(b"")


def test_backend_choice_follows_the_api_key():
    with override_settings(WAGTAIL_BGCUT={}):
        assert isinstance(get_backend(), LocalBackend)
    with override_settings(WAGTAIL_BGCUT={"API_KEY": "k"}):
        assert isinstance(get_backend(), BackgroundCutBackend)
    with override_settings(WAGTAIL_BGCUT={"BACKEND": "dummy", "API_KEY": "k"}):
        assert isinstance(get_backend(), DummyBackend)


def test_engines_never_share_cache_keys():
    variant = get_preset("full")
    keys = {cutout_options_key(variant, b) for b in (LocalBackend(), BackgroundCutBackend(), "x")}
    assert len(keys) == 3
    # The variant's name is not part of the key; its options are.
    renamed = Variant.from_dict({**variant.to_api(), "variant_name": "other"})
    assert cutout_options_key(renamed, "x") == cutout_options_key(variant, "x")


def test_local_backend_renders_every_variant():
    result = LocalBackend().process(ImageBytesFactory(seed=91), VARIANTS)
    assert result.credits == 0 and result.upload is None
    assert set(result.outputs) == {"full", "thumb", "white"}
    for name, fmt, mode in (
        ("full", "PNG", "RGBA"),
        ("thumb", "WEBP", "RGBA"),
        ("white", "JPEG", "RGB"),
    ):
        out = result.outputs[name]
        img = PILImage.open(io.BytesIO(out.read()))
        assert (img.format, img.mode) == (fmt, mode)
        assert (img.width, img.height) == (out.width, out.height)
    assert result.outputs["full"].width == 64
    assert result.outputs["thumb"].width < 64  # autocropped to the subject
    white = PILImage.open(io.BytesIO(result.outputs["white"].read())).convert("RGB")
    assert min(white.getpixel((1, 1))) > 240  # background flattened onto white


def test_local_backend_refuses_garbage_clearly():
    from wagtail_bgcut.backends.base import BackendError

    with pytest.raises(BackendError) as info:
        LocalBackend().process(b"not an image", VARIANTS[:1])
    assert str(info.value).startswith("UnsupportedImage: ")


def test_local_ai_cut_returns_a_png():
    backend = LocalBackend()
    handle = backend.ai_cut_start(ImageBytesFactory(seed=92))
    png = backend.ai_cut_segment(handle, [(32, 24)], [(2, 2)], 1)
    img = PILImage.open(io.BytesIO(png))
    assert img.format == "PNG" and img.mode == "RGBA" and img.size == (64, 48)
    assert img.getpixel((32, 24))[3] > img.getpixel((2, 2))[3]


def test_dummy_records_calls_and_fails_on_request():
    DummyBackend.reset()
    backend = DummyBackend()
    result = backend.process(ImageBytesFactory(seed=93), VARIANTS[:2])
    assert set(result.outputs) == {"full", "thumb"}
    assert DummyBackend.calls[0].variant_names == ["full", "thumb"]
    DummyBackend.fail_next(RuntimeError("nope"))
    with pytest.raises(RuntimeError, match="nope"):
        backend.process(ImageBytesFactory(seed=93), VARIANTS[:1])
    assert len(DummyBackend.calls) == 2
    DummyBackend.reset()


def test_backgroundcut_one_upload_one_process_all_variants(bgcut_server):
    backend = get_backend()
    assert isinstance(backend, BackgroundCutBackend)
    result = backend.process(ImageBytesFactory(seed=94), VARIANTS)
    assert result.calls == {"upload": 1, "process": 1, "download": 3}
    assert result.credits == 3.5
    assert result.upload and result.upload.expires_at is not None
    assert [sorted(c.variants) for c in bgcut_server.ledger] == [["full", "thumb", "white"]]
    formats = {n: PILImage.open(io.BytesIO(o.read())).format for n, o in result.outputs.items()}
    assert formats == {"full": "PNG", "thumb": "WEBP", "white": "JPEG"}
    # The upload is reused for more variants while valid.
    more = backend.process(ImageBytesFactory(seed=94), VARIANTS[:1], upload=result.upload)
    assert more.calls == {"upload": 0, "process": 1, "download": 1}
    # A handle we know has expired is not even tried.
    expired = UploadRef(result.upload.unique_filename, result.upload.expires_at.replace(year=2000))
    again = backend.process(ImageBytesFactory(seed=94), VARIANTS[:1], upload=expired)
    assert again.calls["upload"] == 1


def test_backgroundcut_ai_cut(bgcut_server):
    backend = get_backend()
    handle = backend.ai_cut_start(ImageBytesFactory(seed=95))
    png = backend.ai_cut_segment(handle, [(32, 24)], [(2, 2)], 1)
    assert PILImage.open(io.BytesIO(png)).format == "PNG"


def test_missing_key_is_a_clear_error():
    from wagtail_bgcut.backends.base import BackendError

    with (
        bgcut_settings(BACKEND="backgroundcut", API_KEY=None),
        pytest.raises(BackendError, match="No BackgroundCut API key"),
    ):
        BackgroundCutBackend().process(b"x", VARIANTS[:1])
