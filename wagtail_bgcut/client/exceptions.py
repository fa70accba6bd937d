"""One exception tree for everything the BackgroundCut client can raise.

Callers catch :class:`BackgroundCutError` for "the service did not give us a result", or a precise
subclass to act on it (top up credits on :class:`InsufficientCredits`, re-upload on
:class:`NotFound`). Every error carries ``status`` (HTTP status or None), ``detail`` (the provider's
``detail`` string, or our own plain-words reason) and ``retry_after`` (seconds, or None).

The API key never appears here: messages are built from the status, the request path and the
provider's ``detail``, and the transport scrubs the key out of ``detail`` before it gets here. The
raw ``requests`` response is deliberately not kept, because its request carries the key in its
headers and would show up in debuggers and error pages.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationFailed",
    "BackgroundCutError",
    "BadRequest",
    "DownloadError",
    "InsufficientCredits",
    "InvalidEndpoint",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ProcessingTimeout",
    "RateLimited",
    "ServiceBusy",
    "TransportError",
    "UnexpectedResponse",
    "ValidationFailed",
    "error_for_status",
]


class BackgroundCutError(Exception):
    """Base of every client error."""

    default_detail = "BackgroundCut request failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ):
        self.detail = detail if detail is not None else self.default_detail
        self.status = status
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(self.detail)

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        head = " ".join(parts)
        text = f"{head}: {self.detail}" if head else self.detail
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, detail={self.detail!r}, "
            f"retry_after={self.retry_after!r})"
        )

    def _state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "retry_after": self.retry_after,
            "method": self.method,
            "path": self.path,
        }

    def __reduce__(self):
        # Task queues pickle exceptions; keyword-only arguments need this to survive the trip.
        return (_rebuild, (type(self), self.detail, self._state()))


def _rebuild(cls: type[BackgroundCutError], detail: str, state: dict[str, Any]):
    return cls(detail, **state)


class TransportError(BackgroundCutError):
    """No usable HTTP answer: connection refused or reset, timeout, truncated body.

    ``request_sent`` is False only when the failure happened before the request left this
    machine (the server cannot have acted on it, so nothing can have been charged).
    """

    default_detail = "could not reach BackgroundCut"
    final = False  # set for failures a retry cannot fix (TLS errors, malformed URLs)

    def __init__(self, detail: str | None = None, *, request_sent: bool = True, **kwargs: Any):
        self.request_sent = request_sent
        super().__init__(detail, **kwargs)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "request_sent": self.request_sent}


class APIError(BackgroundCutError):
    """The API answered with an error status (statuses without a class of their own land here)."""

    default_detail = "BackgroundCut returned an error"


class BadRequest(APIError):
    """400: invalid parameters, unreadable image, duplicate variant names, malformed JSON."""


class AuthenticationFailed(APIError):
    """401: missing or invalid API key or access token."""


class InsufficientCredits(APIError):
    """402: the account has no credits left for this call."""


class NotFound(APIError):
    """404: the ``unique_filename`` (upload or AI Cut session) does not exist or has expired."""


class MethodNotAllowed(APIError):
    """405 (v2): the request was not a POST."""


class PayloadTooLarge(APIError):
    """413 (v2): the upload is over 12 MB."""


class ValidationFailed(APIError):
    """422: the request body did not validate."""


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` says how long to wait when the API told us.

    Also raised with ``status=None`` when this process's own rate limiter cannot grant a slot
    within the call's time budget.
    """


class InvalidEndpoint(APIError):
    """450 (v2): the URL posted to is not the v2 endpoint."""


class ServiceBusy(APIError):
    """503: the service is overloaded; try again later."""


class ProcessingTimeout(APIError):
    """504: processing took too long on the provider's side."""


class UnexpectedResponse(APIError):
    """A success status whose body is not what the provider's pages document."""


class DownloadError(BackgroundCutError):
    """A result file was refused: host not allowed, redirect off the list, private address,
    too large, expired (``status`` is then the HTTP status), or not an image of the asked format."""

    default_detail = "result download refused"


STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    402: InsufficientCredits,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
    450: InvalidEndpoint,
    503: ServiceBusy,
    504: ProcessingTimeout,
}


def error_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP status; unknown statuses map to :class:`APIError`."""
    return STATUS_ERRORS.get(status, APIError)
