"""The variant spec mirrors the API's documented output_variants rules, field by field."""

import pytest

from wagtail_bgcut.variants import InvalidVariant, Variant, estimate_credits, parse_variants


def test_only_the_name_is_required_and_defaults_match_the_docs():
    v = Variant.from_dict({"variant_name": "result"})
    assert (v.max_resolution, v.format, v.quality, v.autocrop) == (12_000_000, "png", "high", False)
    assert v.background_color is None
    assert v.has_alpha


def test_to_api_sends_every_option_explicitly():
    sent = Variant.from_dict({"variant_name": "full"}).to_api()
    assert sent == {
        "variant_name": "full",
        "max_resolution": 12_000_000,
        "format": "png",
        "background_color": "transparent",
        "quality": "high",
        "output_compression": 90,
        "autocrop": False,
    }


@pytest.mark.parametrize("spelling", [None, "transparent", ""])
def test_both_spellings_of_no_background_mean_transparent(spelling):
    v = Variant.from_dict({"variant_name": "a", "background_color": spelling})
    assert v.background_color is None


def test_hex_colours_are_normalised_and_jpeg_never_has_alpha():
    v = Variant.from_dict({"variant_name": "a", "background_color": "#1A01FF", "format": "JPG"})
    assert v.background_color == "#1a01ff"
    assert v.format == "jpg"
    assert not v.has_alpha


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "variant_name"),
        ({"variant_name": ""}, "variant_name"),
        ({"variant_name": "a", "max_resolution": 249_999}, "max_resolution"),
        ({"variant_name": "a", "max_resolution": 25_000_001}, "max_resolution"),
        ({"variant_name": "a", "max_resolution": "12MP"}, "max_resolution"),
        ({"variant_name": "a", "format": "gif"}, "format"),
        ({"variant_name": "a", "background_color": "white"}, "background_color"),
        ({"variant_name": "a", "background_color": "#fff"}, "background_color"),
        ({"variant_name": "a", "quality": "ultra"}, "quality"),
        ({"variant_name": "a", "output_compression": 0}, "output_compression"),
        ({"variant_name": "a", "output_compression": 101}, "output_compression"),
        ({"variant_name": "a", "autocrop": "yes"}, "autocrop"),
        ({"variant_name": "a", "backgroud_color": "#ffffff"}, "backgroud_color"),
    ],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(InvalidVariant) as info:
        Variant.from_dict(options)
    assert info.value.field == field
    assert field in str(info.value)


def test_range_ends_are_accepted():
    Variant.from_dict({"variant_name": "a", "max_resolution": 250_000, "output_compression": 1})
    Variant.from_dict(
        {"variant_name": "a", "max_resolution": 25_000_000, "output_compression": 100}
    )


def test_duplicate_names_in_one_request_are_refused():
    with pytest.raises(InvalidVariant, match="used twice"):
        parse_variants([{"variant_name": "a"}, {"variant_name": "a", "format": "webp"}])


def test_an_empty_request_is_refused():
    with pytest.raises(InvalidVariant, match="at least one"):
        parse_variants([])


def test_options_key_ignores_the_name_but_not_the_options():
    a = Variant.from_dict({"variant_name": "a", "format": "webp"})
    b = Variant.from_dict({"variant_name": "b", "format": "webp"})
    c = Variant.from_dict({"variant_name": "a", "format": "png"})
    assert a.options_key() == b.options_key() != c.options_key()


def test_credits_are_one_per_variant_plus_half_for_autocrop():
    variants = parse_variants(
        [{"variant_name": "full"}, {"variant_name": "thumb", "autocrop": True}]
    )
    assert estimate_credits(variants) == 2.5


def test_a_preset_variant_is_named_after_its_preset_end_to_end():
    # The token, output_urls and finalize all key on one name; a preset that named its variant
    # otherwise would be paid for and then not found in output_urls.
    assert Variant.from_dict({"format": "webp"}, name="thumb").variant_name == "thumb"
    assert Variant.from_dict({"variant_name": "thumb"}, name="thumb").variant_name == "thumb"
    with pytest.raises(InvalidVariant, match="preset name 'thumb'"):
        Variant.from_dict({"variant_name": "small"}, name="thumb")
