"""A frontend-cache backend of our own: Wagtail's extension point for CDNs it does not ship.

What docs/integrations.md shows a site writing for its CDN; here it keeps the purged URLs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wagtail.contrib.frontend_cache.backends.base import BaseBackend


class RecordingBackend(BaseBackend):
    purged: ClassVar[list[str]] = []

    def __init__(self, params: dict[str, Any]):
        super().__init__(params)

    def purge(self, url: str) -> None:
        self.purged.append(url)
