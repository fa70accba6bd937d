"""One exception tree for everything the BackgroundCut client can raise.

Callers catch :class:`BackgroundCutError` for "the service did not give us a result", or a precise
subclass to act on it (top up credits on :class:`InsufficientCredits`, re-upload on
:class:`NotFound`). Every error carries ``status`` (HTTP status or None), ``detail`` (the provider's
``detail`` string, or our own plain-words reason) and ``retry_after`` (seconds, or None).

The API key never appears here: messages are built from the status, the request path and the
provider's ``detail``, and the transport scrubs the key out of ``detail`` before it gets here. The
raw ``requests`` response is deliberately not kept, because its request carries the key in its
headers and would show up in debuggers and error pages.

``BackgroundCutError`` is the client's subtree of :class:`wagtail_bgcut.exceptions.BgcutError`.
Each class says whether trying again later may succeed (``retryable``): yes for a failed connection,
a rate limit and the provider's own trouble (429 and 5xx); no for what the same request will always
get (bad input, a missing key or credits, an answer we cannot read). That is a statement about the
error, not a licence to repeat a charged call at once: the transport's own retries are narrower
(see :mod:`.retry`).
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BgcutError

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


def _transient(status: int | None) -> bool:
    """429 and 5xx: the provider's load or trouble, which passes; every other status is ours."""
    return status is not None and (status == 429 or 500 <= status <= 599)


class BackgroundCutError(BgcutError):
    """Base of every client error.

    ``may_have_been_charged`` is True when a call that spends credits may have reached the provider
    and been charged although we got no usable answer (a 504, a reset or read timeout after the
    request was sent, an unreadable success). Such a call is never repeated by the client; the
    caller decides (the pipeline records it and waits for an explicit retry).
    """

    default_detail = "BackgroundCut request failed"
    may_have_been_charged: bool = False

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
        super().__init__(self.detail, detail=self.detail)

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
        return (
            _rebuild,
            (type(self), self.detail, self._state(), self.may_have_been_charged),
        )


def _rebuild(
    cls: type[BackgroundCutError], detail: str, state: dict[str, Any], charged: bool = False
):
    error = cls(detail, **state)
    if charged:
        error.may_have_been_charged = True
    return error


class TransportError(BackgroundCutError):
    """No usable HTTP answer: connection refused or reset, timeout, truncated body.

    ``request_sent`` is False only when the failure happened before the request left this
    machine (the server cannot have acted on it, so nothing can have been charged).
    """

    default_detail = "could not reach BackgroundCut"
    final = False  # set for failures a retry cannot fix (TLS errors, malformed URLs)

    def __init__(
        self,
        detail: str | None = None,
        *,
        request_sent: bool = True,
        final: bool = False,
        **kwargs: Any,
    ):
        self.request_sent = request_sent
        self.final = final
        super().__init__(detail, **kwargs)

    @property
    def retryable(self) -> bool:
        # The network usually comes back; a TLS failure or a malformed URL does not fix itself.
        return not self.final

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "request_sent": self.request_sent, "final": self.final}


class APIError(BackgroundCutError):
    """The API answered with an error status (statuses without a class of their own land here)."""

    default_detail = "BackgroundCut returned an error"

    @property
    def retryable(self) -> bool:
        # Statuses without a class of their own: a 5xx (500, 502) is the provider's and may pass.
        return _transient(self.status)


class BadRequest(APIError):
    """400: invalid parameters, unreadable image, duplicate variant names, malformed JSON."""

    retryable = False  # the same request gets the same answer


class AuthenticationFailed(APIError):
    """401: missing or invalid API key or access token."""

    retryable = False  # needs a new key or token, not time


class InsufficientCredits(APIError):
    """402: the account has no credits left for this call."""

    retryable = False  # needs someone to buy credits; waiting alone does not help


class NotFound(APIError):
    """404: the ``unique_filename`` (upload or AI Cut session) does not exist or has expired."""

    retryable = False  # an expired upload stays expired (a new upload is another request)


class MethodNotAllowed(APIError):
    """405 (v2): the request was not a POST."""

    retryable = False  # a bug on our side


class PayloadTooLarge(APIError):
    """413 (v2): the upload is over 12 MB."""

    retryable = False  # the file stays too large


class ValidationFailed(APIError):
    """422: the request body did not validate."""

    retryable = False  # the same body fails the same way


class RateLimited(APIError):
    """429: too many requests; ``retry_after`` says how long to wait when the API told us.

    Also raised with ``status=None`` when this process's own rate limiter cannot grant a slot
    within the call's time budget.
    """

    retryable = True  # the allowance refills every minute


class InvalidEndpoint(APIError):
    """450 (v2): the URL posted to is not the v2 endpoint."""

    retryable = False  # a misconfigured URL stays wrong


class ServiceBusy(APIError):
    """503: the service is overloaded; try again later."""

    retryable = True  # overload passes


class ProcessingTimeout(APIError):
    """504: processing took too long on the provider's side."""

    retryable = True  # a slow moment on the provider's side passes


class UnexpectedResponse(APIError):
    """A success status whose body is not what the provider's pages document."""

    retryable = False  # the provider's format changed, or we misread it: time does not fix that


class DownloadError(BackgroundCutError):
    """A result file was refused: host not allowed, redirect off the list, private address,
    too large, expired (``status`` is then the HTTP status), or not an image of the asked format."""

    default_detail = "result download refused"

    @property
    def retryable(self) -> bool:
        # Only when the result host answered 429 or 5xx. Without a status the refusal is ours (host
        # not allowed, private address, too large, not the asked image) and repeats; an expired
        # URL (403/404/410) stays expired. Network failures are TransportErrors, not these.
        return _transient(self.status)


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
