"""Background-removal backends: ``local`` (offline), ``backgroundcut`` (API), ``dummy`` (tests)."""

from .base import BackendError, BackendResult, BaseBackend, Output, UploadRef, get_backend

__all__ = ["BackendError", "BackendResult", "BaseBackend", "Output", "UploadRef", "get_backend"]
