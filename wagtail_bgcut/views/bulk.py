"""The "Remove background" bulk action on Wagtail's image listing.

The confirmation page shows, per preset, how many of the selected images still need a cut-out and
what that would cost in credits with the configured backend (0 with the local engine). Confirming
queues background tasks through the pipeline; nothing is processed in the request when a worker
task backend is configured.

The message afterwards says what really happened, counted once Wagtail's transaction commits (when
an in-process task backend has made the cut-outs): made now, made before, still being made in the
background, failed, or looking wrong (nothing or everything kept).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy
from wagtail.admin import messages
from wagtail.images.views.bulk_actions.image_bulk_action import ImageBulkAction

from .. import budget
from ..backends.base import get_backend
from ..cutouts import forget_cutouts, prefetch_cutouts
from ..forms import BulkRemoveBackgroundForm
from ..models import Cutout
from ..pipeline.run import refused_by_budget
from ..presets import all_presets, get_preset, preset_labels
from ..tasks import enqueue_retry, request_cutouts
from .base import find_cutout


def estimate(images: list[Any]) -> dict[str, dict[str, Any]]:
    """Per preset: images still needing a cut-out, and the credits that would cost."""
    backend = get_backend()
    presets = all_presets()
    prefetch_cutouts(images, list(presets))  # one query; find_cutout then reads the cache
    out: dict[str, dict[str, Any]] = {}
    labels = preset_labels()
    for name, variant in presets.items():
        missing = sum(1 for image in images if not ((c := find_cutout(image, name)) and c.ready))
        out[name] = {
            "label": labels.get(name, name),
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
        self.outcome: dict[str, Any] = {}
        return {
            "preset": self.cleaned_form.cleaned_data["preset"],
            "outcome": self.outcome,
            "user": self.request.user,
        }

    @classmethod
    def execute_action(
        cls,
        images,
        preset: str | None = None,
        outcome: dict[str, Any] | None = None,
        user: Any = None,
        **kwargs,
    ):
        """Queue the cut-outs, charged to ``user``'s budget cap by the worker.

        An editor whose cap cannot pay for even one cut-out is refused at once and nothing is
        queued; otherwise the worker refuses, before any spend, whatever passes the cap.
        """
        if not preset:
            return 0, 0
        outcome = outcome if outcome is not None else {}
        outcome.update(preset=preset, before={}, images=[], unreadable=0, refused="")
        try:
            budget.check(get_backend().estimate_credits([get_preset(preset)]), user=user)
        except budget.BudgetExceeded as exc:
            outcome["refused"] = str(exc)
            return 0, 0
        for image in images:
            try:
                rows = request_cutouts(image, [preset], requested_by=user)
                refused = [r.pk for r in rows if refused_by_budget(r)]
                if refused:  # refused for a cap earlier: this editor asks for it again
                    enqueue_retry(refused, user)
            except OSError:
                outcome["unreadable"] += 1  # a missing original: nothing to queue for this image
                continue
            outcome["images"].append(image)
            outcome["before"][image.pk] = bool(rows and rows[0].ready)
        return len(outcome["images"]), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> None:
        # Counted after the commit, when in-process work has run; Wagtail's atomic block ends
        # before the redirect, so the message still reaches the next page.
        request, outcome = self.request, self.outcome
        transaction.on_commit(lambda: tell_bulk_outcome(request, outcome), robust=True)
        return None


def tell_bulk_outcome(request: Any, outcome: dict[str, Any]) -> None:
    """One honest message per kind of result; see the module docstring."""
    preset = outcome.get("preset")
    if not preset:
        return
    if outcome.get("refused"):
        messages.error(request, outcome["refused"])
        return
    counts = {"made": 0, "had": 0, "waiting": 0, "failed": 0, "suspicious": 0}
    over_budget = ""
    for image in outcome["images"]:
        forget_cutouts(image)
        cutout = find_cutout(image, preset)
        if cutout is not None and cutout.ready:
            counts["had" if outcome["before"].get(image.pk) else "made"] += 1
            counts["suspicious"] += bool(cutout.suspicious)
        elif cutout is not None and cutout.status == Cutout.Status.FAILED:
            counts["failed"] += 1
            if refused_by_budget(cutout):
                over_budget = over_budget or cutout.error
        else:
            counts["waiting"] += 1
    label = preset_labels().get(preset, preset)
    status = [messages.button(reverse("wagtail_bgcut:status"), _("Status"))]
    texts = {
        "made": ngettext_lazy(
            "Background removed from %(count)d image (%(preset)s).",
            "Background removed from %(count)d images (%(preset)s).",
            "count",
        ),
        "had": ngettext_lazy(
            "%(count)d image already had this cut-out: nothing was spent on it.",
            "%(count)d images already had this cut-out: nothing was spent on them.",
            "count",
        ),
        "waiting": ngettext_lazy(
            "%(count)d cut-out is being made by the background worker (%(preset)s).",
            "%(count)d cut-outs are being made by the background worker (%(preset)s).",
            "count",
        ),
    }
    for kind in ("made", "had"):
        if counts[kind]:
            messages.success(request, texts[kind] % {"count": counts[kind], "preset": label})
    if counts["waiting"]:
        messages.info(
            request,
            texts["waiting"] % {"count": counts["waiting"], "preset": label},
            buttons=status,
        )
    if over_budget:  # the worker refused some before any spend: the cap's own words
        messages.error(request, over_budget, buttons=status)
    problems = counts["failed"] + counts["suspicious"] + outcome["unreadable"]
    if problems:
        messages.warning(
            request,
            ngettext(
                "%(count)d image needs a look: the cut-out failed, looks empty or full, or the "
                "original could not be read.",
                "%(count)d images need a look: the cut-out failed, looks empty or full, or the "
                "original could not be read.",
                problems,
            )
            % {"count": problems},
            buttons=status,
        )
