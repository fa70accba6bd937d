"""The offline engine: Pillow + OpenCV (or a local ONNX model), no network, no credits.

The expensive step (finding the subject) runs once per distinct ``quality`` among the requested
variants; every variant is then rendered from that one cut-out by the shared renderer, the same
code the API emulator uses, so switching engines changes pixels, never sizes or formats.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..conf import bgcut_settings
from ..variants import Variant
from .base import BackendError, BackendResult, BaseBackend, UploadRef, render_outputs


class LocalBackend(BaseBackend):
    name = "local"

    @property
    def engine_id(self) -> str:
        model = bgcut_settings.LOCAL_MODEL
        if not model:
            return "local:classical"
        path = Path(model)
        try:
            stamp = f"{path.stat().st_size}"
        except OSError:
            stamp = "missing"
        return f"local:onnx:{path.name}:{stamp}"

    def _open(self, source_bytes: bytes):
        from ..imaging import ImageError, open_image

        try:
            return open_image(source_bytes, max_pixels=bgcut_settings.MAX_SOURCE_PIXELS)
        except ImageError as exc:
            raise BackendError(f"{type(exc).__name__}: {exc}", detail=str(exc)) from exc

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
    ) -> BackendResult:
        from ..imaging import remove_background

        image = self._open(source_bytes)
        cutouts: dict[str, Any] = {}

        def cutout_for(variant: Variant) -> Any:
            cut = cutouts.get(variant.quality)
            if cut is None:
                cut = cutouts[variant.quality] = remove_background(
                    image, **self._engine_kwargs(variant)
                )
            return cut

        outputs = render_outputs(variants, cutout_for)
        return BackendResult(outputs=outputs, credits=0.0, upload=None)

    def _engine_kwargs(self, variant: Variant) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"quality": variant.quality}
        if bgcut_settings.LOCAL_MODEL:
            from ..imaging import ModelError, get_segmenter

            try:
                kwargs["segmenter"] = get_segmenter(bgcut_settings.LOCAL_MODEL)
            except ModelError as exc:
                raise BackendError(f"{type(exc).__name__}: {exc}", detail=str(exc)) from exc
        return kwargs

    def ai_cut_start(self, source_bytes: bytes) -> Any:
        return {"image": self._open(source_bytes), "mask": None}

    def ai_cut_segment(self, handle, green, red, request_number) -> bytes:
        from ..imaging import apply_mask, segment_points

        mask = segment_points(handle["image"], green, red, previous_mask=handle.get("mask"))
        handle["mask"] = mask
        buf = io.BytesIO()
        apply_mask(handle["image"], mask).save(buf, format="PNG")
        return buf.getvalue()
