"""Test settings: a small Wagtail project on SQLite, or PostgreSQL with BGCUT_TEST_DB=postgres."""

import json
import os
import tempfile

from tests import wagtail_project
from tests.redis_claim import redis_url

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

if os.environ.get("BGCUT_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BGCUT_PG_NAME", "wagtail_bgcut"),
            "USER": os.environ.get("BGCUT_PG_USER", "postgres"),
            "HOST": os.environ.get("BGCUT_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("BGCUT_PG_PORT", "5432"),
        }
    }
else:
    # A file, not ":memory:": SQLite's shared-cache memory database answers a second writer with
    # "table is locked" at once, while a file database waits (timeout), as a site's SQLite does.
    # Concurrency tests (two workers claiming one row) and the live server need that.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.gettempdir(), "bgcut-tests.sqlite3"),
            "OPTIONS": {"timeout": 30},
            "TEST": {"NAME": os.path.join(tempfile.mkdtemp(prefix="bgcut-db-"), "test.sqlite3")},
        }
    }

# A worker process started by a test (tests/workers/) joins that test's database and media folder.
if os.environ.get("BGCUT_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["BGCUT_WORKER_DB_NAME"]

INSTALLED_APPS = [
    "wagtail_bgcut",
    "tests.testapp",
    "django_tasks_db",
    "django_rq",
    *wagtail_project.APPS,
]
# Integrations (tests/ecosystem): a page type with API v2 fields and a StreamField block.
INSTALLED_APPS += ["tests.ecosystem", "wagtail.api.v2", "rest_framework"]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

MEDIA_ROOT = os.environ.get("BGCUT_WORKER_MEDIA_ROOT") or tempfile.mkdtemp(
    prefix="bgcut-test-media-"
)
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STORAGES = wagtail_project.STORAGES
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WAGTAIL_SITE_NAME = "bgcut tests"
WAGTAILADMIN_BASE_URL = "http://testserver"
# Wagtail's upload views refuse files Pillow cannot read as form errors (docs/security.md).
WAGTAILIMAGES_IMAGE_FORM_BASE = "wagtail_bgcut.image_forms.BgcutImageForm"
# Immediate by default, as a new site gets it; "db" is the database worker backend a production site
# would use (django-tasks-db), exercised by tests/core/test_tasks.py.
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "db": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"},
    # RQ on the machine's Redis (django-tasks-rq); tests/workers/ run `rqworker` against it.
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["bgcut-tests"]},
}
# Redis for RQ and the shared rate limiter's cache: BGCUT_REDIS_URL, or a database of its own for
# this run (12-15, claimed so that two suites on one machine never share one: tests/redis_claim.py).
REDIS_URL = redis_url()
# "default" too: django-tasks-rq looks results up (get_result) on django_rq's default connection.
RQ_QUEUES = {
    "bgcut-tests": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
}

# No API key: the offline local engine, as a new user gets it.
WAGTAIL_BGCUT = {
    "PRESETS": {
        "full": {"format": "png"},
        "thumbnail": {"format": "webp", "max_resolution": 250_000, "autocrop": True},
    },
    "AUTO_PROCESS": [],
}
# Settings a test hands to the worker processes it starts (emulator address, lease, backoff...).
WAGTAIL_BGCUT.update(json.loads(os.environ.get("BGCUT_WORKER_SETTINGS") or "{}"))
if os.environ.get("BGCUT_WORKER_SETTINGS"):
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {
            "wagtail_bgcut": {"handlers": ["console"], "level": "INFO"},
            # "Starting worker ...": a test can wait until its workers are polling.
            "django_tasks_db": {"handlers": ["console"], "level": "INFO"},
        },
    }
