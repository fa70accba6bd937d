"""``path("bgcut/upload/", include("wagtail_bgcut.direct_upload.urls"))``.

For other permissions or handlers on one site, include :func:`get_urls` with overrides instead.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from .views import FinalizeView, LocalProcessView, LocalStatusView, TokenView

app_name = "wagtail_bgcut_direct_upload"


def get_urls(**overrides: Any) -> tuple[list[URLPattern], str]:
    """``include(get_urls(permission=allow_any, handler=my_handler))``."""
    return (
        [
            path("token/", TokenView.as_view(**overrides), name="token"),
            path("process/", LocalProcessView.as_view(**overrides), name="process"),
            path("status/", LocalStatusView.as_view(**overrides), name="status"),
            path("finalize/", FinalizeView.as_view(**overrides), name="finalize"),
        ],
        app_name,
    )


urlpatterns = get_urls()[0]
