"""The "Cut-outs" report: every cut-out an editor may see, filtered and exported like Wagtail's own.

A Wagtail ``ReportView`` (listed under Reports, linked from the status page): filters by state,
preset, collection and processing date, and the spreadsheet export (CSV/XLSX) every Wagtail report
offers. Cut-outs are keyed by bytes, not images, so rows are limited to the bytes of files of
images the user may change, and each row names those images.
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.views.reports import ReportView
from wagtail.models import Collection

from ..models import Cutout, SourceFile
from ..presets import preset_labels
from ..wagtail_compat import image_permission_policy
from .access import ForbiddenIsForbidden, user_can_change_any_image
from .status import NEEDS_A_LOOK, images_by_hash


def allowed_hashes(user: Any, collection: Collection | None = None) -> QuerySet:
    """The byte hashes of the files of images the user may change (in one collection, if given)."""
    images = image_permission_policy().instances_user_has_permission_for(user, "change")
    if collection is not None:
        images = images.filter(collection=collection)
    return SourceFile.objects.filter(name__in=images.values("file")).values("sha256")


class CutoutFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("State"), choices=Cutout.Status.choices, empty_label=_("Any")
    )
    preset = django_filters.ChoiceFilter(
        label=_("Preset"), choices=lambda: list(preset_labels().items()), empty_label=_("Any")
    )
    collection = django_filters.ModelChoiceFilter(
        label=_("Collection"),
        queryset=Collection.objects.all(),
        empty_label=_("Any"),
        method="filter_collection",
    )
    processed_at = django_filters.DateFromToRangeFilter(
        label=_("Made"), widget=DateRangePickerWidget
    )
    needs_a_look = django_filters.BooleanFilter(
        label=_("Needs a look (failed, empty or full)"), method="filter_needs_a_look"
    )

    class Meta:
        model = Cutout
        fields = ["status", "preset", "collection", "processed_at", "needs_a_look"]

    def filter_collection(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(source_hash__in=allowed_hashes(self.request.user, value))

    def filter_needs_a_look(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(NEEDS_A_LOOK) if value else queryset.exclude(NEEDS_A_LOOK)


class CutoutReportView(ForbiddenIsForbidden, ReportView):
    page_title = _("Cut-outs")
    header_icon = "image"
    template_name = "wagtailadmin/reports/base_report.html"
    results_template_name = "wagtail_bgcut/admin/cutouts_report_results.html"
    index_url_name = "wagtail_bgcut:cutouts"
    index_results_url_name = "wagtail_bgcut:cutouts_results"
    filterset_class = CutoutFilterSet
    model = Cutout
    paginate_by = 50
    list_export = [
        "image_titles",
        "preset",
        "status",
        "problem",
        "credits_charged",
        "backend",
        "width",
        "height",
        "processed_at",
        "error",
    ]
    export_headings = {
        "image_titles": _("Images"),
        "preset": _("Preset"),
        "status": _("State"),
        "problem": _("Needs a look"),
        "credits_charged": _("Credits"),
        "backend": _("Engine"),
        "width": _("Width"),
        "height": _("Height"),
        "processed_at": _("Made"),
        "error": _("Error"),
    }

    def get(self, request, *args, **kwargs):
        if not user_can_change_any_image(request.user):
            raise PermissionDenied  # a 403 through ForbiddenIsForbidden
        return super().get(request, *args, **kwargs)

    def get_filename(self) -> str:
        return f"cutouts-{datetime.date.today():%Y-%m-%d}"

    def get_queryset(self) -> QuerySet:
        return Cutout.objects.filter(source_hash__in=allowed_hashes(self.request.user)).order_by(
            "-updated_at", "-pk"
        )

    def decorate_paginated_queryset(self, object_list: Any) -> list[Cutout]:
        rows = list(object_list)
        found = images_by_hash({c.source_hash for c in rows}, self.request.user)
        labels = preset_labels()
        for cutout in rows:
            cutout.images = found.get(cutout.source_hash, [])
            cutout.image_titles = ", ".join(image.title for image in cutout.images)
            cutout.preset_label = labels.get(cutout.preset, cutout.preset)
            cutout.problem = cutout.suspicious_message or (
                cutout.error if cutout.status == Cutout.Status.FAILED else ""
            )
        return rows

    def as_spreadsheet(self, queryset: Any, spreadsheet_format: str):
        # The export walks the whole filtered queryset, not one page: decorate it all.
        return super().as_spreadsheet(
            self.decorate_paginated_queryset(queryset), spreadsheet_format
        )
