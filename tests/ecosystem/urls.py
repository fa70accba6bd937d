"""The test project's URLs plus Wagtail's API v2 (pages), a plain DRF view and Django's admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet

from tests.ecosystem.views import ProductDetail, ProductList

api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PagesAPIViewSet)

urlpatterns = [
    path("api/v2/", api_router.urls),
    path("django-admin/", admin.site.urls),
    # Django's live server serves static files but not MEDIA_ROOT (for the browser tests).
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    path("products/", ProductList.as_view()),
    path("products/<int:pk>/", ProductDetail.as_view()),
    path("", include(wagtail_urls)),
]
