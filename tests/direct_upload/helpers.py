"""A browser stand-in for the tests: token from the site, image to the processing URL, finalize.

The processing step uses ``requests`` against the emulator (real HTTP, as the browser would, with
no key) or Django's test client against the site's own local endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from wagtail_bgcut.models import Cutout, SourceFile

from .conftest import media_files


@dataclass
class Flow:
    client: Any
    recorder: Any
    prefix: str = "/bgcut/upload"
    grant: dict = field(default_factory=dict)

    def token(self, presets=("full",), **extra) -> Any:
        response = self.client.post(
            f"{self.prefix}/token/",
            data=json.dumps({"presets": list(presets)}),
            content_type="application/json",
            **extra,
        )
        self.recorder.record(response)
        if response.status_code == 200:
            self.grant = response.json()
        return response

    def process(self, image: bytes, *, token: str | None = None) -> tuple[int, dict]:
        url = self.grant["process_url"]
        token = token if token is not None else self.grant["token"]
        if self.grant["mode"] == "api":
            r = requests.post(
                url, data={"token": token}, files={"image": ("photo.png", image)}, timeout=60
            )
            return r.status_code, r.json()
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = self.client.post(
            urlsplit(url).path,
            {"token": token, "image": SimpleUploadedFile("photo.png", image, "image/png")},
        )
        self.recorder.record(response)
        return response.status_code, response.json()

    def finalize(self, result: dict, *, client=None, **overrides) -> Any:
        body = {
            "ticket": self.grant["ticket"],
            "token": self.grant["token"],
            "unique_filename": result.get("unique_filename"),
            "input_url": result.get("input_url"),
            "output_urls": result.get("output_urls"),
            **overrides,
        }
        response = (client or self.client).post(
            self.grant["finalize_url"], data=json.dumps(body), content_type="application/json"
        )
        self.recorder.record(response)
        return response


def snapshot() -> tuple:
    """What finalize could have written: media files and rows (images too)."""
    from wagtail.images import get_image_model

    return (
        media_files(settings.MEDIA_ROOT),
        Cutout.objects.count(),
        SourceFile.objects.count(),
        get_image_model().objects.count(),
    )
