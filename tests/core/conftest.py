"""Fixtures for the Django core tests: Wagtail images, settings helpers, a local S3 server.

Images come from tests/factories.py; the default is 64x48 (a disc on a plain background) so the
local engine cuts it in milliseconds. The S3 server is moto in server mode on 127.0.0.1, spoken to
over real HTTP by django-storages; every request it receives is logged so tests can prove a render
made none.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.images import ImageFile
from django.test import override_settings

from tests.factories import ImageBytesFactory, WagtailImageFactory
from wagtail_bgcut.backends.dummy import DummyBackend


@pytest.fixture
def image_bytes() -> type[ImageBytesFactory]:
    return ImageBytesFactory


@pytest.fixture
def make_wagtail_image(root_collection, committed):
    """Save a Wagtail image of ``data`` (``ImageBytesFactory()`` by default) through
    ``WagtailImageFactory``, or ``factory``, running on-commit callbacks as a commit would."""

    def make(
        data: bytes | None = None,
        *,
        name: str = "photo.png",
        factory: type[WagtailImageFactory] = WagtailImageFactory,
        **kwargs: Any,
    ):
        if data is not None:
            kwargs["data"] = data
        with committed():
            return factory(filename=name, **kwargs)

    return make


def commit_callbacks():
    """Run on-commit callbacks of the block (outside fixtures)."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def replace_file(image, data: bytes, name: str = "changed.png") -> None:
    """Give an image new bytes, the way the Wagtail admin does (a new file, then save)."""
    image.file = ImageFile(io.BytesIO(data), name=name)
    with commit_callbacks():
        image.save()


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
