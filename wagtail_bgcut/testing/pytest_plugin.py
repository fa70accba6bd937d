"""pytest plugin (registered through the ``pytest11`` entry point): the ``bgcut_server`` fixture.

- ``bgcut_server``: one emulator per test session on a free loopback port (rate limit off,
  plenty of credits), :meth:`~EmulatorServer.reset` before each test. When Django settings are
  configured (pytest-django), ``settings.WAGTAIL_BGCUT`` points at it for the test's duration.
- ``@pytest.mark.bgcut_server(credits=1, url_ttl=5, ...)``: that test gets a fresh emulator built
  with these arguments instead.
- ``bgcut_server_factory(**kwargs)``: start more emulators; each stops after the test.

pytest loads this plugin in every project that installs wagtail-bgcut, with or without the
``testing`` extra, so loading it imports neither Django (unless Django is installed and already
configured) nor the server and werkzeug; a fixture imports the server when a test asks for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import EmulatorServer

API_KEY = "bgcut-test-key"
DEFAULTS: dict[str, Any] = {"api_key": API_KEY, "credits": 1_000_000, "rate_limit": None}
MISSING_EXTRA = (
    "the BackgroundCut emulator (bgcut_server) needs werkzeug, part of the testing extra: "
    'pip install "wagtail-bgcut[testing]"'
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bgcut_server(**kwargs): give this test a fresh BackgroundCut emulator built with kwargs "
        "(EmulatorServer arguments) instead of the shared one",
    )


def _server_class() -> type[EmulatorServer]:
    """EmulatorServer, or a failure saying to install the testing extra when werkzeug is missing."""
    # Imported here, not at module top: pytest loads this plugin in every project that installs
    # the package, and the server needs werkzeug, which only the testing extra brings.
    try:
        from .server import EmulatorServer
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "werkzeug":
            raise
        missing = str(exc)
    else:
        return EmulatorServer
    pytest.fail(f"{MISSING_EXTRA} ({missing})", pytrace=False)  # outside except: no chained trace


def _new_server(**kwargs: Any) -> EmulatorServer:
    options = {**DEFAULTS, **kwargs}
    options.setdefault("host", "127.0.0.1")
    options.setdefault("port", 0)
    return _server_class()(**options).start()


def settings_for(server: EmulatorServer) -> dict[str, Any]:
    """The ``WAGTAIL_BGCUT`` keys that point the package at ``server``.

    The emulator is on loopback over http, so the result hosts its answers name are allowed as
    loopback http hosts (``DOWNLOAD_LOCAL_RESULT_HOSTS``; never for a real API). A faithful
    emulator's separate result host is listed in ``DOWNLOAD_HOSTS`` too, as a site lists its
    provider's CDN for direct uploads (whose URLs come from a browser, not from the API).
    """
    settings = {
        "BACKEND": "backgroundcut",
        "API_KEY": server.api_key,
        "API_BASE": server.api_base,
        "TOKEN_API_BASE": server.token_api_base,
        "RATE_LIMIT": None,
        "DOWNLOAD_LOCAL_RESULT_HOSTS": True,
    }
    if getattr(server, "faithful", False):
        settings["DOWNLOAD_HOSTS"] = [server.result_base]
    return settings


@contextlib.contextmanager
def _django_settings(server: EmulatorServer) -> Iterator[None]:
    django_conf = sys.modules.get("django.conf")
    if django_conf is None or not django_conf.settings.configured:
        yield
        return
    from django.test import override_settings  # only now: Django is there and configured

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
