"""Test settings plus django-tasks-db, for the database worker test (tests/core/test_tasks.py)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, TASKS

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {**TASKS, "db": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}
