"""Bad arguments are refused before any request, with messages that name the field."""

from __future__ import annotations

import pytest

from wagtail_bgcut.client import BackgroundCutClient
from wagtail_bgcut.variants import InvalidVariant


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ({}, "variant_name"),
        ({"variant_name": ""}, "variant_name"),
        ({"variant_name": "a", "max_resolution": 249_999}, "max_resolution"),
        ({"variant_name": "a", "max_resolution": 25_000_001}, "max_resolution"),
        ({"variant_name": "a", "format": "gif"}, "format"),
        ({"variant_name": "a", "background_color": "white"}, "background_color"),
        ({"variant_name": "a", "quality": "ultra"}, "quality"),
        ({"variant_name": "a", "output_compression": 0}, "output_compression"),
        ({"variant_name": "a", "output_compression": 101}, "output_compression"),
        ({"variant_name": "a", "autocrop": "yes"}, "autocrop"),
        ({"variant_name": "a", "colour": "#fff"}, "colour"),
    ],
)
def test_bad_variants_name_the_field_and_send_nothing(stub, client, variant, field):
    with pytest.raises(InvalidVariant) as info:
        client.process_image("abc", [variant])
    assert info.value.field == field
    assert field in str(info.value)
    with pytest.raises(InvalidVariant):
        client.create_remove_bg_token([variant])
    assert stub.seen == []


def test_duplicate_variant_names_are_refused_before_the_api_says_400(stub, client):
    with pytest.raises(InvalidVariant, match="used twice"):
        client.process_image("abc", [{"variant_name": "x"}, {"variant_name": "x"}])
    assert stub.seen == []


def test_empty_variant_list_is_refused(stub, client):
    with pytest.raises(InvalidVariant, match="at least one"):
        client.process_image("abc", [])


@pytest.mark.parametrize(
    ("green", "red", "number", "words"),
    [
        ([(1, 2)], [], 0, "request_number"),
        ([(1, 2)], [], True, "request_number"),
        ([(1, 2)], [], "1", "request_number"),
        ([(1,)], [], 1, r"greenDots\[0\]"),
        ([{"x": 1}], [], 1, r"greenDots\[0\]"),
        ([(1, 2)], [(3, "4")], 1, r"redDots\[0\]\.y"),
        ([(1, 2)], [(-3, 4)], 1, r"redDots\[0\]\.x"),
        ([(float("nan"), 2)], [], 1, r"greenDots\[0\]\.x"),
        ("12", [], 1, "greenDots"),
    ],
)
def test_bad_segment_arguments(stub, client, green, red, number, words):
    with pytest.raises(ValueError, match=words):
        client.ai_cut_segment("abc", green, red, number)
    assert stub.seen == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"return_type": "JPG"}, "return_type"),
        ({"return_type": "WEBP_0"}, "return_type"),
        ({"return_type": "WEBP_101"}, "return_type"),
        ({"return_type": "PNG_50"}, "return_type"),
        ({"channels": "rgb"}, "channels"),
        ({"quality": "best"}, "quality"),
        ({"max_resolution": 12_000_001}, "max_resolution"),
        ({"max_resolution": "4000000"}, "max_resolution"),
    ],
)
def test_bad_v2_options(stub, client, png_bytes, kwargs, words):
    with pytest.raises(ValueError, match=words):
        client.cut_v2(png_bytes, **kwargs)
    assert stub.seen == []


def test_unreadable_images_fail_locally_with_the_imaging_error(stub, client):
    from wagtail_bgcut.imaging.errors import ImageError

    with pytest.raises(ImageError):
        client.upload_image(b"this is not an image")
    with pytest.raises(ImageError):
        client.upload_image(b"")
    with pytest.raises(TypeError, match="binary"):
        client.upload_image(__import__("io").StringIO("text"))
    assert stub.seen == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"api_base": "ftp://x"}, "api_base"),
        ({"token_api_base": "backgroundcut.co/api"}, "token_api_base"),
        ({"api_base": "https://x/?a=1"}, "api_base"),
        ({"timeout": (1, 0)}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retry_time": 0}, "max_retry_time"),
        ({"rate_limit": 50, "rate_limit_max": 10}, "rate_limit"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"max_download_bytes": 0}, "max_download_bytes"),
    ],
)
def test_bad_constructor_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        BackgroundCutClient("k", **kwargs)


def test_base_urls_are_normalised():
    c = BackgroundCutClient(
        "k", api_base="https://api.example.com/", token_api_base="https://example.com/api/v3/"
    )
    assert c.api_base == "https://api.example.com"
    assert c.token_api_base == "https://example.com/api"
