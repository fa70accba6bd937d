"""A public upload page: visitors' photos go through the direct-upload widget.

Without an API key the widget talks to this site's own local engine, so anyone may try it (the
per-IP throttle still applies). With BGCUT_API_KEY set, uploads spend credits: then only
signed-in users may upload.
"""

from django import forms
from django.shortcuts import render
from wagtail.images import get_image_model

from wagtail_bgcut.conf import bgcut_settings
from wagtail_bgcut.direct_upload.widgets import DirectUploadField


def demo_permission(request) -> bool:
    return request.user.is_authenticated or not bgcut_settings.API_KEY


class UploadForm(forms.Form):
    photo = DirectUploadField(presets=["full", "thumbnail"], label="Your photo")


def upload_page(request):
    recent = get_image_model().objects.filter(title__startswith="upload-").order_by("-pk")[:8]
    return render(
        request,
        "shop/upload.html",
        {"form": UploadForm(), "recent": list(recent), "api": bool(bgcut_settings.API_KEY)},
    )
