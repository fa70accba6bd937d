"""The admin UI's Wagtail hooks (imported from ``wagtail_hooks``, kept apart from the render side).

- ``register_admin_urls``: the views under ``/admin/bgcut/``;
- ``register_admin_menu_item``: "Background removal" status, shown to users who may change images;
- ``register_reports_menu_item``: the "Cut-outs" report (every cut-out, filters, export);
- ``register_bulk_action``: "Remove background" on the image listing;
- ``register_log_actions``: "file replaced by a cut-out" / "original restored" in image history;
- ``insert_global_admin_css``: the app's small, ``bgcut-``-namespaced stylesheet, also needed on
  Wagtail's own pages (the listing badge; the bulk action's full label, not Wagtail's 160 px cut).

The image edit page gets its "Remove background" button from the template override
``wagtailimages/images/edit.html`` in this app (Wagtail offers no hook for that page's buttons).
"""

from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_urls
from .views.access import user_can_change_any_image
from .views.bulk import RemoveBackgroundBulkAction
from .views.files import REPLACE_ACTION, RESTORE_ACTION

ADMIN_CSS = "wagtail_bgcut/css/bgcut-admin.css"


@hooks.register("register_admin_urls")
def register_bgcut_admin_urls():
    return [path("bgcut/", include(admin_urls, namespace="wagtail_bgcut"))]


class StatusMenuItem(MenuItem):
    def is_shown(self, request):
        return user_can_change_any_image(request.user)


@hooks.register("register_admin_menu_item")
def register_bgcut_menu_item():
    return StatusMenuItem(
        _("Background removal"),
        reverse("wagtail_bgcut:status"),
        name="bgcut-status",
        icon_name="image",
        order=310,
    )


@hooks.register("register_reports_menu_item")
def register_bgcut_report_menu_item():
    return StatusMenuItem(
        _("Cut-outs"), reverse("wagtail_bgcut:cutouts"), name="bgcut-cutouts", icon_name="image"
    )


hooks.register("register_bulk_action", RemoveBackgroundBulkAction)


@hooks.register("insert_global_admin_css")
def bgcut_admin_css():
    return format_html('<link rel="stylesheet" href="{}">', static(ADMIN_CSS))


@hooks.register("register_log_actions")
def register_bgcut_log_actions(actions):
    actions.register_action(
        REPLACE_ACTION, _("Replace file with cut-out"), _("File replaced with its cut-out")
    )
    actions.register_action(RESTORE_ACTION, _("Restore original file"), _("Original file restored"))
