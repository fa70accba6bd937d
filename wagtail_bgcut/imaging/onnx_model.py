"""Optional model-based segmentation with a rembg-compatible ONNX file (the ``onnx`` extra).

Nothing is ever downloaded: the model is a file the site owner put on disk and named in the
``LOCAL_MODEL`` setting. :func:`validate_model` is what the Django system check calls, so a missing
or broken file is reported at start-up instead of failing a request.

rembg's models (u2net, u2netp, silueta, isnet-general-use, BiRefNet, ...) all take one
``1x3xHxW`` float tensor of the resized image, normalised per channel, and return the mask as their
first output. The input size is read from the model when it is fixed (320 for u2net, 1024 for
isnet/BiRefNet); the normalisation follows rembg (mean 0.5 / std 1.0 for isnet, ImageNet otherwise)
and can be passed explicitly.

Where the time goes at 12 MP (docs/engine.md): the model's inference dominates. Quantised files
(the img.ly quint8 ISNet) are made of ``DynamicQuantizeLinear`` + ``ConvInteger`` pairs, which
onnxruntime's CPU provider runs through a slow generic path; their weights are dequantised once at
load (:func:`_float_weights`), so the same file runs as float convolutions. Everything else works
on the megapixel guide copy and on the full image's edge pixels only (:mod:`.matting`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..exceptions import MissingExtra
from .errors import ModelError
from .matting import guide_copy, guided_upsample

__all__ = [
    "CPU_PROVIDER",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "OnnxSegmenter",
    "available_providers",
    "load_session",
    "provider_problem",
    "unavailable_providers",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_DEFAULT_SIZE = 320
CPU_PROVIDER = "CPUExecutionProvider"

# An execution provider as onnxruntime takes it: a name, or a (name, options) pair.
Provider = str | tuple[str, dict[str, Any]]


def _onnxruntime() -> Any:
    try:
        # Optional extra: only sites that name a LOCAL_MODEL install onnxruntime.
        import onnxruntime
    except ImportError as exc:
        raise MissingExtra("onnxruntime", "onnx", "Model-based background removal") from exc
    return onnxruntime


def available_providers() -> list[str]:
    """The execution providers the installed onnxruntime offers (CPU always among them)."""
    return list(_onnxruntime().get_available_providers())


def provider_problem(provider: object) -> str | None:
    """Why ``provider`` is not a name or a ``(name, options dict)`` pair, or None when it is."""
    if isinstance(provider, str) and provider:
        return None
    if (
        isinstance(provider, list | tuple)
        and len(provider) == 2
        and isinstance(provider[0], str)
        and isinstance(provider[1], dict)
    ):
        return None
    return f"{provider!r} is not a provider name nor a (name, options dict) pair"


def _provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


def unavailable_providers(providers: Sequence[Provider] | None) -> list[str]:
    """Names in ``providers`` that the installed onnxruntime does not offer."""
    available = set(available_providers())
    return [_provider_name(p) for p in providers or () if _provider_name(p) not in available]


def _session_providers(providers: Sequence[Provider] | None) -> list[Provider]:
    """``providers`` without those onnxruntime lacks, CPU last as the fallback.

    An unavailable provider (CUDA named on a machine with the CPU-only onnxruntime) is dropped, not
    fatal: the system check warns about it at start-up (wagtail_bgcut.W011) and the model still
    runs, on the CPU.
    """
    problems = [p for p in map(provider_problem, providers or ()) if p]
    if problems:
        raise ModelError(f"Execution providers: {problems[0]}.")
    available = set(available_providers())
    chosen = [
        (p if isinstance(p, str) else (p[0], dict(p[1])))
        for p in providers or ()
        if _provider_name(p) in available
    ]
    if CPU_PROVIDER not in {_provider_name(p) for p in chosen}:
        chosen.append(CPU_PROVIDER)
    return chosen


def _float_weights(file: Path) -> bytes | None:
    """The model with its ``ConvInteger`` convolutions turned into float ``Conv`` ones, or None.

    Dynamically quantised models compute ``DynamicQuantizeLinear(x)`` -> ``ConvInteger`` ->
    ``Cast`` -> ``Mul(x_scale * w_scale)`` for every convolution. onnxruntime's CPU provider has no
    fast kernel for that chain; the same weights, dequantised (``(w - w_zero) * w_scale``), run
    through its float convolutions 1.5-2.5x faster here (docs/engine.md), and without quantising
    the activations the output is as close to the float model as the weights allow. None when
    the ``onnx`` package is missing or the model has no such chain (the file is then run as is).
    """
    try:
        # Optional: only needed to rewrite quantised models; without it they run as they are.
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        return None
    try:
        model = onnx.load(str(file))
    except Exception:
        return None
    graph = model.graph
    if not any(node.op_type == "ConvInteger" for node in graph.node):
        return None
    weights = {t.name: t for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced: dict[int, Any] = {}
    dropped: set[int] = set()
    added = []
    for node in graph.node:
        if node.op_type != "ConvInteger":
            continue
        try:
            quantise = producer[node.input[0]]
            (cast,) = consumers[node.output[0]]
            (scale_mul,) = consumers[cast.output[0]]
            scales = producer[next(i for i in scale_mul.input if i != cast.output[0])]
            w_scale = next(i for i in scales.input if i in weights)
            if quantise.op_type != "DynamicQuantizeLinear" or cast.op_type != "Cast":
                return None
            w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
            zero = numpy_helper.to_array(weights[node.input[3]]).astype(np.float32)
            scale = numpy_helper.to_array(weights[w_scale]).astype(np.float32)
        except (KeyError, StopIteration, ValueError, IndexError):
            return None  # not the chain we know: run the file as it is
        per_channel = (-1,) + (1,) * (w.ndim - 1)
        zero = zero.reshape(per_channel) if zero.size > 1 else zero.reshape(())
        scale = scale.reshape(per_channel) if scale.size > 1 else scale.reshape(())
        name = f"{node.input[1]}__float"
        added.append(numpy_helper.from_array(((w - zero) * scale).astype(np.float32), name))
        conv = helper.make_node(
            "Conv", [quantise.input[0], name], [scale_mul.output[0]], name=f"{node.name}__float"
        )
        conv.attribute.extend(node.attribute)
        replaced[id(scale_mul)] = conv
        dropped.update((id(node), id(cast)))
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    outputs = {o.name for o in graph.output}
    while True:  # drop what fed only the removed chains (quantisers, scale products)
        used = {i for n in nodes for i in n.input} | outputs
        kept = [n for n in nodes if any(o in used for o in n.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    used = {i for n in nodes for i in n.input}
    initializers = [t for t in graph.initializer if t.name in used] + added
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    return model.SerializeToString()


def _release_freed_memory() -> None:
    """Give freed heap pages back to the OS after loading a rewritten model.

    onnxruntime parses the rewritten model's bytes in many small allocations that glibc keeps
    after they are freed: ~270 MB of RSS for the img.ly ISNet, which would stay for the life of
    the worker and add to every later peak. ``malloc_trim`` returns them; elsewhere a no-op.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load_session(
    path: str | os.PathLike,
    *,
    providers: Sequence[Provider] | None = None,
    threads: int | None = None,
) -> Any:
    """An onnxruntime session for ``path``, or a :class:`ModelError` saying what is wrong.

    ``providers``: execution providers in order of preference, as onnxruntime takes them (names
    or ``(name, options)`` pairs); unavailable ones are skipped and the CPU is always the last
    resort. ``threads``: onnxruntime's intra-op threads (None: its default, one per core).
    """
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"The segmentation model {str(file)!r} is not a file.")
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings are not our users' business
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Memory: with its arena and memory-pattern planning onnxruntime keeps ISNet's 1024x1024
    # activations reserved after a run (peak 1.8-1.9 GB for the img.ly model); without them the
    # peak is ~1.2 GB and RSS drops back after each run, at no measurable cost in time here
    # (docs/engine.md). Sites run a model per worker process, so what stays reserved counts.
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    if threads:
        options.intra_op_num_threads = int(threads)
    chosen = _session_providers(providers)
    model: str | bytes = _float_weights(file) or str(file)
    try:
        session = ort.InferenceSession(model, sess_options=options, providers=chosen)
    except Exception as exc:
        raise ModelError(
            f"The segmentation model {file.name!r} is not a valid ONNX model ({_first_line(exc)})."
        ) from exc
    if isinstance(model, bytes):
        del model  # the rewritten bytes: onnxruntime has its own copy now
        _release_freed_memory()
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if not inputs or not outputs:
        raise ModelError(f"The segmentation model {file.name!r} has no inputs or no outputs.")
    shape = inputs[0].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise ModelError(
            f"The segmentation model {file.name!r} takes input of shape {shape}; a "
            "rembg-compatible model takes 1x3xHxW."
        )
    return session


def _settle_far_from_edges(pred: np.ndarray, reach: float = 0.01) -> np.ndarray:
    """Soft values only near the subject's outline; elsewhere fully in or out.

    Quantised models (the img.ly quint8 ISNet) leave blotches over smooth backdrops: specks
    called subject, and faint haze. Specks (objects under 5% of the largest one) are dropped; real
    soft edges (hair, motion blur) sit next to the 0.5 contour, so alpha farther than ``reach``
    (of the mask's size) from it is rounded.
    """
    hard = (pred >= 0.5).astype(np.uint8)
    count, objects, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if count > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.nonzero(areas >= 0.05 * areas.max())[0] + 1
        hard = np.isin(objects, keep).astype(np.uint8)
        pred = np.where(hard | (objects == 0), pred, 0.0)
    return soft_only_near_outline(pred, hard, reach)


def soft_only_near_outline(
    pred: np.ndarray, hard: np.ndarray | None = None, reach: float = 0.01
) -> np.ndarray:
    """``pred`` within ``reach`` (of its size) of the outline of ``hard`` (default: pred >= 0.5),
    and ``hard`` itself everywhere else: the haze a model leaves over a backdrop rounded away."""
    if hard is None:
        hard = (pred >= 0.5).astype(np.uint8)
    size = max(3, round(reach * max(pred.shape)) * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    band = cv2.dilate(hard, kernel).astype(bool) & ~cv2.erode(hard, kernel).astype(bool)
    return np.where(band, pred, hard.astype(np.float32)).astype(np.float32)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class OnnxSegmenter:
    """Segment with a rembg-compatible ONNX model. The session is loaded once and shared."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        size: int | None = None,
        mean: tuple[float, float, float] | None = None,
        std: tuple[float, float, float] | None = None,
        scale_by_max: bool = True,
        providers: Sequence[Provider] | None = None,
        threads: int | None = None,
    ):
        self.path = Path(path)
        self.session = load_session(self.path, providers=providers, threads=threads)
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        fixed = [d for d in model_input.shape[2:] if isinstance(d, int) and d > 0]
        self.size = size or (fixed[0] if len(fixed) == 2 and fixed[0] == fixed[1] else None)
        self.size = self.size or (fixed and max(fixed)) or _DEFAULT_SIZE
        isnet = "isnet" in self.path.name.lower()
        self.mean = mean or ((0.5, 0.5, 0.5) if isnet else IMAGENET_MEAN)
        self.std = std or ((1.0, 1.0, 1.0) if isnet else IMAGENET_STD)
        self.scale_by_max = scale_by_max
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OnnxSegmenter({self.path.name!r}, size={self.size})"

    def _normalised(self, small: np.ndarray) -> np.ndarray:
        """The 1x3xHxW float32 feed from an RGB uint8 array already at the model's size."""
        # rembg divides by the image's own maximum; img.ly's ISNet expects x / 255.
        scale = np.float32(1.0 / (max(float(small.max()), 1e-6) if self.scale_by_max else 255.0))
        # Channel by channel into the planar feed: no interleaved float copy to transpose.
        feed = np.empty((1, 3, *small.shape[:2]), np.float32)
        for channel, plane in enumerate(cv2.split(small)):
            out = feed[0, channel]
            np.multiply(plane, scale, out=out, dtype=np.float32)
            out -= np.float32(self.mean[channel])
            out /= np.float32(self.std[channel])
        return feed

    def _input(self, image: Image.Image) -> np.ndarray:
        small = image.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
        return self._normalised(np.asarray(small))

    def _run(self, feed_array: np.ndarray) -> np.ndarray:
        feed = {self.input_name: feed_array}
        try:
            with self._lock:  # sessions are thread-safe, but one run at a time bounds memory
                output = self.session.run(None, feed)[0]
        except Exception as exc:
            raise ModelError(
                f"The segmentation model {self.path.name!r} failed: {_first_line(exc)}"
            ) from exc
        pred = np.asarray(output, dtype=np.float32)
        while pred.ndim > 2:
            pred = pred[0]
        if pred.ndim != 2:
            raise ModelError(f"The segmentation model {self.path.name!r} returned no 2-D mask.")
        low, high = float(pred.min()), float(pred.max())
        if low < 0.0 or high > 1.0:
            # Logits or unnormalised output: stretch to 0..1 like rembg does.
            pred = (pred - low) / (high - low) if high > low else np.zeros_like(pred)
        return np.nan_to_num(pred)

    def small_mask(self, image: Image.Image) -> np.ndarray:
        """The model's mask at its own resolution, as float32 in 0..1."""
        return self._run(self._input(image))

    def alpha(
        self,
        rgb: np.ndarray,
        source_alpha: np.ndarray | None = None,
        guide: np.ndarray | None = None,
    ) -> np.ndarray:
        """Full-size uint8 alpha for an HxWx3 uint8 image (arrays in, array out: no copies).

        The model's input is made from the megapixel ``guide`` copy (already area-averaged), not
        from the full image: at 12 MP that saves a full-size conversion and resampling.
        ``source_alpha`` is applied by the caller.
        """
        guide = guide_copy(rgb) if guide is None else guide
        interpolation = (
            cv2.INTER_AREA
            if guide.shape[0] * guide.shape[1] > self.size * self.size
            else cv2.INTER_LINEAR
        )
        small = cv2.resize(guide, (self.size, self.size), interpolation=interpolation)
        pred = _settle_far_from_edges(self._run(self._normalised(small)))
        # The model sees a few hundred pixels a side; the guided filter puts its edges back on
        # the photo's own edges at full size.
        return guided_upsample(rgb, pred, guide=guide, radius=4, eps=1e-3)

    def mask(self, image: Image.Image) -> Image.Image:
        """Full-size soft ``L`` mask (255 = subject)."""
        return Image.fromarray(self.alpha(np.asarray(image.convert("RGB"))), "L")
