"""Admin URLs, mounted by ``admin_hooks`` under ``/admin/bgcut/`` (namespace ``wagtail_bgcut``)."""

from django.urls import path

from .views import aicut, cutouts_report, remove_background, status

app_name = "wagtail_bgcut"

urlpatterns = [
    path(
        "images/<int:image_id>/",
        remove_background.RemoveBackgroundView.as_view(),
        name="remove_background",
    ),
    path(
        "images/<int:image_id>/status/",
        remove_background.CutoutStatusView.as_view(),
        name="cutout_status",
    ),
    path("images/<int:image_id>/start/", remove_background.StartView.as_view(), name="start"),
    path(
        "images/<int:image_id>/save-as-new/",
        remove_background.SaveAsNewView.as_view(),
        name="save_as_new",
    ),
    path(
        "images/<int:image_id>/replace/",
        remove_background.ReplaceFileView.as_view(),
        name="replace_file",
    ),
    path(
        "images/<int:image_id>/replace/confirm/",
        remove_background.ReplaceConfirmView.as_view(),
        name="replace_confirm",
    ),
    path("images/<int:image_id>/redo/", remove_background.RedoView.as_view(), name="redo"),
    path(
        "images/<int:image_id>/redo/confirm/",
        remove_background.RedoConfirmView.as_view(),
        name="redo_confirm",
    ),
    path(
        "images/<int:image_id>/restore/",
        remove_background.RestoreOriginalView.as_view(),
        name="restore_original",
    ),
    path("images/<int:image_id>/ai-cut/", aicut.AICutView.as_view(), name="aicut"),
    path(
        "images/<int:image_id>/ai-cut/segment/", aicut.SegmentView.as_view(), name="aicut_segment"
    ),
    path("images/<int:image_id>/ai-cut/save/", aicut.SaveView.as_view(), name="aicut_save"),
    path("status/", status.StatusView.as_view(), name="status"),
    path("cutouts/", cutouts_report.CutoutReportView.as_view(), name="cutouts"),
    path(
        "cutouts/results/",
        cutouts_report.CutoutReportView.as_view(results_only=True),
        name="cutouts_results",
    ),
    path("status/retry/<int:cutout_id>/", status.RetryView.as_view(), name="retry"),
]
