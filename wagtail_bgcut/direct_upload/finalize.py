"""Finalize a direct upload: collect its files and store them content-addressed as cut-outs.

In API mode the files are downloaded through the client (allowed hosts only, size-capped, verified
as the expected image format) into temporary files: nothing reaches Django storage before every
check passed. In local mode the site's own endpoint left them in storage under the
``unique_filename`` the ticket names. Either way the original's bytes are hashed and each preset's
output becomes (or reuses) the ``Cutout`` row for (source hash, options): the same bytes with the
same options are never stored or charged twice, and an existing finished row is never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from ..api_facts import CONTENT_TYPES, FORMAT_OF_PILLOW_NAME, MAX_UPLOAD_BYTES, PILLOW_NAMES
from ..backends.base import BackendResult, BaseBackend, Output, UploadRef
from ..conf import bgcut_settings
from ..exceptions import BackgroundCutError, BgcutError
from ..models import Cutout, cutout_storage
from ..pipeline import after_done
from ..pipeline.rows import claim, ensure_cutouts
from ..pipeline.run import run_claims
from ..presets import get_preset
from ..variants import Variant

__all__ = [
    "MAX_SOURCE_BYTES",
    "FinishedUpload",
    "OutputFile",
    "ResultError",
    "check_content",
    "check_output",
    "delete_files",
    "download_api_result",
    "image_info",
    "load_local_result",
    "local_folder",
    "save_local_outputs",
    "save_local_result",
    "save_local_source",
    "store_cutouts",
    "upright_output",
]

logger = logging.getLogger("wagtail_bgcut")

MAX_SOURCE_BYTES = MAX_UPLOAD_BYTES  # what the browser may send the Processing API


class ResultError(BgcutError):
    """The posted result cannot be accepted; ``status`` is the HTTP status to answer with.

    ``retryable`` for a 5xx only (the cut-outs could not be stored this time); a refused result
    stays refused.
    """

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
        self.retryable = status >= 500


@dataclass
class OutputFile:
    data: bytes = field(repr=False)
    format: str
    width: int
    height: int


@dataclass
class FinishedUpload:
    """What finalize hands to the handler: the original and one stored ``Cutout`` per preset."""

    source_bytes: bytes = field(repr=False)
    source_format: str
    source_hash: str
    width: int
    height: int
    unique_filename: str
    cutouts: dict[str, Cutout] = field(default_factory=dict)

    @property
    def source_filename(self) -> str:
        return f"upload-{self.source_hash[:12]}.{self.source_format}"


def image_info(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of a PNG/JPEG/WebP from its header; ResultError otherwise.

    The size is the upright one (EXIF orientation applied), as engines and browsers show it:
    a phone's portrait JPEG is stored landscape with a rotate tag.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(PILLOW_NAMES.values())) as img:
            width, height = img.size
            # A PNG's getexif() decodes every pixel looking for a trailing eXIf chunk: only ask
            # when the header already holds one (JPEG and WebP keep EXIF in the header anyway).
            header_exif = img.format != "PNG" or "exif" in img.info
            if header_exif and img.getexif().get(0x0112) in (5, 6, 7, 8):  # a quarter turn
                width, height = height, width
            return FORMAT_OF_PILLOW_NAME[img.format], width, height
    except Exception:
        raise ResultError(_("Invalid image format. Supported: PNG, JPG, JPEG, WebP")) from None


def check_output(variant: Variant, out: OutputFile, source_w: int, source_h: int) -> None:
    """Refuse outputs that cannot be this variant of this source (wrong format, size, shape)."""
    if out.format != variant.format:
        raise ResultError(
            _("The %(name)r result is not a %(format)s image.")
            % {"name": variant.variant_name, "format": variant.format}
        )
    if out.width * out.height > variant.max_resolution * 1.02 + 4:
        raise ResultError(
            _("The %(name)r result is larger than its preset allows.")
            % {"name": variant.variant_name}
        )
    if out.width > source_w + 1 or out.height > source_h + 1:
        raise ResultError(
            _("The %(name)r result is larger than the original.") % {"name": variant.variant_name}
        )
    if not variant.autocrop:
        ratio, expected = out.width / out.height, source_w / source_h
        # Resizing rounds each side to a whole pixel: allow that much, nothing more.
        slack = 1.0 / min(out.width, out.height) + 0.01
        if abs(ratio - expected) > expected * slack:
            raise ResultError(
                _("The %(name)r result does not match the original.")
                % {"name": variant.variant_name}
            )


def _small(data: bytes, size: tuple[int, int], mode: str) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (size[0] * 2, size[1] * 2))  # JPEG: decode at a fraction of the size
        img = ImageOps.exif_transpose(img)
        return img.convert(mode).resize(size, Image.Resampling.BOX)


def check_content(variant: Variant, out: OutputFile, source: bytes) -> None:
    """Refuse an output whose kept pixels are not the original's pixels (another image's cut-out).

    The API does not sign its results, so this is what stops a tampered finalize from filing some
    other API-hosted picture as the cut-out of these bytes. Autocropped variants are skipped (the
    crop offset is unknown); so is an output that kept almost nothing.
    """
    if variant.autocrop:
        return
    w = 48
    h = max(1, round(w * out.height / out.width))
    try:
        original = _small(source, (w, h), "RGB").load()
        result = _small(out.data, (w, h), "RGBA").load()
    except Exception:
        raise ResultError(_("Invalid image format. Supported: PNG, JPG, JPEG, WebP")) from None
    background = variant.background_color or "#ffffff"
    bg = tuple(int(background[i : i + 2], 16) for i in (1, 3, 5))
    diffs = []
    for y in range(h):
        for x in range(w):
            r, g, b, a = result[x, y]
            if variant.has_alpha:
                kept = a > 200
            else:
                kept = abs(r - bg[0]) + abs(g - bg[1]) + abs(b - bg[2]) > 90
            if kept:
                o = original[x, y]
                diffs.append((abs(r - o[0]) + abs(g - o[1]) + abs(b - o[2])) / 3)
    if len(diffs) < 0.02 * w * h:
        return
    if sum(diffs) / len(diffs) > 40:
        raise ResultError(
            _("The %(name)r result does not match the original.") % {"name": variant.variant_name}
        )


# -- EXIF orientation ------------------------------------------------------------------------------

# Pillow's transposition for each EXIF orientation (what ``ImageOps.exif_transpose`` applies).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SAVE_OPTIONS = {"png": {}, "jpg": {"quality": 95}, "webp": {"quality": 90}}


def upright_output(source: bytes, out: OutputFile, variant: Variant) -> OutputFile:
    """The output turned upright when the provider rendered the stored (sideways) pixels.

    The pages never say whether the API applies a JPEG's EXIF orientation. A phone's portrait photo
    is stored landscape with a quarter-turn tag; if the output comes back landscape, we turn it as
    the tag says instead of refusing a result that was already paid for. Decided by the aspect
    ratio, so only quarter turns (orientations 5-8) can be told apart; an autocropped output has
    no known ratio and is left as it is.
    """
    try:
        with Image.open(io.BytesIO(source)) as img:
            orientation = img.getexif().get(0x0112)
            stored_w, stored_h = img.size
    except Exception:
        return out
    if orientation not in (5, 6, 7, 8) or variant.autocrop or stored_w == stored_h:
        return out
    ratio = out.width / out.height
    sideways = abs(ratio - stored_w / stored_h) < abs(ratio - stored_h / stored_w)
    if not sideways:
        return out
    with Image.open(io.BytesIO(out.data)) as img:
        turned = img.transpose(_TRANSPOSE[orientation])
        buffer = io.BytesIO()
        turned.save(buffer, format=PILLOW_NAMES[out.format], **_SAVE_OPTIONS[out.format])
    return OutputFile(buffer.getvalue(), out.format, turned.width, turned.height)


# -- API mode --------------------------------------------------------------------------------------


def download_api_result(
    client: Any, presets: Sequence[str], input_url: object, output_urls: Mapping[str, Any]
) -> tuple[bytes, dict[str, OutputFile]]:
    """Download the original and every preset's output (allowed hosts only) into memory."""
    if not isinstance(input_url, str) or not input_url:
        raise ResultError(_("The result has no input_url."))
    urls = [input_url, *(output_urls[p] for p in presets)]
    if len(set(urls)) != len(urls):
        raise ResultError(_("The result repeats a URL."))
    try:
        with client.download(input_url, max_bytes=MAX_SOURCE_BYTES) as dl:
            source = dl.read_bytes()
        outputs = {}
        for name in presets:
            # The preset's variant is named after the preset (variants.Variant.from_dict), so
            # the key the token asked for is the key output_urls answers with.
            variant = get_preset(name)
            with client.download(
                output_urls[variant.variant_name], expected_format=variant.format
            ) as dl:
                out = OutputFile(dl.read_bytes(), dl.format, dl.width, dl.height)
            outputs[name] = upright_output(source, out, variant)
    except BackgroundCutError as exc:
        # The message names the host or the reason (never a key): safe to show.
        detail = getattr(exc, "detail", None) or str(exc)
        raise ResultError(
            _("A result file could not be fetched: %(detail)s") % {"detail": detail}
        ) from None
    return source, outputs


# -- local mode ------------------------------------------------------------------------------------


def local_folder(unique_filename: str) -> str:
    return f"{bgcut_settings.UPLOAD_TO.strip('/')}/direct/{unique_filename}"


def save_local_source(unique_filename: str, source: bytes, source_format: str) -> str:
    """Store the upload's original, byte for byte, where finalize will look for it."""
    folder = local_folder(unique_filename)
    return cutout_storage.save(f"{folder}/source.{source_format}", ContentFile(source))


def save_local_outputs(
    unique_filename: str, source_name: str, outputs: Mapping[str, OutputFile]
) -> dict[str, str]:
    """Store the engine's outputs and the manifest finalize reads; storage names by preset."""
    storage = cutout_storage
    folder = local_folder(unique_filename)
    names = {"__source__": source_name}
    manifest: dict[str, Any] = {"source": source_name, "outputs": {}}
    for preset, out in outputs.items():
        name = storage.save(f"{folder}/{preset}.{out.format}", ContentFile(out.data))
        names[preset] = name
        manifest["outputs"][preset] = {
            "name": name,
            "format": out.format,
            "width": out.width,
            "height": out.height,
        }
    storage.save(f"{folder}/manifest.json", ContentFile(json.dumps(manifest).encode()))
    return names


def save_local_result(
    unique_filename: str, source: bytes, source_format: str, outputs: Mapping[str, OutputFile]
) -> dict[str, str]:
    """Keep the local engine's files until finalize; returns storage names by preset."""
    source_name = save_local_source(unique_filename, source, source_format)
    return save_local_outputs(unique_filename, source_name, outputs)


def load_local_result(
    unique_filename: str, presets: Sequence[str]
) -> tuple[bytes, dict[str, OutputFile], list[str]]:
    """Read back what the local endpoint stored for this ticket; also the names to delete."""
    storage = cutout_storage
    folder = local_folder(unique_filename)
    try:
        with storage.open(f"{folder}/manifest.json", "rb") as fh:
            manifest = json.load(fh)
        with storage.open(manifest["source"], "rb") as fh:
            source = fh.read()
        outputs = {}
        for preset in presets:
            entry = manifest["outputs"][preset]
            with storage.open(entry["name"], "rb") as fh:
                data = fh.read()
            outputs[preset] = OutputFile(data, *image_info(data))
    except (OSError, KeyError, ValueError):
        raise ResultError(_("No processed image was found for this upload."), 404) from None
    names = [manifest["source"], f"{folder}/manifest.json"]
    names += [manifest["outputs"][p]["name"] for p in manifest["outputs"]]
    return source, outputs, names


def delete_files(names: Sequence[str]) -> None:
    for name in names:
        try:
            cutout_storage.delete(name)
        except Exception:
            logger.warning("wagtail_bgcut: could not delete temporary upload file %s", name)


# -- the cut-out cache -----------------------------------------------------------------------------


class _Prefetched(BaseBackend):
    """Hands the pipeline outputs we already have, so rows are written by its lease-safe code."""

    def __init__(self, real: BaseBackend, outputs: Mapping[str, OutputFile]):
        super().__init__()
        self.name = real.name
        self._engine_id = real.engine_id
        self._by_options = {get_preset(p).options_key(): o for p, o in outputs.items()}

    @property
    def engine_id(self) -> str:
        return self._engine_id

    def process(self, source_bytes, variants, *, upload: UploadRef | None = None):
        outputs = {}
        for v in variants:
            out = self._by_options.get(v.options_key())
            if out is not None:
                outputs[v.variant_name] = Output(
                    format=out.format,
                    width=out.width,
                    height=out.height,
                    content_type=CONTENT_TYPES.get(out.format, "application/octet-stream"),
                    data=out.data,
                    credits=v.credits if self.name == "backgroundcut" else 0.0,
                )
        return BackendResult(outputs=outputs)


def store_cutouts(
    source: bytes, outputs: Mapping[str, OutputFile], backend: BaseBackend, unique_filename: str
) -> FinishedUpload:
    """Write each output as the cut-out of ``source`` (or reuse the finished row already there)."""
    fmt, width, height = image_info(source)
    source_hash = hashlib.sha256(source).hexdigest()
    presets = list(outputs)
    rows = ensure_cutouts(source_hash, presets, backend)
    todo = [r for r in rows if not r.ready]
    if todo:
        claims = claim(todo, force=True)
        run_claims(source_hash, source, claims, _Prefetched(backend, outputs))
        after_done(source_hash)
    fresh = Cutout.objects.in_bulk([r.pk for r in rows])
    cutouts = {p: fresh[r.pk] for p, r in zip(presets, rows, strict=True)}
    return FinishedUpload(
        source_bytes=source,
        source_format=fmt,
        source_hash=source_hash,
        width=width,
        height=height,
        unique_filename=unique_filename,
        cutouts=cutouts,
    )
