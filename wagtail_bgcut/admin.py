"""The Django admin for plain Django sites: cut-outs listed, filtered, retried and redone.

Wagtail sites have the Wagtail admin's status page (``views/status.py``); a site with only
``django.contrib.admin`` gets this. Rows are made by the pipeline, never by hand, so the admin
cannot add, edit or delete them: files are freed by ``bgcut_cleanup`` when no original has their
bytes any more. Both actions queue work (never wait on the API in the request):

* **Retry** failed or stuck rows, even past ``MAX_ATTEMPTS`` (a manual retry).
* **Redo** finished rows (after a model or engine change, or a bad cut). It spends credits again
  with the API, so it asks for confirmation showing the estimated credits first.

:class:`CutoutPreviewAdminMixin` shows a model's ``BackgroundRemovedImageField`` values over a
checkerboard on its change page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .backends.base import get_backend
from .fields import BackgroundRemovedImageField
from .models import Cutout, SourceFile
from .tasks import enqueue_cutouts, enqueue_retry
from .variants import InvalidVariant, Variant
from .widgets import render_cutout_preview

__all__ = ["CutoutAdmin", "CutoutPreviewAdminMixin"]

Status = Cutout.Status


def _variants(rows: list[Cutout]) -> list[Variant]:
    variants = []
    for row in rows:
        try:
            variants.append(Variant.from_dict({**row.options, "variant_name": row.preset}))
        except InvalidVariant:
            continue  # options an older version wrote; the estimate leaves them out
    return variants


@admin.register(Cutout)
class CutoutAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "preset",
        "status",
        "backend",
        "size_display",
        "credits_charged",
        "attempts",
        "updated_at",
    ]
    list_display_links = ["thumbnail", "preset"]
    list_filter = ["status", "preset", "backend", "retryable", "format"]
    search_fields = ["source_hash", "preset", "error"]
    date_hierarchy = "created_at"
    ordering = ["-updated_at"]
    list_per_page = 50
    actions = ["retry", "redo"]
    fields = [
        "preview",
        "preset",
        "status",
        "error",
        "retryable",
        "attempts",
        "backend",
        "options",
        "source_hash",
        "file",
        "size_display",
        "format",
        "credits_charged",
        "requested_by",
        "created_at",
        "processed_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from the pipeline only

    def has_delete_permission(self, request: HttpRequest, obj: Cutout | None = None) -> bool:
        return False  # bgcut_cleanup frees files no original needs; nothing is lost by a click

    @admin.display(description=_("cut-out"))
    def thumbnail(self, obj: Cutout) -> SafeString | str:
        if not obj.ready:
            return "—"
        return render_cutout_preview(obj.file, width=obj.width, height=obj.height, max_size=64)

    @admin.display(description=_("preview"))
    def preview(self, obj: Cutout) -> SafeString | str:
        if not obj.ready:
            return render_cutout_preview(None)
        return render_cutout_preview(obj.file, width=obj.width, height=obj.height, max_size=480)

    @admin.display(description=_("size"))
    def size_display(self, obj: Cutout) -> str:
        if not obj.width or not obj.height:
            return "—"
        return format_html("{}\u00d7{}", obj.width, obj.height)

    @admin.action(description=_("Retry the selected failed cut-outs"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Cutout]) -> None:
        ids = list(queryset.exclude(status=Status.DONE).values_list("pk", flat=True))
        skipped = queryset.filter(status=Status.DONE).count()
        if ids:
            enqueue_retry(ids, request.user)  # charged to this user's budget cap
            count = len(ids)
            messages.success(
                request,
                ngettext("%d cut-out was queued again.", "%d cut-outs were queued again.", count)
                % count,
            )
        if skipped:
            messages.info(
                request,
                ngettext(
                    "%d finished cut-out was left alone (use “Redo” to make it again).",
                    "%d finished cut-outs were left alone (use “Redo” to make them again).",
                    skipped,
                )
                % skipped,
            )

    @admin.action(
        description=_("Redo the selected cut-outs (may spend credits)"), permissions=["change"]
    )
    def redo(self, request: HttpRequest, queryset: QuerySet[Cutout]) -> HttpResponse | None:
        finished = list(queryset.filter(status=Status.DONE).order_by("pk"))
        # A cut-out whose original is gone could not be made again: redoing it would only stop
        # serving the one that exists.
        known = set(
            SourceFile.objects.filter(sha256__in={r.source_hash for r in finished}).values_list(
                "sha256", flat=True
            )
        )
        rows = [row for row in finished if row.source_hash in known]
        if len(rows) < len(finished):
            messages.warning(
                request,
                _("Cut-outs whose original no longer exists were left alone: %(count)d.")
                % {"count": len(finished) - len(rows)},
            )
        if not rows:
            messages.warning(
                request, _("Only finished cut-outs of existing originals can be redone.")
            )
            return None
        if request.POST.get("confirm") != "yes":
            backend = get_backend()
            context = {
                **self.admin_site.each_context(request),
                "title": _("Redo cut-outs?"),
                "opts": self.model._meta,
                "rows": rows,
                "credits": backend.estimate_credits(_variants(rows)),
                "engine": backend.name,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/wagtail_bgcut/cutout/redo_confirm.html", context
            )
        # Conditional: a row another request already redid (no longer done) is not queued twice.
        ids = [row.pk for row in rows]
        marked = list(
            Cutout.objects.filter(pk__in=ids, status=Status.DONE).values_list("pk", flat=True)
        )
        Cutout.objects.filter(pk__in=marked, status=Status.DONE).update(
            status=Status.PENDING,
            attempts=0,
            error="",
            retryable=True,
            requested_by=request.user,  # charged to this user's budget cap
        )
        if marked:
            enqueue_cutouts(marked)
        messages.success(
            request,
            ngettext(
                "%d cut-out is being made again.", "%d cut-outs are being made again.", len(marked)
            )
            % len(marked),
        )
        return None


class CutoutPreviewAdminMixin:
    """For a ``ModelAdmin`` of a model with ``BackgroundRemovedImageField``: previews on its page.

    ``class ProductAdmin(CutoutPreviewAdminMixin, admin.ModelAdmin): ...`` adds a read-only
    "Cut-outs" row showing each such field's file over a checkerboard.
    """

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*fields, "bgcut_previews"] if "bgcut_previews" not in fields else fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        return fields if "bgcut_previews" in fields else [*fields, "bgcut_previews"]

    @admin.display(description=_("Cut-outs"))
    def bgcut_previews(self, obj: Any) -> SafeString:
        parts = [
            render_cutout_preview(getattr(obj, field.attname), caption=str(field.verbose_name))
            for field in obj._meta.get_fields()
            if isinstance(field, BackgroundRemovedImageField)
        ]
        return format_html(
            "<div style='display:flex;gap:16px;flex-wrap:wrap'>{}</div>", SafeString("".join(parts))
        )
