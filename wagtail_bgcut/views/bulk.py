"""The "Remove background" bulk action on Wagtail's image listing.

The confirmation page shows, per preset, how many of the selected images still need a cut-out and
what that would cost in credits with the configured backend (0 with the local engine). Confirming
queues background tasks through the pipeline; nothing is processed in the request when a worker
task backend is configured.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.images.views.bulk_actions.image_bulk_action import ImageBulkAction

from ..backends.base import get_backend
from ..cutouts import prefetch_cutouts
from ..forms import BulkRemoveBackgroundForm
from ..presets import all_presets
from ..tasks import request_cutouts
from .base import find_cutout


def estimate(images: list[Any]) -> dict[str, dict[str, Any]]:
    """Per preset: images still needing a cut-out, and the credits that would cost."""
    backend = get_backend()
    presets = all_presets()
    prefetch_cutouts(images, list(presets))  # one query; find_cutout then reads the cache
    out: dict[str, dict[str, Any]] = {}
    for name, variant in presets.items():
        missing = sum(1 for image in images if not ((c := find_cutout(image, name)) and c.ready))
        out[name] = {
            "missing": missing,
            "credits": backend.estimate_credits([variant]) * missing,
        }
    return out


class RemoveBackgroundBulkAction(ImageBulkAction):
    display_name = _("Remove background")
    action_type = "bgcut_remove_background"
    aria_label = _("Remove the background of the selected images")
    template_name = "wagtail_bgcut/admin/bulk_remove_background.html"
    action_priority = 50
    form_class = BulkRemoveBackgroundForm

    def check_perm(self, image: Any) -> bool:
        return self.permission_policy.user_has_permission_for_instance(
            self.request.user, "change", image
        )

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        images, _no_access = self.get_actionable_objects()
        self.estimates = estimate(images)
        kwargs["estimates"] = {name: e["credits"] for name, e in self.estimates.items()}
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["estimates"] = getattr(self, "estimates", {})
        context["backend_name"] = get_backend().name
        context["spends_credits"] = get_backend().spends_credits
        return context

    def get_execution_context(self) -> dict[str, Any]:
        return {"preset": self.cleaned_form.cleaned_data["preset"]}

    @classmethod
    def execute_action(cls, images, preset: str | None = None, **kwargs: Any):
        if not preset:
            return 0, 0
        count = 0
        for image in images:
            try:
                request_cutouts(image, [preset])
            except OSError:
                continue  # a missing original: nothing to queue for this image
            count += 1
        return count, 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return ngettext(
            "Background removal was queued for %(count)d image.",
            "Background removal was queued for %(count)d images.",
            num_parent_objects,
        ) % {"count": num_parent_objects}
