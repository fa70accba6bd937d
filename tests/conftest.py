"""Suite-wide fixtures and the PostgreSQL rule.

Tests that touch the database are marked ``postgres`` automatically, so ``make test`` runs them a
second time with ``BGCUT_TEST_DB=postgres``. Without a PostgreSQL server they skip with the reason,
except under ``CI=true``, where a missing server is a failure. Tests marked ``browser`` follow the
same rule for Debian's chromium (tests/browser.py).
"""

from __future__ import annotations

import os
import socket

import pytest

from tests.browser import skip_without_chromium

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
