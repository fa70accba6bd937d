"""Fixtures for the direct-upload tests: users, a clean cache, a recording client.

Photos are ``ImageBytesFactory(squashed_ball=True)`` (tests/factories.py).

Browser tests (marked ``browser``) launch chromium through tests/browser.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache

from tests.factories import UserFactory
from wagtail_bgcut.testing.pytest_plugin import API_KEY


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    """This directory's URLs, and no throttle counts or used nonces left from another test."""
    settings.ROOT_URLCONF = "tests.direct_upload.urls"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


class Recorder:
    """Every response a test received, to prove the API key never appears in any of them."""

    def __init__(self):
        self.responses = []

    def record(self, response):
        self.responses.append(response)
        return response

    def assert_key_absent(self, key: str = API_KEY) -> int:
        for response in self.responses:
            blob = response.content + b"".join(
                f"{k}: {v}".encode() for k, v in response.headers.items()
            )
            blob += "".join(f"{c.key}={c.value}" for c in response.cookies.values()).encode()
            assert key.encode() not in blob, response
        return len(self.responses)


@pytest.fixture
def recorder():
    return Recorder()


def media_files(root: str) -> set[str]:
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}
