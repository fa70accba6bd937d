"""The status page: cut-outs that need a look, waiting or failed (with reasons and retry), credits.

Every cut-out, with filters and export, is in the "Cut-outs" report (:mod:`.cutouts_report`).

Cut-outs are keyed by the bytes of a file, not by an image; the page maps them back to the images
whose current file has those bytes and shows only cut-outs of images the user may change. Retrying
needs ``change`` on one of those images.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .. import budget
from ..imaging.sanity import FULL_ABOVE, TINY_BELOW
from ..models import Cutout, SourceFile
from ..presets import preset_labels
from ..tasks import enqueue_retry
from ..wagtail_compat import image_permission_policy
from .access import ForbiddenIsForbidden, user_can_change_any_image

LIMIT = 200

# Failed, or finished with (almost) nothing or everything kept: imaging.sanity's verdicts in SQL.
NEEDS_A_LOOK = Q(status=Cutout.Status.FAILED) | Q(
    status=Cutout.Status.DONE, kept_fraction__isnull=False
) & (Q(kept_fraction__lt=TINY_BELOW) | Q(kept_fraction__gt=FULL_ABOVE))


def images_by_hash(hashes: set[str], user: Any) -> dict[str, list[Any]]:
    """``{sha256: [images the user may change whose file has these bytes]}``."""
    names: dict[str, str] = dict(
        SourceFile.objects.filter(sha256__in=hashes).values_list("name", "sha256")
    )
    allowed = image_permission_policy().instances_user_has_permission_for(user, "change")
    found: dict[str, list[Any]] = defaultdict(list)
    for image in allowed.filter(file__in=list(names)).order_by("title"):
        found[names[image.file.name]].append(image)
    return found


class StatusView(ForbiddenIsForbidden, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_bgcut/admin/status.html"
    page_title = gettext_lazy("Background removal")
    header_icon = "image"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get(self, request, *args, **kwargs):
        if not user_can_change_any_image(request.user):
            raise PermissionDenied
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        open_rows = list(
            Cutout.objects.filter(
                status__in=[Cutout.Status.PENDING, Cutout.Status.PROCESSING, Cutout.Status.FAILED]
            ).order_by("-updated_at")[:LIMIT]
        )
        # Finished but implausible (nothing or everything kept): imaging.sanity's verdicts.
        odd_rows = list(
            Cutout.objects.filter(NEEDS_A_LOOK, status=Cutout.Status.DONE).order_by(
                "-processed_at"
            )[:LIMIT]
        )
        images = images_by_hash({c.source_hash for c in [*open_rows, *odd_rows]}, self.request.user)
        labels = preset_labels()
        rows = [
            {"cutout": c, "images": images[c.source_hash], "label": labels.get(c.preset, c.preset)}
            for c in open_rows
            if images.get(c.source_hash)
        ]
        spent = Cutout.objects.filter(credits_charged__gt=0, processed_at__isnull=False)
        status = budget.status()
        context.update(
            rows=rows,
            suspicious=[
                {
                    "cutout": c,
                    "images": images[c.source_hash],
                    "label": labels.get(c.preset, c.preset),
                }
                for c in odd_rows
                if images.get(c.source_hash)
            ],
            failed=[r for r in rows if r["cutout"].status == Cutout.Status.FAILED],
            waiting=[r for r in rows if r["cutout"].status != Cutout.Status.FAILED],
            per_day=list(
                spent.annotate(day=TruncDate("processed_at"))
                .values("day")
                .annotate(credits=Sum("credits_charged"), count=Count("pk"))
                .order_by("-day")[:60]
            ),
            per_preset=[
                {**row, "label": labels.get(row["preset"], row["preset"])}
                for row in spent.values("preset")
                .annotate(credits=Sum("credits_charged"), count=Count("pk"))
                .order_by("-credits")
            ],
            total_credits=spent.aggregate(total=Sum("credits_charged"))["total"] or 0,
            budget=status,
            # Everyone's spend for superusers; an editor sees their own line only.
            budget_users=[
                u
                for u in status.per_user
                if self.request.user.is_superuser or u.user_id == str(self.request.user.pk)
            ],
        )
        return context


class RetryView(ForbiddenIsForbidden, View):
    """Retry one failed (or stuck) cut-out, even past MAX_ATTEMPTS."""

    http_method_names = ["post"]

    def post(self, request, cutout_id: int):
        cutout = get_object_or_404(Cutout, pk=cutout_id)
        if not images_by_hash({cutout.source_hash}, request.user).get(cutout.source_hash):
            raise PermissionDenied
        if cutout.status != Cutout.Status.DONE:
            enqueue_retry([cutout.pk], request.user)
            messages.success(request, _("The cut-out was queued again."))
        return redirect(reverse("wagtail_bgcut:status"))
