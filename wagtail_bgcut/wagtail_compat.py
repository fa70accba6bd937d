"""Small shims over the Wagtail APIs that moved between 7.4 LTS and 8.0.

Wagtail 8.0 looks permission policies up in ``wagtail.permissions.policy_registry`` and deprecates
``wagtail.images.permissions.permission_policy`` (importing it warns); 7.4 has no registry and
only offers that module attribute. Everything in this package asks :func:`image_permission_policy`.

Wagtail 8.0 also added ``{% block stats %}`` to the image edit page; see
:data:`IMAGE_EDIT_HAS_STATS_BLOCK`.
"""

from __future__ import annotations

from typing import Any

from wagtail import VERSION as WAGTAIL_VERSION
from wagtail.images import get_image_model


def image_permission_policy() -> Any:
    """The permission policy Wagtail uses for the image model (custom image models included)."""
    # Imported here: which module exists depends on the Wagtail release (8.0 added the registry).
    try:
        from wagtail.permissions import policy_registry
    except ImportError:  # Wagtail < 8.0
        from wagtail.images.permissions import permission_policy

        return permission_policy
    return policy_registry.get_by_type(get_image_model())


#: Wagtail 8.0 wraps the file stats on the image edit page (dimensions, file size, usage) in
#: ``{% block stats %}``; 7.4's ``wagtailimages/images/edit.html`` has no block there, so an
#: override of ``stats`` is silently ignored. The edit page override uses this to place its buttons.
IMAGE_EDIT_HAS_STATS_BLOCK: bool = WAGTAIL_VERSION[:2] >= (8, 0)
