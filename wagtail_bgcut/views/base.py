"""Shared bits of the admin views: the page mixin, cut-out lookup and JSON answers."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ..conf import bgcut_settings
from ..cutouts import resolve_cutout
from ..exceptions import UnknownPreset
from ..forms import default_preset
from ..imaging.loading import MAX_ASPECT
from ..models import Cutout
from ..presets import all_presets


class ImageAdminPage(WagtailAdminTemplateMixin, TemplateView):
    """An admin page about one image, with Wagtail's header and breadcrumbs."""

    header_icon = "image"
    image: Any = None

    def get_breadcrumbs_items(self):
        items = list(super().get_breadcrumbs_items())
        items.append({"url": reverse("wagtailimages:index"), "label": _("Images")})
        items.append(
            {"url": reverse("wagtailimages:edit", args=[self.image.pk]), "label": self.image.title}
        )
        items.append({"url": "", "label": self.get_page_title()})
        return items

    def get_page_subtitle(self):
        return self.image.title


def chosen_preset(value: str | None) -> str:
    """A known preset name from a request value, else the default preset."""
    if value and value in all_presets():
        return value
    return default_preset()


def find_cutout(image: Any, preset: str) -> Cutout | None:
    """The cut-out row of this image for the preset, any status, without queueing work."""
    try:
        return resolve_cutout(image, preset, request=False)
    except UnknownPreset:
        return None


def cutout_state(cutout: Cutout | None) -> dict[str, Any]:
    """What the status endpoint and the page's controller need to know about a cut-out."""
    if cutout is None:
        return {"status": "missing", "ready": False, "url": "", "error": ""}
    return {
        "status": cutout.status,
        "status_label": str(cutout.get_status_display()),
        "ready": cutout.ready,
        "url": cutout.file.url if cutout.ready else "",
        "width": cutout.width,
        "height": cutout.height,
        "error": cutout.error if cutout.status == Cutout.Status.FAILED else "",
    }


def uncuttable(image: Any) -> str | None:
    """Why the engine would refuse this image, from the size Wagtail stored (no file read).

    The admin pages show a preview rendition, and Wagtail's renderer decodes every pixel: an image
    the engine refuses from its header (a 1 x 100,000,000 PNG that Wagtail's upload let through)
    would cost gigabytes and end in a MemoryError before the page could say why.
    """
    width, height = int(image.width or 0), int(image.height or 0)
    if width < 1 or height < 1:
        return str(_("The image has no pixels."))
    limit = int(bgcut_settings.MAX_SOURCE_PIXELS)
    if width * height > limit:
        return str(
            _(
                "The image is %(w)dx%(h)d (%(mp)s megapixels); at most %(limit)s megapixels can "
                "be cut out here."
            )
            % {
                "w": width,
                "h": height,
                "mp": f"{width * height / 1e6:.1f}",
                "limit": f"{limit / 1e6:g}",
            }
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        return str(
            _("The image is %(w)dx%(h)d: too long and thin to cut out.") % {"w": width, "h": height}
        )
    return None


def json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": str(message)}, status=status)
