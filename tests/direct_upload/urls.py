"""URLs for the direct-upload tests: the package's endpoints, a public copy, a page with the widget,
and media serving (so a browser can show stored cut-outs from the live server)."""

from django import forms
from django.conf import settings
from django.http import HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path, re_path
from django.views.static import serve

from wagtail_bgcut.direct_upload.permissions import allow_any
from wagtail_bgcut.direct_upload.urls import get_urls
from wagtail_bgcut.direct_upload.widgets import DirectUploadField


class UploadForm(forms.Form):
    photo = DirectUploadField(presets=["full", "thumbnail"])


PAGE = Template(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Upload</title></head>
<body><form method="post">{% csrf_token %}{{ form.photo }}<button type="submit">Save</button></form>
{% if cleaned %}<p id="cleaned">{{ cleaned.r.image_id }}</p>{% endif %}</body></html>"""
)


def upload_page(request):
    form = UploadForm(request.POST or None)
    cleaned = form.cleaned_data["photo"] if request.method == "POST" and form.is_valid() else None
    return HttpResponse(PAGE.render(RequestContext(request, {"form": form, "cleaned": cleaned})))


urlpatterns = [
    path("bgcut/upload/", include("wagtail_bgcut.direct_upload.urls")),
    path("public/upload/", include(get_urls(permission=allow_any), namespace="public_upload")),
    path("upload-page/", upload_page, name="upload_page"),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
