"""The test project's URLs plus Wagtail's API v2 (pages) and a plain DRF view."""

from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet

from tests.ecosystem.views import ProductDetail

api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PagesAPIViewSet)

urlpatterns = [
    path("api/v2/", api_router.urls),
    path("products/<int:pk>/", ProductDetail.as_view()),
    path("", include(wagtail_urls)),
]
