"""Real-browser tests: Debian's chromium driven by Playwright, in one place for every test folder.

``chromium_page`` launches the browser the same way for all of them; ``skip_without_chromium``
is the one rule for tests marked ``browser``: skipped when chromium is missing, except under
CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
)


def skip_without_chromium(items: list[pytest.Item]) -> None:
    """Skip the ``browser`` tests when chromium is missing; under CI=true, refuse to run."""
    mine = [item for item in items if item.get_closest_marker("browser")]
    if not mine or os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but {CHROMIUM} is missing (scripts/ensure-browser.sh).")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (Debian package chromium)")
    for item in mine:
        item.add_marker(skip)


@contextmanager
def chromium_page(
    *, timeout_ms: int, cookies: Iterable[dict[str, Any]] = (), **context_options: Any
) -> Iterator[Any]:
    """A fresh chromium tab (``cookies`` set on its context first); closed on the way out."""
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in the test's thread; without this, the test's own ORM calls
    # would raise SynchronousOnlyOperation.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    # While Playwright's event loop runs in this thread, Django keeps its connections in a
    # context-local store (asgiref's thread-critical Local), so ORM calls in the test would open a
    # second connection: one that sees neither the test's transaction nor ever gets closed, and that
    # keeps PostgreSQL from dropping the test database at the end. Give that store this thread's
    # own connections.
    own = {alias: connections[alias] for alias in connections}
    with sync_playwright() as p:
        for alias, connection in own.items():
            connections[alias] = connection
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        context = browser.new_context(**context_options)
        try:
            cookies = list(cookies)
            if cookies:
                context.add_cookies(cookies)
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            context.close()
            browser.close()
