"""pytest plugin (registered through the ``pytest11`` entry point): the ``bgcut_server`` fixture.

- ``bgcut_server``: one emulator per test session on a free loopback port (rate limit off,
  plenty of credits), :meth:`~EmulatorServer.reset` before each test. When Django settings are
  configured (pytest-django), ``settings.WAGTAIL_BGCUT`` points at it for the test's duration.
- ``@pytest.mark.bgcut_server(credits=1, url_ttl=5, ...)``: that test gets a fresh emulator built
  with these arguments instead.
- ``bgcut_server_factory(**kwargs)``: start more emulators; each stops after the test.

The plugin imports nothing from Django unless Django is installed and already configured, so it
never disturbs suites that do not use Django.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import EmulatorServer

API_KEY = "bgcut-test-key"
DEFAULTS: dict[str, Any] = {"api_key": API_KEY, "credits": 1_000_000, "rate_limit": None}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bgcut_server(**kwargs): give this test a fresh BackgroundCut emulator built with kwargs "
        "(EmulatorServer arguments) instead of the shared one",
    )


def _new_server(**kwargs: Any) -> EmulatorServer:
    options = {**DEFAULTS, **kwargs}
    options.setdefault("host", "127.0.0.1")
    options.setdefault("port", 0)
    return EmulatorServer(**options).start()


def settings_for(server: EmulatorServer) -> dict[str, Any]:
    """The ``WAGTAIL_BGCUT`` keys that point the package at ``server``."""
    return {
        "BACKEND": "backgroundcut",
        "API_KEY": server.api_key,
        "API_BASE": server.api_base,
        "TOKEN_API_BASE": server.token_api_base,
        "RATE_LIMIT": None,
    }


@contextlib.contextmanager
def _django_settings(server: EmulatorServer) -> Iterator[None]:
    django_conf = sys.modules.get("django.conf")
    if django_conf is None or not django_conf.settings.configured:
        yield
        return
    from django.test import override_settings

    current = getattr(django_conf.settings, "WAGTAIL_BGCUT", None) or {}
    with override_settings(WAGTAIL_BGCUT={**current, **settings_for(server)}):
        yield


@pytest.fixture(scope="session")
def _bgcut_shared_server() -> Iterator[EmulatorServer]:
    server = _new_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bgcut_server_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Start extra emulators with custom arguments; all stop after the test."""
    servers: list[EmulatorServer] = []

    def make(**kwargs: Any) -> EmulatorServer:
        server = _new_server(**kwargs)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def bgcut_server(
    request: pytest.FixtureRequest,
    bgcut_server_factory: Callable[..., EmulatorServer],
) -> Iterator[EmulatorServer]:
    """A clean BackgroundCut emulator with the package's settings pointed at it."""
    marker = request.node.get_closest_marker("bgcut_server")
    if marker is not None:
        server = bgcut_server_factory(**marker.kwargs)
    else:
        server = request.getfixturevalue("_bgcut_shared_server")
        server.reset()
    with _django_settings(server):
        yield server
