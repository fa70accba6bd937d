"""The WSGI application: routing, fault injection, error bodies and the request log.

Handlers raise :mod:`.exceptions` errors; this module is the one place that turns them (and
werkzeug's routing errors) into the provider's answers: ``{"detail": ...}`` JSON, 405 for a wrong
method, 450 for an unknown ``/v2/`` URL (as the v2 page documents), 404 elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from . import engine
from .exceptions import EmulatorError, InvalidURL, MethodNotAllowed, NotFound, PayloadTooLarge
from .faults import Fault, FaultInjector
from .responses import Handlers, json_response
from .routes import url_map
from .state import EmulatorState

logger = logging.getLogger("wagtail_bgcut.testing")

# Room for multipart overhead, or for a 12 MB image sent as base64 text (v2 image_file_b64).
_MAX_BODY = engine.MAX_UPLOAD_BYTES * 4 // 3 + 1024 * 1024


class EmulatorRequest(Request):
    max_content_length = _MAX_BODY
    max_form_memory_size = _MAX_BODY
    max_form_parts = 100


class EmulatorApp:
    """WSGI callable serving one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState, faults: FaultInjector, role: str = "all"):
        self.state = state
        self.faults = faults
        self.handlers = Handlers(state)
        # "all": one host serves everything; "api": no result files (faithful mode, where they
        # live on the separate "results" host, which serves nothing else).
        self.role = role

    def _wrong_host(self, path: str) -> bool:
        if self.role == "api":
            return path.startswith("/results/")
        if self.role == "results":
            return not path.startswith("/results/")
        return False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        received = self.state.now()
        request = EmulatorRequest(environ)
        path = request.path
        if self._wrong_host(path):
            return json_response({"detail": "Not Found"}, 404)(environ, start_response)
        if request.method == "OPTIONS" and _browser_facing(path):
            return _preflight()(environ, start_response)
        fault = None if path.startswith("/_emulator/") else self.faults.take(path)
        if fault is not None and fault.latency:
            time.sleep(fault.latency)
        if fault is not None and fault.reset:
            self.state.log_request(
                request.method, path, None, None, fault="reset", received=received
            )
            _abort_connection(environ)
        endpoint: str | None = None
        if fault is not None and fault.status is not None:
            response = _fault_response(fault)
        else:
            endpoint, response = self._dispatch(request)
        if fault is not None and fault.lost:
            # Done (and charged) for real; the answer never arrives.
            status = None if fault.lost == "reset" else 504
            self.state.log_request(
                request.method, path, status, endpoint, fault.kind, received=received
            )
            if fault.lost == "reset":
                _abort_connection(environ)
            return _fault_response(Fault(status=504))(environ, start_response)
        if not path.startswith("/_emulator/"):  # the log records API traffic only
            self.state.log_request(
                request.method,
                path,
                response.status_code,
                endpoint,
                fault and fault.kind,
                received=received,
            )
        if _browser_facing(path):
            response.headers["Access-Control-Allow-Origin"] = "*"
        if fault is not None and fault.truncate:
            return _truncated(response, environ, start_response)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> tuple[str | None, Response]:
        adapter = url_map.bind_to_environ(request.environ)
        endpoint = None
        try:
            endpoint, args = adapter.match()
            if endpoint.startswith("control_"):
                return endpoint, self._control(endpoint, request)
            if (request.content_length or 0) > _MAX_BODY:
                raise PayloadTooLarge()
            return endpoint, getattr(self.handlers, endpoint)(request, **args)
        except EmulatorError as exc:
            return endpoint, _error_response(exc)
        except RequestRedirect as exc:
            return endpoint, exc.get_response(request.environ)
        except RouteMethodNotAllowed:
            if request.path.startswith("/v2/"):
                return endpoint, _error_response(MethodNotAllowed())
            return endpoint, _error_response(MethodNotAllowed("Method Not Allowed"))
        except RouteNotFound:
            if request.path.startswith("/v2/"):
                return endpoint, _error_response(InvalidURL())
            return endpoint, _error_response(NotFound("Not Found"))
        except RequestEntityTooLarge:
            return endpoint, _error_response(PayloadTooLarge())
        except HTTPException as exc:
            return endpoint, json_response({"detail": exc.description}, exc.code or 400)
        except Exception as exc:  # a bug in the emulator or the engine: say so, don't hang
            logger.exception("emulator error on %s %s", request.method, request.path)
            return endpoint, json_response(
                {"detail": f"Emulator error: {type(exc).__name__}"}, status=500
            )

    # -- control endpoints (for the CLI server, used from other processes) -----------------------
    def _control(self, endpoint: str, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if endpoint == "control_state":
            with self.state.lock:
                return json_response(
                    {
                        "credits": self.state.credits,
                        "ledger": [asdict(c) for c in self.state.ledger],
                        "requests": [asdict(r) for r in self.state.requests],
                    }
                )
        if endpoint == "control_reset":
            self.state.reset()
            self.faults.clear()
        elif endpoint == "control_credits":
            with self.state.lock:
                self.state.credits = float(body["credits"])
        elif endpoint == "control_faults":
            self.faults.add(**body)
        elif endpoint == "control_expire":
            self.state.expire(body.get("unique_filename"))
        return json_response({"ok": True})


def _browser_facing(path: str) -> bool:
    """The Processing API and result files: browsers call them cross-origin (the token flow).

    The Token API (``/api/...``) gets no CORS headers: only servers, holding the key, call it.
    """
    return path.startswith(("/v3/", "/v2/", "/results/"))


def _preflight() -> Response:
    """Answer a CORS preflight as a browser-facing API must (not logged, not rate-limited)."""
    response = Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def _error_response(exc: EmulatorError) -> Response:
    return json_response({"detail": exc.detail}, exc.status, exc.headers)


def _fault_response(fault: Fault) -> Response:
    status = fault.status or 503
    detail = fault.detail or {
        429: "Rate limit exceeded. Slow down requests.",
        503: "Server busy, try again later.",
        504: "Processing timeout.",
    }.get(status, "Injected fault.")
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    return json_response({"detail": detail}, status, headers)


def _truncated(response: Response, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Promise the whole body in Content-Length, send half of it; the server then closes."""
    body = response.get_data()
    headers = [
        (k, v) for k, v in response.get_wsgi_headers(environ) if k.lower() != "content-length"
    ]
    headers.append(("Content-Length", str(max(len(body), 2))))
    start_response(response.status, headers)
    return [body[: len(body) // 2]]


def _abort_connection(environ: dict[str, Any]) -> None:
    """Drop the connection with no response: RST on close (SO_LINGER 0)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            # Ends the keep-alive loop too: the handler's next read sees EOF and closes.
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("connection reset by an injected fault")
