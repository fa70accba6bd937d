"""HTTP client for the BackgroundCut API (no Django here; the backends wrap it).

    from wagtail_bgcut.client import BackgroundCutClient

    with BackgroundCutClient(api_key) as client:
        upload = client.upload_image("photo.jpg")
        result = client.process_image(upload.unique_filename, [{"variant_name": "full"}])
        with client.download(result.output_urls["full"], expected_format="png") as file:
            ...

See docs/client.md for retries, rate limiting and download safety.
"""

from __future__ import annotations

from .client import BackgroundCutClient
from .downloads import Download
from .exceptions import (
    APIError,
    AuthenticationFailed,
    BackgroundCutError,
    BadRequest,
    DownloadError,
    InsufficientCredits,
    InvalidEndpoint,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProcessingTimeout,
    RateLimited,
    ServiceBusy,
    TransportError,
    UnexpectedResponse,
    ValidationFailed,
)
from .ratelimit import RateLimiter
from .responses import AccessToken, AICutSession, ProcessResult, SegmentResult, Upload, V2Result

__all__ = [
    "AICutSession",
    "APIError",
    "AccessToken",
    "AuthenticationFailed",
    "BackgroundCutClient",
    "BackgroundCutError",
    "BadRequest",
    "Download",
    "DownloadError",
    "InsufficientCredits",
    "InvalidEndpoint",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ProcessResult",
    "ProcessingTimeout",
    "RateLimited",
    "RateLimiter",
    "SegmentResult",
    "ServiceBusy",
    "TransportError",
    "UnexpectedResponse",
    "Upload",
    "V2Result",
    "ValidationFailed",
]
