"""A Willow operation so Wagtail's rendition pipeline can remove backgrounds.

Register it once, e.g. in your ``AppConfig.ready()`` (the bundled app does not do it for you, so
Willow's registry is only touched by sites that want it)::

    from wagtail_bgcut.willow import register_operations
    register_operations()

Then any code holding a Willow image can call it, for instance a custom Wagtail filter operation::

    willow = willow.remove_background(format="png", background_color="#ffffff")

Willow and Pillow are imported only inside the functions, so importing this module is free.
The returned image is always RGBA (or RGB with a background colour); the rendition's output
format decides the file type, so pair it with ``format-png`` or ``format-webp`` to keep alpha.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPERATION_NAME", "register_operations", "remove_background"]

OPERATION_NAME = "remove_background"


def remove_background(image: Any, **options: Any) -> Any:
    """Willow operation: cut the subject out of a ``PillowImage`` and return a new one.

    ``options`` are variant options (see :func:`wagtail_bgcut.pillow.remove_background`), plus
    ``model_path`` for an ONNX model.
    """
    # Lazy, like every import here: importing this module must stay free (see the docstring).
    from willow.plugins.pillow import PillowImage

    # Lazy: wagtail_bgcut.pillow loads the imaging package and OpenCV.
    from .pillow import remove_background as pillow_remove_background

    return PillowImage(pillow_remove_background(image.image, **options))


def register_operations(registry: Any = None) -> None:
    """Add :func:`remove_background` to Willow's registry for ``PillowImage`` (idempotent)."""
    if registry is None:
        from willow.registry import registry  # lazy: importing this module stays free
    from willow.plugins.pillow import PillowImage  # lazy: importing this module stays free

    registry.register_operation(PillowImage, OPERATION_NAME, remove_background)
