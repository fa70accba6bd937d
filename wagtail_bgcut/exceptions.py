"""Every error a caller of wagtail_bgcut can meet, importable from this one module.

::

    BgcutError                          operational: .retryable, .detail (safe to show)
    ├── MissingExtra (ImportError)      an optional extra is not installed; names the pip command
    ├── BackendError                    a backend could not make a cut-out          (here)
    ├── BackgroundCutError              the API gave no usable result     (client/exceptions.py)
    │   ├── TransportError              no usable HTTP answer
    │   ├── APIError                    an error status: BadRequest 400, AuthenticationFailed 401,
    │   │                               InsufficientCredits 402, NotFound 404, MethodNotAllowed 405,
    │   │                               PayloadTooLarge 413, ValidationFailed 422, RateLimited 429,
    │   │                               InvalidEndpoint 450, ServiceBusy 503, ProcessingTimeout 504,
    │   │                               UnexpectedResponse
    │   └── DownloadError               a result file was refused
    ├── ImageError (ValueError)         an image or model is unusable       (imaging/errors.py)
    │   ├── UnsupportedImage
    │   ├── DecompressionBomb
    │   ├── ModelError
    │   └── SegmentationTimeout         over the time budget of one segmentation call
    ├── ModelFetchError                 a model could not be fetched     (model_files/fetch.py)
    │   └── ChecksumMismatch            the bytes differ from the pinned checksum
    ├── InvalidVariant (ValueError)     a variant option is missing or out of range  (variants.py)
    └── ResultError, TicketError        a direct upload refused; answered as HTTP by its views,
                                        never raised to callers               (direct_upload/)

    django ImproperlyConfigured
    └── BgcutConfigurationError         a WAGTAIL_BGCUT setting is wrong               (conf.py)
        └── UnknownPreset

Configuration errors stay outside ``BgcutError`` on purpose (as in django-anymail): code that
catches operational failures to retry or report them can never swallow a misconfiguration.

This module must import without Django, requests, Pillow, numpy or OpenCV, because the client and
imaging layers derive their errors from it. So only the root, ``MissingExtra`` and ``BackendError``
live here; the other classes are re-exported lazily (:func:`__getattr__`) from the layer that
defines them, and importing one of them loads that layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Classes defined in the layer that raises them, by module. Imported on first use: loading the
# client pulls in requests, the imaging package Pillow and OpenCV, conf.py Django.
_LAZY = {
    "wagtail_bgcut.conf": ("BgcutConfigurationError", "UnknownPreset"),
    "wagtail_bgcut.client.exceptions": (
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
    ),
    "wagtail_bgcut.imaging.errors": (
        "DecompressionBomb",
        "ImageError",
        "ModelError",
        "SegmentationTimeout",
        "UnsupportedImage",
    ),
    "wagtail_bgcut.model_files.fetch": ("ChecksumMismatch", "ModelFetchError"),
    "wagtail_bgcut.variants": ("InvalidVariant",),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["BackendError", "BgcutError", "MissingDependency", "MissingExtra", *_HOME]


class BgcutError(Exception):
    """Root of every operational error: something failed, the configuration is not to blame.

    ``retryable`` answers "may trying the same thing again later succeed?", so a caller can tell
    a passing outage from input that will fail forever. ``detail`` is text safe to show a user: it
    never holds the API key. ``may_have_been_charged`` is True when a paid call may have reached
    the provider before it failed (a 504, a reset or read timeout after the request was sent): the
    pipeline then never retries by itself, since a retry could be paid for twice.
    """

    retryable: bool = False
    may_have_been_charged: bool = False
    detail: str = ""

    def __init__(self, *args: object, detail: str | None = None) -> None:
        super().__init__(*args)
        self.detail = detail if detail is not None else (str(args[0]) if args else "")


class MissingExtra(BgcutError, ImportError):
    """An optional dependency is not installed; the message names the pip extra that brings it.

    Also an ``ImportError``, which is what it replaces for code that already catches that.
    """

    def __init__(self, package: str, extra: str, feature: str = "") -> None:
        self.package, self.extra, self.feature = package, extra, feature
        needs = f"{feature} needs {package}, which" if feature else package
        super().__init__(
            f'{needs} is not installed. Install it with: pip install "wagtail-bgcut[{extra}]"'
        )
        self.name = package  # ImportError's own field: the module that could not be imported

    def __reduce__(self) -> tuple[Any, ...]:
        # The message is built from the fields; rebuild from them (task queues pickle errors).
        return (type(self), (self.package, self.extra, self.feature))


# Deprecated alias (it was a configuration error that nothing raised); use MissingExtra.
MissingDependency = MissingExtra


class BackendError(BgcutError):
    """A backend could not make a cut-out; ``detail`` is safe to show (never holds the API key).

    ``retryable`` says whether trying again later may succeed (network, rate limit, credits).
    """

    def __init__(self, message: str, *, detail: str = "", retryable: bool = False) -> None:
        super().__init__(message, detail=detail or message)
        self.retryable = retryable


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
