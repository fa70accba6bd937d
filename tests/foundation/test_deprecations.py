"""Import paths the docs named before the design step still work, and say where to go instead."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("wagtail_bgcut.api", "wagtail_bgcut.cutouts", ["get_cutout", "resolve_cutout"]),
        (
            "wagtail_bgcut.views.compat",
            "wagtail_bgcut.wagtail_compat",
            ["image_permission_policy", "IMAGE_EDIT_HAS_STATS_BLOCK"],
        ),
        ("wagtail_bgcut.client.results", "wagtail_bgcut.client.responses", ["ProcessResult"]),
    ],
)
def test_a_moved_module_still_imports_with_a_warning(old, new, names):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    for name in names:
        assert getattr(module, name) is getattr(target, name)


@pytest.mark.parametrize(
    ("name", "new_module", "new_name"),
    [
        ("request_cutouts", "wagtail_bgcut.tasks", "request_cutouts"),
        ("purge_renditions", "wagtail_bgcut.image_operations", "purge_bgcut_renditions"),
    ],
)
def test_a_function_moved_out_of_the_pipeline_still_works_with_a_warning(
    name, new_module, new_name
):
    from wagtail_bgcut import pipeline

    with pytest.warns(DeprecationWarning, match=rf"{new_module}\.{new_name}"):
        old = getattr(pipeline, name)
    assert old is getattr(importlib.import_module(new_module), new_name)


def test_an_unknown_pipeline_name_is_still_an_attribute_error():
    from wagtail_bgcut import pipeline

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pipeline.nope


def test_the_package_offers_request_cutouts():
    import wagtail_bgcut
    from wagtail_bgcut.tasks import request_cutouts

    assert wagtail_bgcut.request_cutouts is request_cutouts
