"""Looking images up for a user: 404 when missing, 403 without the needed permission.

Anonymous users never get here: Wagtail wraps every ``register_admin_urls`` pattern in
``require_admin_access``, which sends them to the login page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from wagtail.images import get_image_model

from ..wagtail_compat import image_permission_policy


def can(user: Any, action: str, image: Any) -> bool:
    """Whether ``user`` may do ``action`` (``change``, ``delete``...) to this image."""
    return image_permission_policy().user_has_permission_for_instance(user, action, image)


def can_add_to_collection(user: Any, collection: Any) -> bool:
    """Whether ``user`` may add images to ``collection`` (needed to save a cut-out as an image)."""
    policy = image_permission_policy()
    return policy.collections_user_has_permission_for(user, "add").filter(pk=collection.pk).exists()


def get_image_for(user: Any, image_id: Any, actions: Iterable[str] = ("change",)) -> Any:
    """The image with this id, or 404; ``PermissionDenied`` (403) unless every action is allowed.

    ``"add"`` means adding an image to the image's own collection.
    """
    image = get_object_or_404(get_image_model(), pk=image_id)
    for action in actions:
        allowed = (
            can_add_to_collection(user, image.collection)
            if action == "add"
            else can(user, action, image)
        )
        if not allowed:
            raise PermissionDenied
    return image


def user_can_change_any_image(user: Any) -> bool:
    """Whether the user may change at least one image (who sees the status menu item)."""
    return image_permission_policy().user_has_permission(user, "change")


def forbidden(request) -> Any:
    """A real 403: Wagtail's admin would turn ``PermissionDenied`` into a redirect to the dashboard,
    which hides from scripts (and tests) that the request was refused."""
    message = _("Sorry, you do not have permission to do this to this image.")
    wants_json = "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )
    if wants_json:
        return JsonResponse({"error": message}, status=403)
    return TemplateResponse(
        request, "wagtail_bgcut/admin/forbidden.html", {"message": message}, status=403
    )


class ForbiddenIsForbidden:
    """View mixin: ``PermissionDenied`` becomes a 403 response (page or JSON)."""

    def dispatch(self, request, *args, **kwargs):
        try:
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response.render()  # so a denial inside rendering is caught here too
            return response
        except PermissionDenied:
            return forbidden(request)
