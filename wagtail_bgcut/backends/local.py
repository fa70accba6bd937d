"""The offline engine: Pillow + OpenCV (or a local ONNX model), no network, no credits.

The expensive step (finding the subject) runs once per distinct ``quality`` among the requested
variants; every variant is then rendered from that one cut-out by the shared renderer, the same
code the API emulator uses, so switching engines changes pixels, never sizes or formats.

Whatever the imaging layer raises (``ImageError``, ``ModelError``, ``MissingExtra``) leaves as a
:class:`~wagtail_bgcut.exceptions.BackendError` with the same ``retryable``, so the pipeline
handles every engine's failures alike.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..conf import bgcut_settings
from ..exceptions import BackendError, BgcutError
from ..model_files.catalogue import resolve
from ..model_files.segmenter import load_segmenter, model_label
from ..variants import Variant
from .base import BackendResult, BaseBackend, UploadRef, render_outputs


def _imaging() -> ModuleType:
    """The imaging package, loaded when an image is first processed."""
    # Heavy: it loads numpy and OpenCV, which Django's checks (they import this backend) need not.
    from .. import imaging

    return imaging


@contextmanager
def _as_backend_error() -> Iterator[None]:
    """Re-raise the imaging layer's errors as BackendError, keeping message and ``retryable``."""
    try:
        yield
    except BackendError:
        raise
    except BgcutError as exc:
        raise BackendError(
            f"{type(exc).__name__}: {exc}", detail=exc.detail, retryable=exc.retryable
        ) from exc
    except MemoryError:
        # "MemoryError" alone tells nobody what to do. Not retried: the same image needs the same
        # memory next time. Raised outside the handler, so the half-built arrays are freed first.
        pass
    else:
        return
    raise BackendError(
        "The image needs more memory than this server could give it; lower MAX_SOURCE_PIXELS, "
        "use a smaller image, or give the worker more memory.",
        retryable=False,
    )


def _refuse_extra(variants: Sequence[Variant]) -> None:
    """Provider options (a preset's ``extra``) mean nothing here: refuse rather than ignore them."""
    with_extra = [v for v in variants if v.extra_json]
    if with_extra:
        names = ", ".join(f"{v.variant_name!r} ({', '.join(sorted(v.extra))})" for v in with_extra)
        raise BackendError(
            f"The local engine cannot honour the API-only 'extra' options of preset {names}. "
            "Set an API key to use BackgroundCut, or remove 'extra' from the preset.",
            retryable=False,
        )


class LocalBackend(BaseBackend):
    name = "local"

    @property
    def engine_id(self) -> str:
        path, _spec = resolve(bgcut_settings.LOCAL_MODEL, bgcut_settings.MODEL_DIR)
        if path is None:
            return "local:classical"
        try:
            stamp = f"{path.stat().st_size}"
        except OSError:
            stamp = "missing"
        return f"local:onnx:{path.name}:{stamp}"

    @property
    def engine_label(self) -> str:
        """Which engine makes the cut-outs, in words (the demo's home page shows it)."""
        return model_label(bgcut_settings.LOCAL_MODEL, bgcut_settings.MODEL_DIR)

    def _segmenter(self) -> Any:
        with _as_backend_error():
            return load_segmenter(
                bgcut_settings.LOCAL_MODEL,
                bgcut_settings.MODEL_DIR,
                providers=bgcut_settings.LOCAL_PROVIDERS,
                threads=bgcut_settings.LOCAL_THREADS,
            )

    def _open(self, source_bytes: bytes) -> Any:
        with _as_backend_error():
            return _imaging().open_image(source_bytes, max_pixels=bgcut_settings.MAX_SOURCE_PIXELS)

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
    ) -> BackendResult:
        _refuse_extra(variants)
        image = self._open(source_bytes)
        cutouts: dict[str, Any] = {}

        def cutout_for(variant: Variant) -> Any:
            cut = cutouts.get(variant.quality)
            if cut is None:
                cut = cutouts[variant.quality] = _imaging().remove_background(
                    image, **self._engine_kwargs(variant)
                )
            return cut

        with _as_backend_error():
            outputs = render_outputs(variants, cutout_for)
        return BackendResult(outputs=outputs, credits=0.0, upload=None)

    def _engine_kwargs(self, variant: Variant) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"quality": variant.quality}
        segmenter = self._segmenter()
        if segmenter is not None:
            kwargs["segmenter"] = segmenter
        return kwargs

    def ai_cut_start(self, source_bytes: bytes) -> Any:
        return {"image": self._open(source_bytes), "segmenter": self._segmenter()}

    def ai_cut_segment(self, handle, green, red, request_number) -> bytes:
        # The mask is a function of the image and the full set of dots only (page 04: "the model
        # uses the full set"), never of an earlier answer: the order and timing of requests cannot
        # change it. With a model, its soft mask is computed once per image and cached.
        imaging = _imaging()
        with _as_backend_error():
            mask = imaging.segment_points(
                handle["image"], green, red, segmenter=handle.get("segmenter")
            )
            cut = imaging.apply_mask(handle["image"], mask)
        buf = io.BytesIO()
        cut.save(buf, format="PNG")
        return buf.getvalue()
