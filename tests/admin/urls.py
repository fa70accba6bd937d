"""The test project's URLs plus media files, for the browser tests (Django's live server serves
static files but not MEDIA_ROOT, where originals and cut-outs live)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from tests.urls import urlpatterns as base_patterns

urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    *base_patterns,
]
