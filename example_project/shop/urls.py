"""The shop's own pages: the public upload page and its direct-upload endpoints."""

from django.urls import include, path

from wagtail_bgcut.direct_upload.urls import get_urls

from .views import demo_permission, upload_page

urlpatterns = [
    path("upload/", upload_page, name="shop_upload"),
    path(
        "upload/bgcut/",
        include(get_urls(permission=demo_permission), namespace="wagtail_bgcut_direct_upload"),
    ),
]
