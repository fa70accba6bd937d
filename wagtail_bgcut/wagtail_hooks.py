"""Wagtail hooks. Kept thin: the work lives in :mod:`wagtail_bgcut.image_operations`."""

from wagtail import hooks


@hooks.register("register_image_operations")
def register_bgcut_operation():
    """One ``bgcut`` operation serves every preset: ``bgcut-<preset>`` passes the name as argument.

    Wagtail reads this hook each time it parses a filter spec, and the operation looks the preset up
    then, so presets added at run time with ``register_preset`` work in ``{% image %}`` at once.
    """
    from .image_operations import OPERATION_NAME, BgcutOperation

    return [(OPERATION_NAME, BgcutOperation)]


from . import admin_hooks  # noqa: F401,E402  (admin UI hooks live in their own module)
