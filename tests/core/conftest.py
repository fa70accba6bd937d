"""Fixtures for the Django core tests: tiny synthetic images, Wagtail images, a local S3 server.

Images are 64x48 (a coloured object on a plain background) so the local engine cuts them in
milliseconds. The S3 server is moto in server mode on 127.0.0.1, spoken to over real HTTP by
django-storages; every request it receives is logged so tests can prove a render made none.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core.files.images import ImageFile
from django.test import override_settings
from PIL import Image as PILImage
from PIL import ImageDraw

from wagtail_bgcut.backends.dummy import DummyBackend


def make_image_bytes(
    width: int = 64,
    height: int = 48,
    *,
    colour: tuple[int, int, int] = (200, 40, 40),
    background: tuple[int, int, int] = (235, 235, 235),
    fmt: str = "PNG",
    seed: int = 0,
    quality: int | None = None,
) -> bytes:
    """A subject (ellipse) on a plain background; ``seed`` moves it, so bytes differ per seed.

    ``quality`` is passed to Pillow for lossy formats; None keeps Pillow's default.
    """
    img = PILImage.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(img)
    dx = seed % 7
    draw.ellipse((width // 4 + dx, height // 5, 3 * width // 4 + dx, 4 * height // 5), fill=colour)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({} if quality is None else {"quality": quality}))
    return buf.getvalue()


YELLOW = (230, 200, 30)
BLUE = (40, 120, 200)


def disc_jpeg(
    width: int = 96,
    height: int = 64,
    *,
    colour: tuple[int, int, int] = YELLOW,
    background: tuple[int, int, int] = BLUE,
) -> bytes:
    """A yellow disc on blue as a JPEG: the local engine cuts it out in a fraction of a second."""
    return make_image_bytes(
        width, height, colour=colour, background=background, fmt="JPEG", quality=90
    )


def save_image(title: str = "Yellow disc", data: bytes | None = None, name: str = "disc.jpg"):
    """Save a Wagtail image from bytes (``disc_jpeg()`` by default), plainly.

    Unlike ``make_wagtail_image``, on-commit callbacks are left to the test's transaction (so they
    do not run in a plain ``django_db`` test), and the file is set after the image is made.
    """
    from wagtail.images import get_image_model

    image = get_image_model()(title=title)
    image.file = ImageFile(io.BytesIO(data or disc_jpeg()), name=name)
    image.save()
    return image


@pytest.fixture
def image_bytes():
    return make_image_bytes


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs on-commit callbacks (task enqueues) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def make_wagtail_image(root_collection, committed):
    """Create (and save, as committed) a Wagtail image from bytes; returns the image."""
    from wagtail.images import get_image_model

    def make(data: bytes | None = None, *, title: str = "test", name: str = "photo.png", **kw):
        model = kw.pop("model", None) or get_image_model()
        image = model(
            title=title, file=ImageFile(io.BytesIO(data or make_image_bytes()), name=name)
        )
        for key, value in kw.items():
            setattr(image, key, value)
        with committed():
            image.save()
        return image

    return make


def replace_file(image, data: bytes, name: str = "changed.png") -> None:
    """Give an image new bytes, the way the Wagtail admin does (a new file, then save)."""
    from django.test import TestCase

    image.file = ImageFile(io.BytesIO(data), name=name)
    with TestCase.captureOnCommitCallbacks(execute=True):
        image.save()


def commit_callbacks():
    """Run on-commit callbacks of the block (outside fixtures)."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@contextlib.contextmanager
def bgcut_settings(**changes) -> Iterator[None]:
    """Override some WAGTAIL_BGCUT keys, keeping the rest of the current dict."""
    from django.conf import settings

    current = dict(getattr(settings, "WAGTAIL_BGCUT", {}) or {})
    with override_settings(WAGTAIL_BGCUT={**current, **changes}):
        yield


@pytest.fixture
def dummy_backend():
    """The dummy backend for this test, its call log empty."""
    DummyBackend.reset()
    with bgcut_settings(BACKEND="dummy"):
        yield DummyBackend
    DummyBackend.reset()


def stored_files(storage, folder: str = "bgcut") -> list[str]:
    """Every file under ``folder`` in a storage (recursive listdir)."""
    out: list[str] = []

    def walk(path: str) -> None:
        try:
            dirs, files = storage.listdir(path)
        except FileNotFoundError:
            return
        out.extend(f"{path}/{f}" for f in files)
        for d in dirs:
            walk(f"{path}/{d}")

    walk(folder)
    return sorted(out)


# -- S3 (moto server over real HTTP) -------------------------------------------------------------


@dataclass
class S3Server:
    """A moto S3 server on 127.0.0.1; ``requests`` logs (method, path) of every HTTP request."""

    endpoint_url: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    state: dict = {}

    class LoggingMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def logged(environ, start_response):
                info = state.get("server")
                if info is not None:
                    with info.lock:
                        info.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
                return app(environ, start_response)

            self._server = make_server(
                self._ip_address, self._port, logged, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    moto = LoggingMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    server = S3Server(endpoint_url=f"http://{host}:{port}")
    state["server"] = server
    try:
        yield server
    finally:
        moto.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class S3Settings:
    """What ``s3_storage_settings`` set up: the alias, the bucket and the request log."""

    alias: str
    bucket: str
    server: S3Server

    @property
    def requests(self) -> list[tuple[str, str]]:
        with self.server.lock:
            return list(self.server.requests)

    def clear_requests(self) -> None:
        self.server.clear()

    @property
    def storage(self):
        from django.core.files.storage import storages

        return storages[self.alias]


@pytest.fixture
def s3_storage_settings(s3_server: S3Server) -> Iterator[S3Settings]:
    """A STORAGES alias "bgcut_s3" (django-storages S3Storage against moto, a fresh bucket), with
    WAGTAIL_BGCUT['STORAGE'] pointing at it for this test. ``.requests`` lists every HTTP request
    the S3 server received; ``.clear_requests()`` empties it."""
    import boto3
    from django.conf import settings

    bucket = f"bgcut-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    storages_setting = {
        **settings.STORAGES,
        "bgcut_s3": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server.endpoint_url,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "querystring_auth": False,
                "file_overwrite": True,
            },
        },
    }
    with override_settings(STORAGES=storages_setting), bgcut_settings(STORAGE="bgcut_s3"):
        s3_server.clear()
        yield S3Settings(alias="bgcut_s3", bucket=bucket, server=s3_server)
