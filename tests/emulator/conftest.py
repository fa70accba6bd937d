"""Small real images and plain-``requests`` helpers for the emulator tests.

The tests use the plugin's own ``bgcut_server`` fixture (rate limit off, plenty of credits, reset
before each test), so they exercise the fixture users get as well.
"""

from __future__ import annotations

import pytest
import requests

from tests.factories import ImageBytesFactory

__all__ = ["HEIGHT", "SUBJECT", "WIDTH", "Api", "detail"]

# The images are ImageBytesFactory(red_on_white=True): a red disc on white, 64x48, centred.
WIDTH, HEIGHT = 64, 48
SUBJECT = (16, 8, 48, 40)


@pytest.fixture
def png() -> bytes:
    return ImageBytesFactory(red_on_white=True, fmt="PNG")


@pytest.fixture
def jpeg() -> bytes:
    return ImageBytesFactory(red_on_white=True, fmt="JPEG")


@pytest.fixture
def webp() -> bytes:
    return ImageBytesFactory(red_on_white=True, fmt="WEBP")


class Api:
    """The emulator's two base URLs and the key, spelled as the provider's examples use them."""

    def __init__(self, server):
        self.server = server
        self.base = server.api_base
        self.token_base = server.token_api_base
        self.key = server.api_key
        self.headers = {"Authorization": f"Bearer {self.key}"}

    def upload(self, image: bytes, name: str = "photo.png") -> requests.Response:
        return requests.post(
            f"{self.base}/v3/remove-bg/upload-image/",
            headers=self.headers,
            files={"image": (name, image)},
            timeout=30,
        )

    def process(self, unique_filename: str, variants: list) -> requests.Response:
        return requests.post(
            f"{self.base}/v3/remove-bg/process-image/",
            headers=self.headers,
            json={"unique_filename": unique_filename, "output_variants": variants},
            timeout=60,
        )

    def token(self, kind: str = "remove-bg", body: dict | None = None) -> requests.Response:
        return requests.post(
            f"{self.token_base}/v3/{kind}/token/", headers=self.headers, json=body, timeout=30
        )

    def initialize(self, image: bytes) -> requests.Response:
        return requests.post(
            f"{self.base}/v3/ai-cut/initialize/",
            headers=self.headers,
            files={"image": ("photo.png", image)},
            timeout=30,
        )

    def segment(self, unique_filename: str, green, red=(), number: int = 1, headers=None):
        return requests.post(
            f"{self.base}/v3/ai-cut/segment/",
            headers=self.headers if headers is None else headers,
            json={
                "unique_filename": unique_filename,
                "greenDots": [{"x": x, "y": y} for x, y in green],
                "redDots": [{"x": x, "y": y} for x, y in red],
                "request_number": number,
            },
            timeout=60,
        )

    def v2(self, image: bytes | None = None, *, headers=None, data=None, files=None):
        if files is None and image is not None:
            files = {"image_file": ("photo.png", image)}
        return requests.post(
            f"{self.base}/v2/cut/",
            headers={"Authorization": self.key} if headers is None else headers,
            files=files,
            data=data,
            timeout=60,
        )


@pytest.fixture
def api(bgcut_server) -> Api:
    return Api(bgcut_server)


def detail(response: requests.Response) -> str:
    """The provider's error body: JSON with a string ``detail``."""
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body["detail"]
