"""The error tree users catch: one root, configuration errors apart, ``retryable`` that means it.

What a caller relies on: ``except BgcutError`` catches every operational failure the package raises
(and never a misconfiguration), every error class is importable from ``wagtail_bgcut.exceptions``,
``retryable`` tells a passing outage from a request that will always fail, a missing optional
package names the pip extra, and the light modules stay light.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from PIL import Image

import wagtail_bgcut.client.exceptions
import wagtail_bgcut.exceptions
import wagtail_bgcut.imaging.errors
import wagtail_bgcut.model_files.fetch
import wagtail_bgcut.variants
from wagtail_bgcut.backends.base import BackendError as BackendErrorFromBackends
from wagtail_bgcut.backends.local import LocalBackend
from wagtail_bgcut.client import BackgroundCutClient
from wagtail_bgcut.exceptions import (
    BackendError,
    BackgroundCutError,
    BadRequest,
    BgcutConfigurationError,
    BgcutError,
    ImageError,
    InvalidVariant,
    MissingExtra,
    ServiceBusy,
    TransportError,
    UnknownPreset,
    UnsupportedImage,
)
from wagtail_bgcut.imaging import clear_segmenter_cache
from wagtail_bgcut.presets import get_preset
from wagtail_bgcut.variants import Variant

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION_ERRORS = {"BgcutConfigurationError", "UnknownPreset"}
# Where error classes are defined; each must hang under BgcutError and be re-exported.
ERROR_MODULES = [
    wagtail_bgcut.exceptions,
    wagtail_bgcut.client.exceptions,
    wagtail_bgcut.imaging.errors,
    wagtail_bgcut.model_files.fetch,
    wagtail_bgcut.variants,
]


def _error_classes(module) -> list[type[BaseException]]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == module.__name__
    ]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# -- the tree --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", wagtail_bgcut.exceptions.__all__)
def test_every_exported_error_is_operational_except_the_configuration_ones(name):
    cls = getattr(wagtail_bgcut.exceptions, name)
    if name in CONFIGURATION_ERRORS:
        assert issubclass(cls, ImproperlyConfigured)
        assert not issubclass(cls, BgcutError)
    else:
        assert issubclass(cls, BgcutError)


@pytest.mark.parametrize("module", ERROR_MODULES, ids=lambda m: m.__name__)
def test_every_error_class_is_under_the_root_and_importable_from_one_place(module):
    for cls in _error_classes(module):
        assert issubclass(cls, BgcutError), cls
        assert getattr(wagtail_bgcut.exceptions, cls.__name__) is cls


def test_subtrees_keep_the_builtin_types_callers_already_catch():
    assert issubclass(ImageError, ValueError)
    assert issubclass(InvalidVariant, ValueError)
    assert issubclass(MissingExtra, ImportError)
    assert BackendErrorFromBackends is BackendError


def test_deprecated_missing_dependency_names_are_missing_extra():
    from wagtail_bgcut.imaging import MissingDependency as from_imaging

    assert from_imaging is MissingExtra
    assert wagtail_bgcut.exceptions.MissingDependency is MissingExtra


def test_a_configuration_error_is_not_swallowed_by_except_bgcut_error():
    with override_settings(WAGTAIL_BGCUT={"PRESETS": {}}), pytest.raises(UnknownPreset) as info:
        try:
            get_preset("no-such-preset")
        except BgcutError:
            pytest.fail("a misconfiguration was caught as an operational error")
    assert isinstance(info.value, BgcutConfigurationError)
    assert isinstance(info.value, ImproperlyConfigured)


def test_the_direct_upload_refusals_are_operational_errors_too():
    from wagtail_bgcut.direct_upload.finalize import ResultError
    from wagtail_bgcut.direct_upload.tokens import TicketError

    assert issubclass(ResultError, BgcutError) and issubclass(TicketError, BgcutError)
    assert ResultError("could not store", 503).retryable is True
    assert ResultError("not an image").retryable is False


def test_invalid_variants_are_operational_and_not_retryable():
    with pytest.raises(BgcutError) as info:
        Variant.from_dict({"format": "gif"}, name="x")
    assert isinstance(info.value, InvalidVariant) and info.value.retryable is False


# -- MissingExtra ----------------------------------------------------------------------------------


def test_missing_extra_names_the_package_and_the_pip_command():
    error = MissingExtra("onnxruntime", "onnx", "Model-based background removal")
    assert (error.package, error.extra) == ("onnxruntime", "onnx")
    assert "onnxruntime" in str(error)
    assert 'pip install "wagtail-bgcut[onnx]"' in str(error)
    assert error.retryable is False  # installing a package is not "try again later"
    clone = pickle.loads(pickle.dumps(error))
    assert (type(clone), str(clone), clone.extra) == (MissingExtra, str(error), "onnx")


def test_local_backend_reports_a_missing_extra_as_a_backend_error(tmp_path, monkeypatch):
    model = tmp_path / "u2net.onnx"
    model.write_bytes(b"never read: onnxruntime is missing first")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    clear_segmenter_cache()
    settings = override_settings(WAGTAIL_BGCUT={"LOCAL_MODEL": str(model)})
    try:
        with settings, pytest.raises(BackendError) as info:
            LocalBackend().process(_png(), [Variant.from_dict({}, name="full")])
    finally:
        clear_segmenter_cache()
    assert str(info.value).startswith("MissingExtra: ")
    assert "wagtail-bgcut[onnx]" in info.value.detail
    assert isinstance(info.value.__cause__, MissingExtra)
    assert info.value.retryable is False


def test_local_backend_wraps_image_errors_keeping_retryable():
    with pytest.raises(BackendError) as info:
        LocalBackend().process(b"not an image", [Variant.from_dict({}, name="full")])
    assert str(info.value).startswith("UnsupportedImage: ")
    assert isinstance(info.value.__cause__, UnsupportedImage)
    assert info.value.retryable is False


def test_backend_error_keeps_retryable_and_detail_through_pickle():
    error = BackendError("BackgroundCut is busy", detail="try later", retryable=True)
    clone = pickle.loads(pickle.dumps(error))
    assert (str(clone), clone.detail, clone.retryable) == (str(error), "try later", True)


# -- retryable from real client calls --------------------------------------------------------------


@pytest.fixture
def answering() -> Iterator:
    """A real HTTP server on 127.0.0.1 that answers every POST with the status it is told."""
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"detail": "scripted"}).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def client_for(status: int) -> BackgroundCutClient:
        state["status"] = status
        return BackgroundCutClient(
            "sk_test_errors",
            api_base=f"http://127.0.0.1:{server.server_port}",
            max_retries=0,
            rate_limit=None,
        )

    yield client_for
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (503, ServiceBusy, True),  # the provider is overloaded: later may work
        (502, wagtail_bgcut.exceptions.APIError, True),  # an unknown 5xx: the provider's trouble
        (400, BadRequest, False),  # the same request gets the same answer
        (402, wagtail_bgcut.exceptions.InsufficientCredits, False),  # needs a person, not time
    ],
)
def test_client_errors_say_whether_a_later_try_may_succeed(answering, status, cls, retryable):
    with answering(status) as client, pytest.raises(BgcutError) as info:
        client.process_image("abc", [{"variant_name": "full"}])
    assert type(info.value) is cls and isinstance(info.value, BackgroundCutError)
    assert info.value.status == status and info.value.retryable is retryable
    assert pickle.loads(pickle.dumps(info.value)).retryable is retryable


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_api_is_retryable():
    client = BackgroundCutClient(
        "sk_test_errors",
        api_base=f"http://127.0.0.1:{_closed_port()}",
        max_retries=0,
        rate_limit=None,
    )
    with client, pytest.raises(TransportError) as info:
        client.process_image("abc", [{"variant_name": "full"}])
    assert info.value.retryable is True and info.value.request_sent is False


def test_errors_raised_before_any_request_are_image_errors(answering):
    with answering(200) as client, pytest.raises(BgcutError) as info:
        client.upload_image(b"")
    assert isinstance(info.value, ImageError) and info.value.retryable is False


# -- light modules stay light ----------------------------------------------------------------------


def _loaded_after(statement: str, names: list[str]) -> list[str]:
    code = f"import sys\n{statement}\nprint(','.join(m for m in {names!r} if m in sys.modules))\n"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


HEAVY = ["django", "requests", "PIL", "numpy", "cv2"]


@pytest.mark.parametrize("module", ["wagtail_bgcut.exceptions", "wagtail_bgcut.api_facts"])
def test_light_modules_import_no_framework(module):
    assert _loaded_after(f"import {module}", HEAVY) == []


def test_the_api_backend_never_loads_the_imaging_package():
    loaded = _loaded_after(
        "import wagtail_bgcut.backends.backgroundcut", ["wagtail_bgcut.imaging", "cv2"]
    )
    assert loaded == []
