"""A preset's ``extra``: provider options sent verbatim, part of the cache key, refused locally."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from tests.factories import ImageBytesFactory
from wagtail_bgcut import pipeline
from wagtail_bgcut.models import Cutout
from wagtail_bgcut.presets import cutout_options_key, get_preset
from wagtail_bgcut.variants import InvalidVariant, Variant

from .conftest import bgcut_settings

PRESETS = {
    "full": {"format": "png"},
    "shadowed": {"format": "png", "extra": {"shadow": {"opacity": 0.4, "angle": 45}}},
}


def test_extra_changes_the_cache_key_and_nothing_else_does():
    plain = Variant.from_dict({"format": "png"}, name="a")
    empty = Variant.from_dict({"format": "png", "extra": {}}, name="a")
    shadow = Variant.from_dict({"format": "png", "extra": {"shadow": {"opacity": 0.4}}}, name="a")
    same = Variant.from_dict({"extra": {"shadow": {"opacity": 0.4}}, "format": "png"}, name="b")
    other = Variant.from_dict({"format": "png", "extra": {"shadow": {"opacity": 0.5}}}, name="a")
    assert cutout_options_key(empty, "e") == cutout_options_key(plain, "e")
    assert cutout_options_key(shadow, "e") == cutout_options_key(same, "e")
    assert len({cutout_options_key(v, "e") for v in (plain, shadow, other)}) == 3


def test_extra_is_merged_into_the_output_variant_verbatim():
    variant = Variant.from_dict({"format": "webp", "extra": {"shadow": {"x": [1, 2]}}}, name="s")
    item = variant.output_variant()
    assert item["shadow"] == {"x": [1, 2]} and item["format"] == "webp"
    assert "extra" not in item
    # Stored as to_api() on the row and read back by the pipeline: nothing lost.
    assert Variant.from_dict(variant.to_api()) == variant


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"format": "jpg"}, "'format' is not an extra option"),
        (["shadow"], "must be an object"),
        ({"shadow": float("nan")}, "must be plain JSON"),
        ({"shadow": object()}, "must be plain JSON"),
    ],
)
def test_extra_shape_errors_name_the_preset(extra, message):
    with pytest.raises(InvalidVariant, match=message) as caught:
        Variant.from_dict({"extra": extra}, name="p")
    assert caught.value.field == "extra" and caught.value.variant_name == "p"


@pytest.mark.django_db
def test_the_api_receives_the_extra_options(bgcut_server):
    # The emulator knows no "shadow" option, so it refuses it by name (422) - which shows the
    # option reached the API inside the preset's output_variants item. Nothing is charged.
    with bgcut_settings(PRESETS=PRESETS):
        assert get_preset("shadowed").extra == {"shadow": {"angle": 45, "opacity": 0.4}}
        pipeline.process_now(_product(), ["shadowed"])
    row = Cutout.objects.get(preset="shadowed")
    assert row.status == "failed"
    assert "shadow" in row.error and "unknown option" in row.error
    assert row.retryable is False
    refused = [r for r in bgcut_server.requests if r.endpoint == "process_image"]
    assert [r.status for r in refused] == [422]
    assert bgcut_server.ledger == []


def _product():
    from tests.factories import ProductFactory

    return ProductFactory(data=ImageBytesFactory(seed=41)).photo


@pytest.mark.django_db
def test_the_local_engine_refuses_extra_with_a_clear_reason():
    with bgcut_settings(PRESETS=PRESETS):
        photo = _product()
        pipeline.process_now(photo, ["shadowed", "full"])
    rows = {row.preset: row for row in Cutout.objects.all()}
    assert rows["shadowed"].status == "failed"
    assert "local engine cannot honour" in rows["shadowed"].error
    assert "'shadowed' (shadow)" in rows["shadowed"].error
    assert rows["shadowed"].retryable is False


def test_system_check_warns_about_extra_with_the_local_engine():
    with bgcut_settings(PRESETS=PRESETS):
        ids = {message.id: message for message in run_checks()}
    assert "wagtail_bgcut.W050" in ids
    assert "'shadowed'" in ids["wagtail_bgcut.W050"].msg


def test_system_check_is_quiet_with_the_api_backend():
    with bgcut_settings(PRESETS=PRESETS, BACKEND="backgroundcut", API_KEY="k" * 32):
        ids = {message.id for message in run_checks()}
    assert "wagtail_bgcut.W050" not in ids


def test_system_check_reports_a_bad_extra_as_an_invalid_preset():
    with bgcut_settings(PRESETS={"bad": {"extra": {"quality": "low"}}}):
        errors = [m for m in run_checks() if m.id == "wagtail_bgcut.E003"]
    assert len(errors) == 1 and "'quality' is not an extra option" in errors[0].msg
