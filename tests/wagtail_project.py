"""What the test project and the benchmarks' throwaway project share: Wagtail's apps and storages.

tests/settings.py and benchmarks/render.py both take these from here, so a Wagtail upgrade that
needs another app changes one list. Plain data: importing this has no side effects.
"""

from __future__ import annotations

from typing import Any

#: Wagtail and the Django apps it needs, after each project's own apps.
APPS: list[str] = [
    "wagtail.images",
    "wagtail.documents",
    "wagtail.users",
    "wagtail.admin",
    "wagtail",
    "taggit",
    "modelcluster",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
