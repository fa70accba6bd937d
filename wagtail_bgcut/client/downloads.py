"""Fetching result files safely: allowed hosts only, size-capped, verified as the asked image.

Result URLs are temporary, so callers download once and keep the file. The file goes to a temporary
path (never fully into memory), the :class:`Download` removes it when closed (or when it is garbage
collected), and nothing is handed back unless Pillow recognises it as an image of the expected
format and can decode it without exceeding a pixel limit (no decompression bombs).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
import weakref
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image

from ..api_facts import FORMAT_SPELLINGS, MAX_RESOLUTION_RANGE, PILLOW_NAMES
from .exceptions import DownloadError, TransportError
from .hosts import HostPolicy, uses_proxy
from .retry import parse_retry_after
from .transport import Transport, logger, peer_address, transport_error

__all__ = ["FORMATS", "MAX_DOWNLOAD_PIXELS", "MAX_REDIRECTS", "Download", "fetch"]

MAX_REDIRECTS = 5
# Outputs are at most the largest max_resolution (25 MP); leave room, refuse anything wilder.
MAX_DOWNLOAD_PIXELS = 2 * MAX_RESOLUTION_RANGE[1]
CHUNK = 64 * 1024
# API spelling (and its other spellings) -> Pillow format name.
FORMATS = {**PILLOW_NAMES, **{alias: PILLOW_NAMES[fmt] for alias, fmt in FORMAT_SPELLINGS.items()}}
_API_NAMES = {name: fmt for fmt, name in PILLOW_NAMES.items()}


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Download:
    """A verified result file on disk. Use as a context manager; the file is removed on exit."""

    def __init__(
        self,
        path: str,
        *,
        size: int,
        format: str,
        width: int,
        height: int,
        content_type: str | None,
        url: str,
    ):
        self.path = path
        self.size = size
        self.format = format  # "png" | "jpg" | "webp", as variants spell it
        self.width = width
        self.height = height
        self.content_type = content_type
        self.url = url
        self._finalizer = weakref.finalize(self, _remove, path)

    def __repr__(self) -> str:
        return f"<Download {self.format} {self.width}x{self.height} {self.size} bytes>"

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def read_bytes(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Delete the temporary file (safe to call twice)."""
        self._finalizer()

    def __enter__(self) -> Download:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _expected(expected_format: str | None) -> str | None:
    if expected_format is None:
        return None
    try:
        return FORMATS[expected_format.lower().lstrip(".")]
    except (KeyError, AttributeError):
        raise ValueError(
            f"expected_format must be one of {', '.join(sorted(FORMATS))}, not {expected_format!r}"
        ) from None


def _verify(path: str, expected: str | None) -> tuple[str, int, int]:
    """Pillow format name and size, after a full decode within the pixel limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=list(_API_NAMES)) as img:
                fmt, (width, height) = img.format, img.size
                if fmt == "MPO":  # a JPEG with extra frames (phones); still a JPEG
                    fmt = "JPEG"
                if width * height > MAX_DOWNLOAD_PIXELS:
                    raise DownloadError(
                        f"the result is {width}x{height}, more than {MAX_DOWNLOAD_PIXELS:,} pixels"
                    )
                img.verify()
            with Image.open(path, formats=list(_API_NAMES)) as img:
                img.load()
    except DownloadError:
        raise
    except Exception:  # Pillow raises many types for hostile files
        raise DownloadError("the result is not a readable PNG, JPEG or WebP image") from None
    if expected is not None and fmt != expected:
        raise DownloadError(
            f"the result is {_API_NAMES.get(fmt, fmt)}, not the expected {_API_NAMES[expected]}"
        )
    return fmt, width, height


def _fetch_once(
    transport: Transport,
    policy: HostPolicy,
    url: str,
    max_bytes: int,
    read_timeout: float,
    tmp_suffix: str,
    named: bool,
) -> tuple[str, int, str | None, str]:
    """Follow up to MAX_REDIRECTS hops, each re-checked; stream the body into a temp file.

    ``named`` vouches for the first URL only (an API response named it); a redirect must lead to
    an origin allowed on its own, because a Location header is not the API's answer.
    """
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        proxied = uses_proxy(current, transport.session)
        host, rule = policy.check_url(current, named=named and hop == 0, proxied=proxied)
        path = urlsplit(current).path
        response = None
        started = time.monotonic()
        headers = transport.headers(None)  # never the key: result hosts are not the API
        headers["Accept"] = "image/png, image/jpeg, image/webp, */*;q=0.1"
        try:
            response = transport.session.get(
                current,
                headers=headers,
                timeout=(transport.timeout[0], read_timeout),
                allow_redirects=False,
                stream=True,
            )
            logger.debug(
                "GET %s -> %s in %.3fs", path, response.status_code, time.monotonic() - started
            )
            policy.check_peer(host, rule, peer_address(response), proxied=proxied)
            if response.is_redirect:
                location = response.headers.get("Location", "")
                target = urljoin(current, location)
                if urlsplit(current).scheme == "https" and urlsplit(target).scheme == "http":
                    raise DownloadError("a redirect from https to plain http was refused")
                current = target
                continue
            if response.status_code != 200:
                raise DownloadError(
                    "the result URL answered "
                    f"{response.status_code} {response.reason or ''}".rstrip()
                    + (" (expired?)" if response.status_code in (403, 404, 410) else ""),
                    status=response.status_code,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    method="GET",
                    path=path,
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadError(
                    f"the result is {int(declared):,} bytes, over the {max_bytes:,} byte limit"
                )
            fd, tmp_path = tempfile.mkstemp(prefix="bgcut-", suffix=tmp_suffix)
            size = 0
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadError(f"the result is over the {max_bytes:,} byte limit")
                        out.write(chunk)
            except BaseException:
                _remove(tmp_path)
                raise
            return tmp_path, size, response.headers.get("Content-Type"), current
        except requests.RequestException as exc:
            # One message for every network failure: a refused, reset or silent port must look
            # the same, so an error cannot tell anyone what listens where.
            failure = transport_error(exc, "GET", path, transport.scrub)
            raise TransportError(
                "the result file could not be fetched (network error)",
                request_sent=failure.request_sent,
                final=failure.final,
                method="GET",
                path=path,
            ) from None
        finally:
            if response is not None:
                response.close()
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects")


def fetch(
    transport: Transport,
    policy: HostPolicy,
    url: str,
    *,
    expected_format: str | None,
    max_bytes: int,
    named: bool = False,
) -> Download:
    """Download ``url`` (retrying 429/503/504 and connection failures: a GET is safe to repeat).

    ``named``: the URL comes from an authenticated API response (stored earlier, perhaps by
    another process), so its origin is allowed under the rules for API-named hosts.
    """
    expected = _expected(expected_format)
    if named:  # so a redirect to the same origin is allowed as well
        policy.remember(url)
    suffix = "." + _API_NAMES[expected] if expected else ""
    path = urlsplit(url).path if isinstance(url, str) else ""

    def attempt(read_timeout: float) -> Download:
        tmp_path, size, content_type, final_url = _fetch_once(
            transport, policy, url, max_bytes, read_timeout, suffix, named
        )
        try:
            fmt, width, height = _verify(tmp_path, expected)
        except BaseException:
            _remove(tmp_path)
            raise
        return Download(
            tmp_path,
            size=size,
            format=_API_NAMES[fmt],
            width=width,
            height=height,
            content_type=content_type,
            url=final_url,
        )

    return transport.call(attempt, charged=False, method="GET", path=path, rate_limited=False)
