"""Who may ask for an upload token: ``WAGTAIL_BGCUT['DIRECT_UPLOAD_PERMISSION']`` callables.

Tokens spend credits, so the default admits signed-in users only; a public form opts in to
``allow_any`` explicitly (and keeps the per-IP throttle).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.module_loading import import_string

from ..conf import bgcut_settings
from ..exceptions import BgcutConfigurationError

Permission = Callable[[HttpRequest], bool]


def is_authenticated(request: HttpRequest) -> bool:
    """The default: any signed-in, active user."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active)


def allow_any(request: HttpRequest) -> bool:
    """Anyone, signed in or not (public forms; the per-IP throttle still applies)."""
    return True


def resolve_permission(permission: str | Permission | None = None) -> Permission:
    """The callable in force: ``permission`` if given, else the setting."""
    permission = permission or bgcut_settings.DIRECT_UPLOAD_PERMISSION
    if callable(permission):
        return permission
    try:
        func = import_string(permission)
    except ImportError as exc:
        raise BgcutConfigurationError(
            f"WAGTAIL_BGCUT['DIRECT_UPLOAD_PERMISSION'] is {permission!r}, which cannot be "
            f"imported ({exc})."
        ) from exc
    if not callable(func):
        raise BgcutConfigurationError("WAGTAIL_BGCUT['DIRECT_UPLOAD_PERMISSION'] is not callable.")
    return func
