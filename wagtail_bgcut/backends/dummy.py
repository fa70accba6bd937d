"""A deterministic backend for your unit tests: no network, no model, no credits.

It "cuts" by keeping the whole frame opaque, renders every variant with the shared renderer, and
records each call on the class so tests can assert what the pipeline asked for::

    WAGTAIL_BGCUT = {"BACKEND": "dummy", ...}

    from wagtail_bgcut.backends.dummy import DummyBackend
    DummyBackend.reset()
    ...  # save an image
    assert len(DummyBackend.calls) == 1
    assert DummyBackend.calls[0].variant_names == ["thumbnail"]

Make the next call fail with ``DummyBackend.fail_next(SomeError("why"))``.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..variants import Variant
from .base import BackendResult, BaseBackend, UploadRef, render_outputs


@dataclass(frozen=True)
class DummyCall:
    """One recorded ``process`` call."""

    source_sha256: str
    variant_names: list[str]
    upload: UploadRef | None


class DummyBackend(BaseBackend):
    name = "dummy"

    calls: ClassVar[list[DummyCall]] = []
    _failures: ClassVar[list[BaseException]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        """Forget recorded calls and queued failures."""
        with cls._lock:
            cls.calls.clear()
            cls._failures.clear()

    @classmethod
    def fail_next(cls, exc: BaseException) -> None:
        """Make the next ``process`` call raise ``exc`` (queue several for several calls)."""
        with cls._lock:
            cls._failures.append(exc)

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
    ) -> BackendResult:
        # Heavy: the imaging package loads OpenCV; import it when a test actually processes.
        from ..imaging import open_image

        digest = hashlib.sha256(source_bytes).hexdigest()
        with self._lock:
            self.calls.append(DummyCall(digest, [v.variant_name for v in variants], upload))
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            raise failure
        image = open_image(source_bytes).convert("RGBA")
        outputs = render_outputs(variants, lambda variant: image)
        return BackendResult(outputs=outputs, credits=0.0, upload=None)

    def ai_cut_start(self, source_bytes: bytes) -> Any:
        from ..imaging import open_image  # heavy (OpenCV): only when a test starts an AI Cut

        return {"image": open_image(source_bytes).convert("RGBA")}

    def ai_cut_segment(self, handle, green, red, request_number) -> bytes:
        buf = io.BytesIO()
        handle["image"].save(buf, format="PNG")
        return buf.getvalue()
