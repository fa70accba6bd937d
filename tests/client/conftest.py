"""Fixtures for the client tests: tiny real images, a scriptable HTTP server, the emulator.

Images are ``ImageBytesFactory(green_square=True)`` (tests/factories.py): a green square on red.

``StubServer`` is a real HTTP server on 127.0.0.1 (``http.server``) for what the emulator cannot
produce on purpose: redirects to other hosts, oversized or non-image result files, connection resets
at a precise moment, a truncated body, and a record of the exact bytes the client sent. Nothing in
these tests patches ``requests``.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.formparser import parse_form_data

from tests.factories import ImageBytesFactory
from wagtail_bgcut.client import BackgroundCutClient

API_KEY = "sk_test_S3CRET-key-4242"


@pytest.fixture
def png_bytes() -> bytes:
    return ImageBytesFactory(green_square=True, fmt="PNG")


@pytest.fixture
def jpeg_bytes() -> bytes:
    return ImageBytesFactory(green_square=True, fmt="JPEG")


@dataclass
class Reply:
    """One scripted answer. ``reset`` drops the connection (RST) after reading the request;
    ``truncate`` sends only that many body bytes of a longer declared Content-Length;
    ``no_length`` sends the body without Content-Length and closes (read-until-EOF)."""

    status: int = 200
    body: bytes | str | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    truncate: int | None = None
    no_length: bool = False
    delay: float = 0.0

    def payload(self) -> tuple[bytes, str | None]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return self.body or b"", None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]
    files: dict[str, tuple[str, str, bytes]]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class StubServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else small writes wait 40 ms for delayed ACKs

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # resets we cause on purpose are not errors

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, *replies: Reply) -> None:
        """Queue replies for ``path``; the last one repeats for every later request."""
        with self._lock:
            self.routes[path] = list(replies)

    def calls(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if path is None or s.path == path]

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self.routes.get(path)
            if not queue:
                return Reply(404, {"detail": "Not Found"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path.split("?", 1)[0]
        form: dict[str, str] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        ctype = h.headers.get("Content-Type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            environ = {
                "REQUEST_METHOD": h.command,
                "CONTENT_TYPE": ctype,
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
            _stream, parsed_form, parsed_files = parse_form_data(environ)
            form = dict(parsed_form)
            files = {
                k: (f.filename or "", f.content_type or "", f.read())
                for k, f in parsed_files.items()
            }
        with self._lock:
            self.seen.append(Seen(h.command, path, dict(h.headers), body, form, files))
        reply = self._next(path)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        payload, default_type = reply.payload()
        h.send_response(reply.status)
        headers = dict(reply.headers)
        if default_type and "Content-Type" not in headers:
            headers["Content-Type"] = default_type
        for k, v in headers.items():
            h.send_header(k, v)
        if reply.no_length:
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(payload)
            h.wfile.flush()
            h.close_connection = True
            return
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if reply.truncate is not None:
            h.wfile.write(payload[: reply.truncate])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        h.wfile.write(payload)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.close()


def fast_client(base: str, api_key: str = API_KEY, **kwargs: Any) -> BackgroundCutClient:
    """A client tuned for tests: no rate limit, millisecond backoff, short timeouts."""
    options: dict[str, Any] = {
        "api_base": base,
        "token_api_base": base + "/api",
        "rate_limit": None,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "max_retry_time": 20.0,
        "timeout": (2.0, 10.0),
    }
    options.update(kwargs)
    return BackgroundCutClient(api_key, **options)


@pytest.fixture
def client(stub):
    with fast_client(stub.base) as c:
        yield c


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
