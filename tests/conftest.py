"""Suite-wide fixtures and the PostgreSQL rule.

Tests that touch the database are marked ``postgres`` automatically, so ``make test`` runs them a
second time with ``BGCUT_TEST_DB=postgres``. Without a PostgreSQL server they skip with the reason,
except under ``CI=true``, where a missing server is a failure. Tests marked ``browser`` follow the
same rule for Debian's chromium (tests/browser.py).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading

import pytest

from tests import factories
from tests.browser import skip_without_chromium
from wagtail_bgcut.model_files import default_model_dir

# The per-user model cache as the user's machine has it (scripts/ensure-model.sh fills it); the
# real-model tests read their model from here (tests/imaging/real_model.py).
REAL_MODEL_DIR = default_model_dir()
# LOCAL_MODEL defaults to "auto" (use a fetched model): a model in this machine's cache must not
# change what the rest of the suite tests, so every test sees an empty cache unless it says so.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="bgcut-test-cache-")

USING_POSTGRES = os.environ.get("BGCUT_TEST_DB") == "postgres"


def _postgres_reachable() -> bool:
    host = os.environ.get("BGCUT_PG_HOST", "127.0.0.1")
    port = int(os.environ.get("BGCUT_PG_PORT", "5432"))
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("django_db") or "db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
    skip_without_chromium(items)
    if not USING_POSTGRES or _postgres_reachable():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(
            "BGCUT_TEST_DB=postgres under CI=true, but no PostgreSQL server answers on "
            "127.0.0.1:5432 (scripts/ensure-services.sh could not start one)."
        )
    skip = pytest.mark.skip(reason="no PostgreSQL server on 127.0.0.1:5432")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, checked at session end: nothing else may still hold it.

    A connection left open (by a thread, or a second one of the test's own thread such as Django
    opens while Playwright's event loop runs; see tests/browser.py) makes the drop fail with
    "being accessed by other users" and leaves the test database behind. Under
    BGCUT_TEST_DB=postgres such connections fail the session with their query text; they are
    terminated first so the database is still dropped.
    """
    yield
    if not USING_POSTGRES:
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, state, query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        others = cursor.fetchall()
        for pid, *_ in others:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    if others:
        threads = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
        lines = "\n".join(
            f"  pid {pid} ({app or 'no application_name'}, {state}): {query}"
            for pid, app, state, query in others
        )
        pytest.fail(
            f"{len(others)} other connection(s) still open on the test database at session end "
            f"(threads alive: {threads}):\n{lines}",
            pytrace=False,
        )


@pytest.fixture
def root_collection(db):
    """Wagtail's root collection, put back if an earlier (transactional) test flushed it.

    ``db`` turns transactional by itself when the test uses ``live_server``.
    """
    return factories.root_collection()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs on-commit callbacks (task enqueues) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def run_on_commit(committed):
    """The admin tests' name for ``committed``."""
    return committed


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test starts with empty Django caches: Wagtail keeps renditions there by image id, and
    ids come back after a rollback, so one test's rendition must never answer in the next."""
    from django.core.cache import caches

    for cache in caches.all(initialized_only=True):
        cache.clear()
    yield
