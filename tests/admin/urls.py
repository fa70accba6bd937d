"""The test project's URLs plus media files, for the browser tests (Django's live server serves
static files but not MEDIA_ROOT, where originals and cut-outs live)."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import path, re_path
from django.views.static import serve
from wagtail.images import get_image_model

from tests.urls import urlpatterns as base_patterns

# A site page as a template author writes it: one cut-out rendition of an image.
SITE_PAGE = engines["django"].from_string(
    "{% load wagtailimages_tags %}"
    '<main>{% image img bgcut-full width-200 class="site-image" %}</main>'
)


def site_page(request, pk: int) -> HttpResponse:
    image = get_object_or_404(get_image_model(), pk=pk)
    return HttpResponse(SITE_PAGE.render({"img": image}, request))


urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    path("site-page/<int:pk>/", site_page),
    *base_patterns,
]
