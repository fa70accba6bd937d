"""Wagtail hooks. Kept thin: the work lives in :mod:`wagtail_bgcut.image_operations`."""

from wagtail import hooks

from . import admin_hooks  # noqa: F401  (admin UI hooks live in their own module)
from .image_operations import OPERATION_NAME, BgcutOperation


@hooks.register("register_image_operations")
def register_bgcut_operation():
    """One ``bgcut`` operation serves every preset: ``bgcut-<preset>`` passes the name as argument.

    Wagtail reads this hook each time it parses a filter spec, and the operation looks the preset up
    then, so presets added at run time with ``register_preset`` work in ``{% image %}`` at once.
    """
    return [(OPERATION_NAME, BgcutOperation)]
