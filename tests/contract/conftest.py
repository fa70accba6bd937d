"""Contract tests: the package's client against the emulator, and against the real API.

Every test takes the ``target`` fixture. It always runs against the bundled emulator over real
HTTP on 127.0.0.1; with ``BGCUT_LIVE_API_KEY`` set it runs a second time against the real
BackgroundCut API (marked ``live``), so anyone with a key can check the emulator's fidelity:

    BGCUT_LIVE_API_KEY=... pytest tests/contract -m live

``BGCUT_LIVE_API_BASE`` / ``BGCUT_LIVE_TOKEN_API_BASE`` / ``BGCUT_LIVE_DOWNLOAD_HOSTS`` (comma
separated) override the documented hosts. Live runs spend real credits (a few dozen). Tests that
need the emulator's controls (fault injection, setting credits, forcing expiry) skip on live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import BackgroundCutClient
from wagtail_bgcut.testing import EmulatorServer

LIVE_KEY = os.environ.get("BGCUT_LIVE_API_KEY", "").strip()
LIVE_API_BASE = os.environ.get("BGCUT_LIVE_API_BASE", "https://api.backgroundcut.co")
LIVE_TOKEN_API_BASE = os.environ.get("BGCUT_LIVE_TOKEN_API_BASE", "https://backgroundcut.co/api")
LIVE_DOWNLOAD_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "BGCUT_LIVE_DOWNLOAD_HOSTS", "backgroundcut.co,*.backgroundcut.co,*.amazonaws.com"
    ).split(",")
    if h.strip()
]
# What the contract tests upload: a red disc on white, an obvious subject on a plain background.
IMAGE = {"red_on_white": True, "width": 96, "height": 72}
NO_LIVE_KEY = "set BGCUT_LIVE_API_KEY to run the contract tests against the real BackgroundCut API"


@dataclass
class Target:
    """Where the client points: the emulator (with its controls) or the real API."""

    name: str
    api_key: str
    api_base: str
    token_api_base: str
    download_hosts: list[str]
    server: EmulatorServer | None = None

    def client(self, **options: Any) -> BackgroundCutClient:
        """A client that fails fast: no retries or rate limiting unless a test asks for them."""
        settings: dict[str, Any] = {
            "api_base": self.api_base,
            "token_api_base": self.token_api_base,
            "timeout": (5.0, 120.0),
            "max_retries": 0,
            "rate_limit": None,
            "download_hosts": self.download_hosts,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
        }
        settings.update(options)
        api_key = settings.pop("api_key", self.api_key)
        return BackgroundCutClient(api_key, **settings)

    def emulator(self) -> EmulatorServer:
        """The emulator, for tests that drive it; skips on the live API."""
        if self.server is None:
            pytest.skip("needs the emulator's controls (faults, credits, expiry)")
        return self.server


@pytest.fixture(
    params=[
        "emulator",
        pytest.param(
            "live", marks=[pytest.mark.live, pytest.mark.skipif(not LIVE_KEY, reason=NO_LIVE_KEY)]
        ),
    ]
)
def target(request) -> Target:
    if request.param == "emulator":
        server = request.getfixturevalue("bgcut_server")
        return Target(
            "emulator", server.api_key, server.api_base, server.token_api_base, [], server
        )
    return Target("live", LIVE_KEY, LIVE_API_BASE, LIVE_TOKEN_API_BASE, LIVE_DOWNLOAD_HOSTS)


@pytest.fixture
def client(target):
    with target.client() as client:
        yield client


@pytest.fixture
def png() -> bytes:
    return ImageBytesFactory(**IMAGE, fmt="PNG")


@pytest.fixture
def jpeg() -> bytes:
    return ImageBytesFactory(**IMAGE, fmt="JPEG")
