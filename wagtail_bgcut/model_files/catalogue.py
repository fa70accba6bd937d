"""The built-in catalogue of segmentation models: where each comes from and how to feed it.

URLs and checksums are the publishers' own: rembg pins its GitHub release files by MD5 in
``rembg/sessions/*.py``; the img.ly ISNet is assembled from the 4 MiB chunks listed in the npm
package ``@imgly/background-removal-data`` 1.4.5 (``dist/resources.json``), each chunk named by its
SHA-256, and the assembled file is pinned here by SHA-256 (computed from that package).

``LOCAL_MODEL`` takes a name from :data:`CATALOGUE`, a path to an ``.onnx`` file, ``"auto"`` (the
first fetched model of :data:`DEFAULT_PREFERENCE`, else the built-in segmenter) or None.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AUTO",
    "CATALOGUE",
    "DEFAULT_PREFERENCE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelSource",
    "ModelSpec",
    "default_model_dir",
    "find_fetched",
    "resolve",
]

AUTO = "auto"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF_MEAN = (0.5, 0.5, 0.5)
UNIT_STD = (1.0, 1.0, 1.0)
IMGLY_PACKAGE = "@imgly/background-removal-data@1.4.5"


@dataclass(frozen=True)
class ModelSource:
    """One place a model file can be fetched from.

    ``kind`` is ``"url"`` (``location`` is an https URL) or ``"npm"`` (``location`` is an npm
    package spec, ``resource`` the key of the chunk list in its ``dist/resources.json``).
    """

    kind: str
    location: str
    resource: str = ""

    @property
    def label(self) -> str:
        return "npm" if self.kind == "npm" else "publisher"


@dataclass(frozen=True)
class ModelSpec:
    """A catalogued model: file name, checksum, licence, and the input it expects."""

    name: str
    filename: str
    checksum: str  # "md5:<hex>" or "sha256:<hex>", as the publisher's release data pins it
    licence: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    sources: tuple[ModelSource, ...]
    size_bytes: int | None = None
    # True: divide by the image's own maximum as rembg does; False: by 255 as img.ly does.
    scale_by_max: bool = True
    description: str = ""

    def source(self, label: str | None) -> tuple[ModelSource, ...]:
        """The sources to try, in order; ``label`` ("publisher" or "npm") keeps only those."""
        if not label:
            return self.sources
        return tuple(s for s in self.sources if s.label == label)


_REMBG = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/"

CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="u2netp",
            filename="u2netp.onnx",
            checksum="md5:8e83ca70e441ab06c318d82300c84806",
            licence="Apache-2.0 (U-2-Net)",
            input_size=320,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            sources=(ModelSource("url", _REMBG + "u2netp.onnx"),),
            description="U^2-Net small: 4.7 MB, fast, coarse edges.",
        ),
        ModelSpec(
            name="u2net",
            filename="u2net.onnx",
            checksum="md5:60024c5c889badc19c04ad937298a77b",
            licence="Apache-2.0 (U-2-Net)",
            input_size=320,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            sources=(ModelSource("url", _REMBG + "u2net.onnx"),),
            description="U^2-Net: 176 MB, general salient objects.",
        ),
        ModelSpec(
            name="isnet-general-use",
            filename="isnet-general-use.onnx",
            checksum="md5:fc16ebd8b0c10d971d3513d564d01e29",
            licence="Apache-2.0 (DIS / IS-Net)",
            input_size=1024,
            mean=HALF_MEAN,
            std=UNIT_STD,
            sources=(ModelSource("url", _REMBG + "isnet-general-use.onnx"),),
            description="IS-Net general use: 179 MB, sharp outlines.",
        ),
        ModelSpec(
            name="birefnet-general-lite",
            filename="birefnet-general-lite.onnx",
            checksum="md5:4fab47adc4ff364be1713e97b7e66334",
            licence="MIT (BiRefNet)",
            input_size=1024,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            sources=(
                ModelSource("url", _REMBG + "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx"),
            ),
            description="BiRefNet general, Swin-tiny backbone: best edges, slowest here.",
        ),
        ModelSpec(
            name="isnet-imgly-small",
            filename="isnet-imgly-small.onnx",
            checksum="sha256:7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
            licence="AGPL-3.0 (img.ly @imgly/background-removal-data; never vendor it)",
            input_size=1024,
            mean=HALF_MEAN,
            std=UNIT_STD,
            sources=(ModelSource("npm", IMGLY_PACKAGE, "/models/small"),),
            size_bytes=44_342_436,
            scale_by_max=False,
            description="img.ly ISNet, quint8: 44 MB, from the npm registry.",
        ),
        ModelSpec(
            name="isnet-imgly-medium",
            filename="isnet-imgly-medium.onnx",
            checksum="sha256:b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
            licence="AGPL-3.0 (img.ly @imgly/background-removal-data; never vendor it)",
            input_size=1024,
            mean=HALF_MEAN,
            std=UNIT_STD,
            sources=(ModelSource("npm", IMGLY_PACKAGE, "/models/medium"),),
            size_bytes=88_188_479,
            scale_by_max=False,
            description="img.ly ISNet, fp16: 88 MB, from the npm registry.",
        ),
    )
}

# What LOCAL_MODEL="auto" (the default) uses: the first of these that is fetched.
DEFAULT_PREFERENCE = ("isnet-general-use", "isnet-imgly-medium", "isnet-imgly-small", "u2net")


def default_model_dir() -> Path:
    """The per-user cache folder models are fetched into when MODEL_DIR is not set."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "wagtail-bgcut" / "models"


def _directory(model_dir: str | os.PathLike | None) -> Path:
    return Path(model_dir).expanduser() if model_dir else default_model_dir()


def find_fetched(model_dir: str | os.PathLike | None = None) -> ModelSpec | None:
    """The first model of :data:`DEFAULT_PREFERENCE` present in ``model_dir``, if any."""
    directory = _directory(model_dir)
    for name in DEFAULT_PREFERENCE:
        if (directory / CATALOGUE[name].filename).is_file():
            return CATALOGUE[name]
    return None


def resolve(
    model: str | os.PathLike | None, model_dir: str | os.PathLike | None = None
) -> tuple[Path | None, ModelSpec | None]:
    """``(path, spec)`` for a LOCAL_MODEL value; ``(None, None)`` means the built-in segmenter.

    A catalogue name gives its path in ``model_dir`` (fetched or not: the system check reports a
    missing one); a path gives itself, with the spec of the catalogued file of that name if any.
    """
    if not model:
        return None, None
    text = os.fspath(model)
    directory = _directory(model_dir)
    if text == AUTO:
        if importlib.util.find_spec("onnxruntime") is None:
            return None, None  # "auto" never fails: without the onnx extra, the built-in one
        spec = find_fetched(directory)
        return (directory / spec.filename, spec) if spec else (None, None)
    if text in CATALOGUE:
        spec = CATALOGUE[text]
        return directory / spec.filename, spec
    path = Path(text).expanduser()
    by_file = {s.filename: s for s in CATALOGUE.values()}
    return path, by_file.get(path.name)
