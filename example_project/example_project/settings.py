"""Settings for the wagtail-bgcut example site (``make demo``).

With no BGCUT_API_KEY in the environment every cut-out is made by the offline local engine. Export
BGCUT_API_KEY=... before ``make demo`` and the same site uses the BackgroundCut API instead.
"""

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
BASE_DIR = PROJECT_DIR.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "shop",
    "wagtail_bgcut",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_ROOT = BASE_DIR / "static"
STATIC_URL = "/static/"
MEDIA_ROOT = Path(os.environ.get("EXAMPLE_MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

WAGTAIL_SITE_NAME = "wagtail-bgcut example shop"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
# Wagtail's upload views refuse files Pillow cannot read as form errors, not a 500.
WAGTAILIMAGES_IMAGE_FORM_BASE = "wagtail_bgcut.image_forms.BgcutImageForm"

# Background work: the ImmediateBackend runs tasks in-process, so the demo needs no worker.
# Production sites point this at a worker backend (see docs/tasks.md).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

WAGTAIL_BGCUT = {
    # API_KEY comes from the BGCUT_API_KEY environment variable when set; without it the local
    # engine runs in-process and nothing leaves this machine.
    "PRESETS": {
        "full": {"format": "png", "max_resolution": 12_000_000, "quality": "high"},
        "thumbnail": {
            "format": "webp",
            "max_resolution": 250_000,
            "quality": "medium",
            "output_compression": 80,
            "autocrop": True,
        },
        "white": {"format": "jpg", "background_color": "#ffffff", "output_compression": 85},
    },
    # Every preset the demo's pages show is made when the demo loads its images (demo_setup), so
    # no page render waits for a cut-out; a pending one shows the original meanwhile.
    "AUTO_PROCESS": ["thumbnail", "white"],
}

# The demo runs one process (`runserver --noreload`), so its process-local cache (Django's default)
# remembers used upload tickets for every request. A production site with several web processes
# points WAGTAIL_BGCUT["DIRECT_UPLOAD_CACHE"] at Redis or Memcached instead (docs/direct-upload.md).
SILENCED_SYSTEM_CHECKS = ["wagtail_bgcut.W021"]
