"""The HTTP layer: one pooled session, auth headers, retries, error mapping, logging.

Everything the client sends goes through :meth:`Transport.send`, so there is exactly one place that
knows the key, one retry loop and one mapping from statuses to exceptions. Transport errors are
raised without the ``requests`` exception as their cause or context: its frames hold the prepared
request, whose headers carry the key, and debug error pages print chained frames' locals. For the
same reason no local variable of ours holds the key in plain form (headers are built inline in a
dict whose repr hides the values).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from .exceptions import (
    BackgroundCutError,
    TransportError,
    UnexpectedResponse,
    error_for_status,
)
from .ratelimit import RateLimiter
from .retry import Backoff, may_have_charged, parse_retry_after, should_retry

__all__ = ["Reply", "Transport", "peer_address", "transport_error"]

logger = logging.getLogger("wagtail_bgcut.client")

MAX_DETAIL_CHARS = 500
# urllib3 causes that mean the request never left: nothing can have been charged.
_UNSENT = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class _RedactedHeaders(dict):
    """A header dict whose repr hides values, for locals shown by debuggers and error pages."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"


@dataclass
class Reply:
    """What a successful exchange gave us (body already read, connection released)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self, method: str, path: str) -> dict[str, Any]:
        try:
            data = json.loads(self.content)
        except ValueError:
            raise UnexpectedResponse(
                "the response is not JSON", status=self.status, method=method, path=path
            ) from None
        if not isinstance(data, dict):
            raise UnexpectedResponse(
                "the response is not a JSON object", status=self.status, method=method, path=path
            )
        return data


def _sent(exc: requests.RequestException) -> bool:
    """False when the failure certainly happened before the request went out."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the real cause
        if isinstance(reason, _UNSENT):
            return False
    return True


def transport_error(
    exc: requests.RequestException, method: str, path: str, scrub: Callable[[str], str]
) -> TransportError:
    """A TransportError describing ``exc`` in plain words, without its request."""
    if isinstance(exc, requests.ConnectTimeout):
        what = "connection timed out"
    elif isinstance(exc, requests.ReadTimeout):
        what = "timed out waiting for the response"
    elif isinstance(exc, requests.exceptions.SSLError):
        what = "TLS handshake failed"
    elif isinstance(exc, _BODY_ERRORS):
        what = "the response body was cut short or garbled"
    elif isinstance(exc, requests.ConnectionError):
        what = "connection refused" if not _sent(exc) else "connection reset or closed"
    else:
        what = "request failed"
    return TransportError(
        f"{what} ({scrub(type(exc).__name__)})",
        request_sent=_sent(exc),
        final=isinstance(exc, requests.exceptions.SSLError | requests.exceptions.InvalidURL),
        method=method,
        path=path,
    )


def peer_address(response: requests.Response) -> str | None:
    """The IP the response came from, when urllib3 exposes the socket (best effort)."""
    try:
        sock = response.raw.connection.sock
        return str(sock.getpeername()[0])
    except Exception:  # any missing attribute just means "unknown"
        return None


def _detail(content: bytes, status: int, reason: str | None) -> str:
    """The provider's ``detail`` (string, or FastAPI-style list), else a short body excerpt."""
    detail: Any = None
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        if isinstance(detail, list):
            items = []
            for item in detail:
                if isinstance(item, dict) and "msg" in item:
                    loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                    items.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
                else:
                    items.append(str(item))
            detail = "; ".join(items)
        elif not isinstance(detail, str):
            detail = json.dumps(detail)
    elif isinstance(data, dict) and isinstance(data.get("error"), str):
        detail = data["error"]
    if not detail:
        text = content.decode("utf-8", "replace").strip()
        detail = " ".join(text.split()) if text and len(text) < 2000 and "<" not in text else ""
    if not detail:
        detail = reason or f"HTTP {status}"
    return detail[:MAX_DETAIL_CHARS]


class Transport:
    """Sends requests for :class:`~wagtail_bgcut.client.BackgroundCutClient`."""

    def __init__(
        self,
        api_key: str,
        *,
        session: requests.Session,
        timeout: tuple[float, float],
        max_retries: int,
        max_retry_time: float,
        backoff: Backoff,
        limiter: RateLimiter | None,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._api_key = api_key
        self.session = session
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_time = max_retry_time
        self.backoff = backoff
        self.limiter = limiter
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"<Transport api_key='***' retries={self.max_retries}>"

    def scrub(self, text: str) -> str:
        """Replace the key wherever it appears (providers sometimes echo what they were sent)."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def headers(self, auth: str | None, accept: str = "application/json") -> _RedactedHeaders:
        headers = _RedactedHeaders({"User-Agent": self.user_agent, "Accept": accept})
        if auth == "bearer":
            headers["Authorization"] = "Bearer " + self._api_key
        elif auth == "plain":  # the legacy v2 endpoint takes the bare key
            headers["Authorization"] = self._api_key
        return headers

    # -- the retry loop -------------------------------------------------------------------------

    def call(
        self,
        attempt_fn: Callable[[float], Any],
        *,
        charged: bool,
        method: str,
        path: str,
        rate_limited: bool = True,
    ) -> Any:
        """Run ``attempt_fn(read_timeout)`` until it succeeds or the error is final.

        Bounded by ``max_retries`` extra attempts and ``max_retry_time`` seconds in total
        (rate-limiter waits and backoff sleeps included).
        """
        deadline = self._clock() + self.max_retry_time
        attempt = 0
        while True:
            if self.limiter is not None and rate_limited:
                remaining = max(deadline - self._clock(), 0.0)
                waited = self.limiter.acquire(max_wait=remaining)
                if waited:
                    logger.debug("%s %s waited %.2fs for the rate limiter", method, path, waited)
            remaining = deadline - self._clock()
            read_timeout = max(min(self.timeout[1], remaining), 1.0)
            try:
                return attempt_fn(read_timeout)
            except BackgroundCutError as error:
                if error.status == 429 and error.retry_after and self.limiter is not None:
                    # The key is over its limit for everyone in this process, not just this
                    # call; at most one window, so a wild header cannot stall us for an hour.
                    self.limiter.pause(min(error.retry_after, self.limiter.period))
                if charged and may_have_charged(error):
                    error.may_have_been_charged = True
                    logger.warning(
                        "%s %s may have been charged without an answer (%s); not repeated",
                        method,
                        path,
                        error.status if error.status is not None else type(error).__name__,
                    )
                if not should_retry(error, charged=charged) or attempt >= self.max_retries:
                    raise
                delay = self.backoff.delay(attempt, error.retry_after)
                if self._clock() + delay > deadline:
                    logger.debug("%s %s: no time left for another attempt", method, path)
                    raise
                logger.info(
                    "%s %s failed (%s); retry %d/%d in %.2fs",
                    method,
                    path,
                    error.status if error.status is not None else type(error).__name__,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)
                attempt += 1

    def send(
        self,
        method: str,
        url: str,
        *,
        auth: str | None,
        charged: bool,
        accept: str = "application/json",
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One API call with retries; returns a 2xx :class:`Reply` or raises the mapped error."""
        path = urlsplit(url).path

        def attempt(read_timeout: float) -> Reply:
            started = self._clock()
            response = None
            failure = None
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=self.headers(auth, accept),
                    json=json_body,
                    data=data,
                    files=files,
                    timeout=(self.timeout[0], read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
                content = response.content
            except requests.RequestException as exc:
                elapsed = self._clock() - started
                logger.debug("%s %s -> %s after %.3fs", method, path, type(exc).__name__, elapsed)
                failure = transport_error(exc, method, path, self.scrub)
            finally:
                if response is not None:
                    response.close()
            if failure is not None:
                # Raised outside the except block so it has no __context__ at all: the requests
                # exception's frames hold the prepared request and its Authorization header.
                raise failure
            elapsed = self._clock() - started
            logger.debug("%s %s -> %s in %.3fs", method, path, response.status_code, elapsed)
            if 200 <= response.status_code < 300:
                return Reply(response.status_code, response.headers, content)
            raise error_for_status(response.status_code)(
                self.scrub(_detail(content, response.status_code, response.reason)),
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                method=method,
                path=path,
            )

        return self.call(attempt, charged=charged, method=method, path=path)
