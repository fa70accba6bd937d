"""Errors the emulated API answers with.

Handlers raise these; the WSGI app turns each into the provider's error shape, ``{"detail": ...}``
with the status the pages document (moto keeps one such module per service, for the same reason:
the status and body live in one place, never spread through the handlers).
"""

from __future__ import annotations


class EmulatorError(Exception):
    """An error response: HTTP ``status`` and the provider's ``detail`` text."""

    status = 400
    default_detail = "Bad request."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class BadRequest(EmulatorError):
    status = 400
    default_detail = "Invalid parameters or request body."


class Unauthorized(EmulatorError):
    status = 401
    default_detail = "Missing or invalid Authorization header."


class PaymentRequired(EmulatorError):
    status = 402
    default_detail = "Insufficient credits."


class NotFound(EmulatorError):
    status = 404
    default_detail = "Image not found. The unique_filename does not exist or has expired."


class MethodNotAllowed(EmulatorError):
    status = 405
    default_detail = "Invalid request METHOD (Ensure the request is of type POST)."


class PayloadTooLarge(EmulatorError):
    status = 413
    default_detail = "Request Entity Too Large. File size should not exceed 12MB when uploading."


class ValidationError(EmulatorError):
    status = 422
    default_detail = "Validation error."


class RateLimited(EmulatorError):
    status = 429
    default_detail = "Rate limit exceeded. Slow down requests."


class InvalidURL(EmulatorError):
    status = 450
    default_detail = "Invalid POST URL (Ensure the URL is https://api.backgroundcut.co/v2/cut/)."
