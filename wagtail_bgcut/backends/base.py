"""The backend interface: the small surface a background-removal engine implements.

Anymail-style: one module per backend, a base class that names every step, and plain result objects,
so the pipeline never knows which engine it talks to. A step a subclass forgot raises
``NotImplementedError`` naming the class and the method.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..conf import bgcut_settings
from ..exceptions import BackendError, BgcutConfigurationError
from ..variants import Variant, estimate_credits

__all__ = [
    "BackendError",
    "BackendResult",
    "BaseBackend",
    "CallJournal",
    "Output",
    "UploadRef",
    "get_backend",
    "render_outputs",
]


# BackendError is defined in wagtail_bgcut.exceptions (part of the BgcutError tree) and
# re-exported here, where backends have always imported it from.


@dataclass
class Output:
    """One rendered variant: bytes in memory (``data``) or a file on disk (``path``)."""

    format: str
    width: int
    height: int
    content_type: str
    data: bytes | None = None
    path: str | None = None
    credits: float = 0.0

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError("Output has neither data nor path.")
        with open(self.path, "rb") as fh:
            return fh.read()


def render_outputs(
    variants: Sequence[Variant], cutout_for: Callable[[Variant], Any]
) -> dict[str, Output]:
    """Render every variant, by name, from the RGBA cut-out ``cutout_for(variant)`` returns.

    One place turns the shared renderer's result into ``Output``, so offline engines differ only
    in how they find the subject, never in sizes, formats or content types.
    """
    # Heavy: the imaging package loads OpenCV; only offline engines render, the API backend never.
    from ..imaging import render_variant

    outputs: dict[str, Output] = {}
    for variant in variants:
        rendered = render_variant(cutout_for(variant), variant)
        outputs[variant.variant_name] = Output(
            format=rendered.format,
            width=rendered.width,
            height=rendered.height,
            content_type=rendered.content_type,
            data=rendered.data,
        )
    return outputs


@dataclass(frozen=True)
class UploadRef:
    """The provider's handle on an uploaded source, reusable until ``expires_at``."""

    unique_filename: str
    expires_at: datetime | None = None


@dataclass
class CallJournal:
    """What a paid backend call has achieved so far, so a failed attempt loses none of it.

    A backend that sets ``keeps_journal`` receives one from the pipeline, names the call it is
    making in ``call`` ("upload-image", "process-image", "download") and reports each step the
    provider answered through ``changed()`` *before* the next step starts: the pipeline stores the
    upload handle and the paid-for output URLs on the rows at once, so a later attempt (after a
    failure, or after the worker was killed) downloads again from them instead of paying again.
    ``output_urls`` passed in holds the still-valid URLs of earlier attempts, by variant name.
    ``requested_by`` is the pk of the user who asked for the work ("" for code: AUTO_PROCESS,
    renders, commands) and ``requested_by_name`` their username: a paying backend charges that
    user's budget cap too.
    """

    upload: UploadRef | None = None
    output_urls: dict[str, str] = field(default_factory=dict)
    output_urls_expire_at: datetime | None = None
    call: str = ""
    requested_by: str = ""
    requested_by_name: str = ""
    upload_calls: int = 0
    process_calls: int = 0
    on_change: Callable[[CallJournal], None] | None = None

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)


@dataclass
class BackendResult:
    """Everything one ``process`` call produced: outputs by variant name, credits, upload handle."""

    outputs: dict[str, Output]
    credits: float = 0.0
    upload: UploadRef | None = None
    calls: dict[str, int] = field(default_factory=dict)


class BaseBackend:
    """Subclass and implement :meth:`process` (and the AI Cut steps if the engine offers them)."""

    #: Short name shown in the admin and stored on each cut-out.
    name = "base"
    #: Whether this backend spends BackgroundCut credits.
    spends_credits = False
    #: Whether ``process`` takes a ``journal`` (:class:`CallJournal`) keyword argument.
    keeps_journal = False

    def __init__(self, **options: Any):
        self.options = options

    @property
    def engine_id(self) -> str:
        """Identifies the engine that makes the pixels; part of every cut-out's cache key.

        Change it when the same options would give other pixels (another model or API version).
        """
        return self.name

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
    ) -> BackendResult:
        """Cut the background out of ``source_bytes`` once and render every variant from it."""
        raise NotImplementedError(f"{type(self).__name__}.process() is not implemented")

    def ai_cut_start(self, source_bytes: bytes) -> Any:
        """Begin an interactive (dots) segmentation; returns a handle for ``ai_cut_segment``."""
        raise NotImplementedError(f"{type(self).__name__}.ai_cut_start() is not implemented")

    def ai_cut_segment(
        self,
        handle: Any,
        green: Sequence[tuple[int, int]],
        red: Sequence[tuple[int, int]],
        request_number: int,
    ) -> bytes:
        """The PNG cut-out for all dots placed so far (green keep, red remove)."""
        raise NotImplementedError(f"{type(self).__name__}.ai_cut_segment() is not implemented")

    def estimate_credits(self, variants: Sequence[Variant]) -> float:
        """Credits one ``process`` call with these variants would spend (0 for free engines)."""
        return estimate_credits(variants) if self.spends_credits else 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} engine={self.engine_id!r}>"


_cache: dict[str, BaseBackend] = {}
_cache_lock = threading.Lock()


@receiver(setting_changed)
def _reset_backends(*, setting: str, **kwargs: Any) -> None:
    if setting in ("WAGTAIL_BGCUT", "TASKS", "STORAGES"):
        _cache.clear()


def get_backend(path: str | None = None) -> BaseBackend:
    """The configured backend instance (cached per process, rebuilt when settings change)."""
    path = path or bgcut_settings.backend_path()
    backend = _cache.get(path)
    if backend is not None:
        return backend
    with _cache_lock:
        backend = _cache.get(path)
        if backend is None:
            try:
                cls = import_string(path)
            except ImportError as exc:
                raise BgcutConfigurationError(
                    f"WAGTAIL_BGCUT['BACKEND'] is {path!r}, which cannot be imported ({exc})."
                ) from exc
            backend = cls()
            _cache[path] = backend
    return backend
