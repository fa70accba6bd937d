"""Fixtures for the direct-upload tests: users, a clean cache, a recording client, small photos.

Browser tests (marked ``browser``) launch chromium through tests/browser.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.cache import cache
from PIL import Image, ImageDraw

from wagtail_bgcut.testing.pytest_plugin import API_KEY

PASSWORD = "correct horse battery"


def photo_bytes(width: int = 96, height: int = 72, *, fmt: str = "PNG", seed: int = 0) -> bytes:
    """A red disc on a light grey background: something both engines can cut out."""
    img = Image.new("RGB", (width, height), (232, 232, 232))
    draw = ImageDraw.Draw(img)
    draw.ellipse(
        (width // 4 + seed, height // 6, 3 * width // 4, 5 * height // 6), fill=(200, 30, 30)
    )
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    """This directory's URLs, and no throttle counts or used nonces left from another test."""
    settings.ROOT_URLCONF = "tests.direct_upload.urls"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


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
