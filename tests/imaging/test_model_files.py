"""The model catalogue and ``bgcut_model``: fetch, verify, resume, refuse bad bytes, write whole.

Downloads go to a real HTTP server started by the test on 127.0.0.1 (nothing leaves the machine):
the catalogue's own URLs are never contacted, so each test fetches a small file under a spec it
builds with that file's checksum, through the same code a catalogued URL goes through.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import override_settings

from wagtail_bgcut.model_files import (
    CATALOGUE,
    ChecksumMismatch,
    ModelFetchError,
    ModelSource,
    fetch_model,
    resolve,
)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()


class _Server:
    """Serves PAYLOAD at /model.onnx with Range support; ``cut_after`` drops the first N answers
    after that many bytes, ``fail`` answers 503 that many times, ``body`` replaces the bytes."""

    def __init__(self):
        self.cut_after: int | None = None
        self.cuts = 0
        self.fail = 0
        self.body = PAYLOAD
        self.ranges: list[str | None] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.ranges.append(self.headers.get("Range"))
                if owner.fail:
                    owner.fail -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path != "/model.onnx":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                header = self.headers.get("Range")
                if header:
                    start = int(header.split("=")[1].split("-")[0])
                    self.send_response(206)
                else:
                    self.send_response(200)
                body = owner.body[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if owner.cuts and owner.cut_after is not None:
                    owner.cuts -= 1
                    self.wfile.write(body[: owner.cut_after])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the connection drops mid-body
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/model.onnx"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.close()


def _spec(url: str, checksum: str = SHA):
    return replace(
        CATALOGUE["u2netp"],
        name="test-model",
        filename="test-model.onnx",
        checksum=checksum,
        sources=(ModelSource("url", url),),
    )


def test_the_catalogue_pins_every_model_with_its_source_licence_and_input():
    for name in ("u2netp", "u2net", "isnet-general-use", "birefnet-general-lite"):
        spec = CATALOGUE[name]
        assert spec.sources[0].location.startswith("https://github.com/danielgatis/rembg/")
        assert spec.checksum.startswith("md5:") and len(spec.checksum) == 4 + 32
    npm = CATALOGUE["isnet-imgly-small"]
    assert npm.sources[0].kind == "npm" and "AGPL" in npm.licence
    assert npm.input_size == 1024 and npm.mean == (0.5, 0.5, 0.5) and not npm.scale_by_max


def test_a_download_is_verified_and_lands_whole(server, tmp_path):
    path = fetch_model(_spec(server.url), tmp_path, retries=0)
    assert path == tmp_path / "test-model.onnx"
    assert path.read_bytes() == PAYLOAD
    assert not list(tmp_path.glob("*.part"))
    # Fetching again finds the verified file and downloads nothing.
    assert fetch_model(_spec(server.url), tmp_path, retries=0) == path
    assert len(server.ranges) == 1


def test_a_checksum_mismatch_installs_nothing(server, tmp_path):
    server.body = PAYLOAD[:-1] + b"\x00"
    with pytest.raises(ChecksumMismatch, match="pinned checksum"):
        fetch_model(_spec(server.url), tmp_path, retries=2)
    assert not (tmp_path / "test-model.onnx").exists()
    assert not list(tmp_path.iterdir())  # no .part left to be mistaken for a resume
    assert len(server.ranges) == 1  # bad bytes are not downloaded again and again


def test_an_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    server.cut_after, server.cuts = 300_000, 1
    path = fetch_model(_spec(server.url), tmp_path, retries=2, backoff=0)
    assert path.read_bytes() == PAYLOAD
    assert server.ranges[0] is None and server.ranges[1] == "bytes=300000-"


def test_server_errors_are_retried_then_reported(server, tmp_path):
    server.fail = 2
    assert fetch_model(_spec(server.url), tmp_path, retries=2, backoff=0).is_file()
    server.fail = 10
    (tmp_path / "test-model.onnx").unlink()
    with pytest.raises(ModelFetchError, match="gave up after 2 attempts"):
        fetch_model(_spec(server.url), tmp_path, retries=1, backoff=0)
    assert not (tmp_path / "test-model.onnx").exists()


def test_a_failed_download_never_leaves_a_half_written_model(server, tmp_path):
    server.cut_after, server.cuts = 200_000, 10
    with pytest.raises(ModelFetchError):
        fetch_model(_spec(server.url), tmp_path, retries=1, backoff=0)
    assert not (tmp_path / "test-model.onnx").exists()  # only the .part, kept for a resume
    assert (tmp_path / "test-model.onnx.part").stat().st_size < len(PAYLOAD)
    server.cuts = 0
    assert fetch_model(_spec(server.url), tmp_path, retries=0).read_bytes() == PAYLOAD


def test_a_missing_file_is_not_retried(server, tmp_path):
    with pytest.raises(ModelFetchError, match="HTTP 404"):
        fetch_model(_spec(server.url.replace("model.onnx", "nope.onnx")), tmp_path, retries=3)
    assert len(server.ranges) == 1


def test_from_file_installs_a_copy_after_checking_it(tmp_path):
    copied = tmp_path / "copied.onnx"
    copied.write_bytes(PAYLOAD)
    target = tmp_path / "models"
    assert fetch_model(_spec("https://unused"), target, from_file=copied).read_bytes() == PAYLOAD
    copied.write_bytes(b"not the model")
    (target / "test-model.onnx").unlink()
    with pytest.raises(ChecksumMismatch):
        fetch_model(_spec("https://unused"), target, from_file=copied)
    assert not (target / "test-model.onnx").exists()


def test_fetch_command_from_file_verify_and_list(tmp_path):
    models = tmp_path / "models"
    spec = CATALOGUE["u2netp"]
    with override_settings(WAGTAIL_BGCUT={"MODEL_DIR": str(models), "LOCAL_MODEL": "u2netp"}):
        bad = tmp_path / "u2netp-copy.onnx"
        bad.write_bytes(b"definitely not u2netp")
        with pytest.raises(CommandError, match="pinned checksum"):
            call_command("bgcut_model", "fetch", "u2netp", "--from", str(bad), stdout=io.StringIO())
        assert not (models / spec.filename).exists()
        out = io.StringIO()
        call_command("bgcut_model", "list", stdout=out)
        assert "u2netp" in out.getvalue() and "not fetched" in out.getvalue()
        # A file that went bad on disk is found by verify.
        models.mkdir(exist_ok=True)
        (models / spec.filename).write_bytes(b"corrupted")
        with pytest.raises(CommandError, match="Checksum mismatch: u2netp"):
            call_command("bgcut_model", "verify", stdout=io.StringIO())


def test_a_named_model_that_is_not_fetched_is_e010_with_the_command_as_hint(tmp_path):
    with override_settings(
        WAGTAIL_BGCUT={"LOCAL_MODEL": "isnet-general-use", "MODEL_DIR": str(tmp_path)}
    ):
        errors = [e for e in run_checks() if e.id == "wagtail_bgcut.E010"]
    assert len(errors) == 1
    assert errors[0].hint == "python manage.py bgcut_model fetch isnet-general-use"


def test_auto_uses_a_fetched_model_and_the_built_in_segmenter_otherwise(tmp_path):
    assert resolve("auto", tmp_path) == (None, None)
    (tmp_path / "isnet-imgly-small.onnx").write_bytes(b"x")
    path, spec = resolve("auto", tmp_path)
    assert spec is CATALOGUE["isnet-imgly-small"] and path == tmp_path / spec.filename
    with override_settings(WAGTAIL_BGCUT={"MODEL_DIR": str(tmp_path)}):
        from wagtail_bgcut.backends.local import LocalBackend

        assert LocalBackend().engine_id == "local:onnx:isnet-imgly-small.onnx:1"
    assert resolve(None, tmp_path) == (None, None)
    assert resolve(Path("/x/y.onnx"), tmp_path) == (Path("/x/y.onnx"), None)


def test_auto_falls_back_to_the_built_in_segmenter_without_onnxruntime(tmp_path, monkeypatch):
    import importlib.util

    (tmp_path / "isnet-imgly-small.onnx").write_bytes(b"x")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxruntime" else real_find_spec(name, *a),
    )
    assert resolve("auto", tmp_path) == (None, None)
    with override_settings(WAGTAIL_BGCUT={"MODEL_DIR": str(tmp_path)}):
        assert not [e for e in run_checks() if e.id.startswith("wagtail_bgcut.E")]


def _fake_npm(tmp_path: Path, chunks: list[bytes], *, corrupt: bool = False) -> Path:
    """An ``npm`` executable that "packs" a tarball shaped like @imgly/background-removal-data."""
    import json
    import tarfile

    tarball = tmp_path / "pkg.tgz"
    names = [hashlib.sha256(c).hexdigest() for c in chunks]
    index = {
        "/models/small": {"chunks": [{"hash": n} for n in names], "size": sum(map(len, chunks))}
    }
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in [
            ("resources.json", json.dumps(index).encode()),
            *zip(names, chunks, strict=True),
        ]:
            if corrupt and name == names[-1]:
                data = data[::-1]
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    npm = tmp_path / "npm"
    npm.write_text(
        f'#!/bin/sh\n# args: pack SPEC --pack-destination DIR\ncp {tarball} "$4/x.tgz"\n'
    )
    npm.chmod(0o755)
    return npm


def test_the_npm_source_assembles_and_verifies_the_chunks(tmp_path):
    from wagtail_bgcut.model_files.fetch import fetch_npm

    chunks = [PAYLOAD[:400_000], PAYLOAD[400_000:800_000], PAYLOAD[800_000:]]
    source = ModelSource("npm", "@imgly/background-removal-data@1.4.5", "/models/small")
    spec = replace(_spec("https://unused"), sources=(source,))
    npm = _fake_npm(tmp_path, chunks)
    path = fetch_npm(spec, source, tmp_path / "models", npm=str(npm))
    assert path.read_bytes() == PAYLOAD
    path.unlink()
    npm = _fake_npm(tmp_path, chunks, corrupt=True)
    with pytest.raises(ChecksumMismatch, match="corrupt"):
        fetch_npm(spec, source, tmp_path / "models", npm=str(npm))
    assert not (tmp_path / "models" / "test-model.onnx").exists()
