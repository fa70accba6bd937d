"""A threaded HTTP server around the emulator, for tests (``EmulatorServer``) and for humans
(``python -m wagtail_bgcut.testing.server``).

``port=0`` asks the OS for a free port; :meth:`EmulatorServer.start` returns once the socket
accepts connections, so a test can call the API right away.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp
from .faults import _UNSET, Fault, FaultInjector
from .state import (
    DEFAULT_API_KEY,
    DEFAULT_CREDITS,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_LIMIT_MAX,
    DEFAULT_TOKEN_TTL,
    DEFAULT_UPLOAD_TTL,
    DEFAULT_URL_TTL,
    Charge,
    EmulatorState,
    LoggedRequest,
)

logger = logging.getLogger("wagtail_bgcut.testing")
# Faithful mode serves result files from this second loopback address (Linux routes all of
# 127.0.0.0/8 to lo), so the result host differs from the API host by address AND port.
DEFAULT_RESULT_HOST = "127.0.0.2"


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the ``wagtail_bgcut.testing`` logger at DEBUG, not to stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug('"%s" %s %s', self.requestline, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug(message, *args)


class _VerboseHandler(WSGIRequestHandler):
    """werkzeug's usual request lines on stderr (``--verbose``). A subclass of our own, because
    the server sets ``protocol_version`` on the handler class it is given."""


class EmulatorServer:
    """The BackgroundCut emulator on a loopback port::

    with EmulatorServer(api_key="test-key", credits=10) as server:
        server.api_base          # Processing API: /v3/..., /v2/cut/, result files
        server.token_api_base    # Token API: /api/v3/...

    ``faithful=True`` follows the pages where the defaults are convenient instead: remove-bg is
    charged when its token is issued (01), result files are served only from a separate result
    host (``server.result_base``, on ``result_host``, another loopback address and port) and AI
    Cut sessions expire after ``session_ttl`` seconds (04; the length is invented).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        credits: float = DEFAULT_CREDITS,
        url_ttl: float = DEFAULT_URL_TTL,
        upload_ttl: float = DEFAULT_UPLOAD_TTL,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        rate_limit_max: int | None = DEFAULT_RATE_LIMIT_MAX,
        pricing: dict[str, float] | None = None,
        *,
        verbose: bool = False,
        faithful: bool = False,
        session_ttl: float | None = None,
        result_host: str = DEFAULT_RESULT_HOST,
    ):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.faithful = faithful
        self.result_host = result_host
        self.result_port = 0
        self.state = EmulatorState(
            api_key=api_key,
            credits=credits,
            url_ttl=url_ttl,
            upload_ttl=upload_ttl,
            token_ttl=token_ttl,
            rate_limit=rate_limit,
            rate_limit_max=rate_limit_max,
            pricing=pricing,
            faithful=faithful,
            session_ttl=session_ttl,
        )
        self.faults = FaultInjector()
        self.app = EmulatorApp(self.state, self.faults, role="api" if faithful else "all")
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._result_server: BaseWSGIServer | None = None
        self._result_thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never shows the key
        where = self.api_base if self._server else "not started"
        return f"<EmulatorServer {where}>"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        handler = _VerboseHandler if self.verbose else _QuietHandler
        server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"bgcut-emulator-{self.port}",
        )
        self._thread.start()
        self._wait_ready()
        if self.faithful:
            self._start_result_host(handler)
        return self

    def _start_result_host(self, handler: type[WSGIRequestHandler]) -> None:
        """The result files on their own host (another loopback address and port), as a CDN."""
        app = EmulatorApp(self.state, self.faults, role="results")
        try:
            server = make_server(self.result_host, 0, app, threaded=True, request_handler=handler)
        except OSError:  # a system without 127.0.0.2: another port on the API's address
            self.result_host = self._connect_host
            server = make_server(self.result_host, 0, app, threaded=True, request_handler=handler)
        self._result_server = server
        self.result_port = server.server_port
        self._result_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"bgcut-emulator-results-{self.result_port}",
        )
        self._result_thread.start()
        self.state.result_base = self.result_base

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    with socket.create_connection((self._connect_host, self.port), timeout=1):
                        return
                except OSError:
                    deadline.wait(0.02)
        finally:
            timer.cancel()
        raise RuntimeError(f"the emulator did not start on {self.host}:{self.port}")

    def stop(self) -> None:
        result_server, self._result_server = self._result_server, None
        if result_server is not None:
            result_server.shutdown()
            result_server.server_close()
            if self._result_thread is not None:
                self._result_thread.join(timeout=5)
                self._result_thread = None
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def _connect_host(self) -> str:
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
        return wildcard.get(self.host, self.host)

    @property
    def api_base(self) -> str:
        """Processing API base URL: ``/v3/...`` and ``/v2/cut/`` are appended to it."""
        host = self._connect_host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def result_base(self) -> str:
        """Where result files are served: the separate result host in faithful mode."""
        if not self.faithful:
            return self.api_base
        host = f"[{self.result_host}]" if ":" in self.result_host else self.result_host
        return f"http://{host}:{self.result_port}"

    @property
    def token_api_base(self) -> str:
        """Token API base URL: ``/v3/remove-bg/token/`` and ``/v3/ai-cut/token/`` are appended."""
        return f"{self.api_base}/api"

    # -- state for tests ---------------------------------------------------------------------
    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def credits(self) -> float:
        with self.state.lock:
            return self.state.credits

    def set_credits(self, credits: float) -> None:
        with self.state.lock:
            self.state.credits = float(credits)

    @property
    def ledger(self) -> list[Charge]:
        with self.state.lock:
            return list(self.state.ledger)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def inject(
        self,
        status: int | object | None = _UNSET,
        times: int | None = 1,
        path: str | None = None,
        rate: float | None = None,
        latency: float | None = None,
        reset: bool = False,
        truncate: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
        lost: str | None = None,
    ) -> Fault:
        """Arm a fault for the next ``times`` matching requests (None: until :meth:`reset`).

        ``status`` (503 unless only ``latency``/``reset``/``truncate`` is given) answers
        ``{"detail": detail}`` with ``Retry-After: retry_after``; ``rate`` fires it with that
        probability; ``path`` limits it to paths starting with it (or matching a glob);
        ``latency`` sleeps first; ``reset`` drops the connection without an answer;
        ``truncate`` sends half the real body under a full ``Content-Length``;
        ``lost`` ("reset" or "504") handles the request for real, charge included, then drops the
        answer ("charged, then the answer is lost").
        """
        return self.faults.add(
            status,
            times=times,
            path=path,
            rate=rate,
            latency=latency,
            reset=reset,
            truncate=truncate,
            retry_after=retry_after,
            detail=detail,
            lost=lost,
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self) -> None:
        """Forget everything: uploads, sessions, tokens, results, ledger, request log, faults,
        rate-limit windows and clock offset; credits back to the starting amount."""
        self.state.reset()
        self.faults.clear()

    def expire(self, unique_filename: str | None = None) -> None:
        """Expire now (instead of waiting for a TTL): the upload or AI Cut session
        ``unique_filename``, its result URLs and tokens bound to it; with None, all of them."""
        self.state.expire(unique_filename)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward: TTLs and rate-limit windows pass without sleeping."""
        self.state.advance(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wagtail_bgcut.testing.server",
        description="Run the BackgroundCut API emulator until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--credits", type=float, default=DEFAULT_CREDITS)
    parser.add_argument(
        "--url-ttl", type=float, default=DEFAULT_URL_TTL, help="seconds result URLs live"
    )
    parser.add_argument(
        "--upload-ttl", type=float, default=DEFAULT_UPLOAD_TTL, help="seconds uploads live"
    )
    parser.add_argument(
        "--token-ttl", type=float, default=DEFAULT_TOKEN_TTL, help="seconds tokens live"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT,
        help="requests per minute per key; 0 disables",
    )
    parser.add_argument("--rate-limit-max", type=int, default=DEFAULT_RATE_LIMIT_MAX)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--faithful",
        action="store_true",
        help="charge at token issue, serve results from a separate host, expire AI Cut sessions",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        credits=args.credits,
        url_ttl=args.url_ttl,
        upload_ttl=args.upload_ttl,
        token_ttl=args.token_ttl,
        rate_limit=args.rate_limit or None,
        rate_limit_max=args.rate_limit_max,
        verbose=args.verbose,
        faithful=args.faithful,
    )
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"BackgroundCut emulator ready (credits: {server.credits:g})", flush=True)
    print(f"API_BASE={server.api_base}", flush=True)
    print(f"TOKEN_API_BASE={server.token_api_base}", flush=True)
    if server.faithful:
        print(f"RESULT_BASE={server.result_base}", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
