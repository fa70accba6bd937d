"""The BackgroundCut client: every documented endpoint, typed results, one exception tree.

Two hosts, as the provider documents them: the Processing API (``api_base``, paths ``/v3/...`` and
``/v2/cut/``) and the Token API (``token_api_base``, paths ``/v3/.../token/``). Requests that need
the key send it as ``Authorization: Bearer KEY`` (v3) or the bare key (legacy v2); token-based
Processing API calls send no key at all, exactly like the browser flow they stand for.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image

from wagtail_bgcut import api_facts
from wagtail_bgcut.api_facts import V2_CHANNELS, V2_MAX_RESOLUTION, V2_QUALITIES, V2_RETURN_TYPES
from wagtail_bgcut.variants import Variant, parse_variants

from .downloads import Download, fetch
from .exceptions import UnexpectedResponse
from .hosts import HostPolicy, Resolver
from .ratelimit import RateLimiter, shared_rate_limiter
from .responses import AccessToken, AICutSession, ProcessResult, SegmentResult, Upload, V2Result
from .retry import Backoff
from .transport import Reply, Transport
from .uploads import ImageInput, prepare_file

__all__ = ["BackgroundCutClient"]

_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: safe in a header
_RETURN_TYPE = re.compile(rf"^({'|'.join(V2_RETURN_TYPES)})(?:_(\d{{1,3}}))?$")

Dot = Sequence[float] | Mapping[str, float]


def _version() -> str:
    try:
        return metadata.version("wagtail-bgcut")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _clean_base(url: str, name: str) -> str:
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a URL string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host, like https://example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{name} must not carry a query, fragment or credentials")
    base = url.strip().rstrip("/")
    # Accept ".../v3" as well: we append /v3/... ourselves.
    return base[: -len("/v3")] if base.endswith("/v3") else base


def _timeout(value: float | tuple[float, float]) -> tuple[float, float]:
    pair = (value, value) if isinstance(value, int | float) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | float) and v > 0 for v in pair):
        raise ValueError("timeout must be a positive number or a (connect, read) pair of them")
    return float(pair[0]), float(pair[1])


def _require_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: must be a non-empty string")
    if len(value) > 512:
        raise ValueError(f"{field}: must be at most 512 characters")
    return value


def _dots(dots: Iterable[Dot], field: str, scale: float) -> list[dict[str, float]]:
    if isinstance(dots, str | bytes | Mapping) or not isinstance(dots, Iterable):
        raise ValueError(f"{field}: must be a list of (x, y) pairs or {{'x': .., 'y': ..}} objects")
    result = []
    for i, dot in enumerate(dots):
        if isinstance(dot, Mapping):
            if set(dot) != {"x", "y"}:
                raise ValueError(f"{field}[{i}]: must have exactly the keys 'x' and 'y'")
            x, y = dot["x"], dot["y"]
        elif isinstance(dot, Sequence) and not isinstance(dot, str | bytes) and len(dot) == 2:
            x, y = dot
        else:
            raise ValueError(f"{field}[{i}]: must be an (x, y) pair or {{'x': .., 'y': ..}}")
        for axis, v in (("x", x), ("y", y)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{field}[{i}].{axis}: must be a number")
            if v < 0:
                raise ValueError(f"{field}[{i}].{axis}: must not be negative")
        if scale != 1.0:
            x, y = round(x * scale, 2), round(y * scale, 2)
        result.append({"x": x, "y": y})
    return result


def _str_field(data: Mapping[str, Any], key: str, reply: Reply, method: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise UnexpectedResponse(
            f"the response has no {key!r} string", status=reply.status, method=method, path=path
        )
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


@contextlib.contextmanager
def _paid_answer(charged: bool) -> Iterator[None]:
    """A success answer to a paid call that we cannot read was still charged: say so."""
    try:
        yield
    except UnexpectedResponse as error:
        if charged:
            error.may_have_been_charged = True
        raise


def _image_format(data: bytes) -> str | None:
    """PNG/JPEG/WEBP when the header says so (nothing is decoded), else None."""
    try:
        with Image.open(io.BytesIO(data), formats=list(api_facts.PILLOW_NAMES.values())) as img:
            return img.format
    except Exception:
        return None


class BackgroundCutClient:
    """A thread-safe client for one API key. Create it once and reuse it (it pools connections).

    Only ``api_key`` is required; every other argument is keyword-only and mirrors a
    ``WAGTAIL_BGCUT`` setting. Result files come from ``download_hosts`` (origins; see
    :mod:`.hosts`) and from the origins this client's authenticated API responses name
    (https and public addresses only; ``download_allow``/``download_deny`` narrow them;
    ``local_result_hosts`` lets an emulator on loopback name http hosts, for tests only).
    ``backoff_base``/``backoff_cap`` tune the retry waits,
    ``resolver`` replaces DNS for the download allow-list and ``rate_limiter`` replaces the
    process-wide limiter (all three exist for tests and unusual deployments).
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = api_facts.API_BASE,
        token_api_base: str = api_facts.TOKEN_API_BASE,
        timeout: float | tuple[float, float] = (10.0, 300.0),
        max_retries: int = 4,
        max_retry_time: float = 300.0,
        rate_limit: int | None = api_facts.RATE_LIMIT,
        rate_limit_max: int | None = api_facts.RATE_LIMIT_MAX,
        download_hosts: Iterable[str] = api_facts.DOWNLOAD_HOSTS,
        download_allow: Iterable[str] | None = None,
        download_deny: Iterable[str] = (),
        local_result_hosts: bool = False,
        max_download_bytes: int = 64 * 1024 * 1024,
        normalize_uploads: bool = True,
        user_agent: str | None = None,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        resolver: Resolver | None = None,
        rate_limiter: RateLimiter | None = None,
    ):
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key is required (your BackgroundCut API key)")
        api_key = api_key.strip()
        if not _KEY_CHARS.match(api_key):
            # Said without echoing the key: requests would put it in its own error message.
            raise ValueError("api_key contains spaces or characters that cannot go in a header")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError("max_retries must be a non-negative integer")
        if not isinstance(max_retry_time, int | float) or max_retry_time <= 0:
            raise ValueError("max_retry_time must be a positive number of seconds")
        if not isinstance(max_download_bytes, int) or max_download_bytes < 1:
            raise ValueError("max_download_bytes must be a positive integer")
        self.api_base = _clean_base(api_base, "api_base")
        self.token_api_base = _clean_base(token_api_base, "token_api_base")
        self.normalize_uploads = bool(normalize_uploads)
        self.max_download_bytes = max_download_bytes
        self.hosts = HostPolicy(
            download_hosts,
            trusted=(self.api_base, self.token_api_base),
            deny=download_deny,
            allow=download_allow,
            local_results=local_result_hosts,
            resolver=resolver,
        )
        if rate_limiter is None and rate_limit is not None:
            if rate_limit_max is not None and rate_limit_max < rate_limit:
                raise ValueError("rate_limit_max must not be lower than rate_limit")
            RateLimiter(rate_limit, rate_limit_max)  # validates before sharing
            rate_limiter = shared_rate_limiter(api_key, rate_limit, rate_limit_max)
        self._owns_session = session is None
        self._transport = Transport(
            api_key,
            session=session or requests.Session(),
            timeout=_timeout(timeout),
            max_retries=max_retries,
            max_retry_time=float(max_retry_time),
            backoff=Backoff(backoff_base, backoff_cap),
            limiter=rate_limiter,
            user_agent=user_agent or f"wagtail-bgcut/{_version()} requests/{requests.__version__}",
        )

    def __repr__(self) -> str:
        return (
            f"<BackgroundCutClient api_key='***' api_base={self.api_base!r} "
            f"token_api_base={self.token_api_base!r}>"
        )

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def rate_limiter(self) -> RateLimiter | None:
        return self._transport.limiter

    def close(self) -> None:
        """Release pooled connections (only of a session this client created)."""
        if self._owns_session:
            self._transport.session.close()

    def __enter__(self) -> BackgroundCutClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- helpers --------------------------------------------------------------------------------

    def _post(self, base: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], Reply, str]:
        reply = self._transport.send("POST", base + path, **kwargs)
        with _paid_answer(kwargs["charged"]):
            return reply.json("POST", path), reply, path

    def _process_result(
        self, data: dict[str, Any], reply: Reply, path: str, names: Sequence[str] | None
    ) -> ProcessResult:
        urls = data.get("output_urls")
        if not isinstance(urls, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in urls.items()
        ):
            raise UnexpectedResponse(
                "the response has no output_urls object of URLs",
                status=reply.status,
                method="POST",
                path=path,
            )
        missing = [n for n in names or () if n not in urls]
        if missing:
            raise UnexpectedResponse(
                f"the response has no URL for variant(s) {', '.join(missing)}",
                status=reply.status,
                method="POST",
                path=path,
            )
        for url in urls.values():
            self.hosts.remember(url)
        self.hosts.remember(_opt_str(data, "input_url"))
        return ProcessResult(
            unique_filename=_str_field(data, "unique_filename", reply, "POST", path),
            input_url=_opt_str(data, "input_url"),
            output_urls=dict(urls),
            status=_opt_str(data, "status"),
        )

    def _session_result(
        self, data: dict[str, Any], reply: Reply, path: str, scale: float
    ) -> AICutSession:
        return AICutSession(
            unique_filename=_str_field(data, "unique_filename", reply, "POST", path),
            s3_path=_opt_str(data, "s3_path"),
            bucket=_opt_str(data, "bucket"),
            scale=scale,
        )

    # -- v3 remove-bg with the key (server side) ------------------------------------------------

    def upload_image(self, image: ImageInput, *, filename: str | None = None) -> Upload:
        """Upload once, process many times: ``POST /v3/remove-bg/upload-image/``. Free."""
        prepared = prepare_file(image, filename, normalize=self.normalize_uploads)
        data, reply, path = self._post(
            self.api_base,
            "/v3/remove-bg/upload-image/",
            auth="bearer",
            charged=False,
            files={"image": prepared.part()},
        )
        return Upload(
            unique_filename=_str_field(data, "unique_filename", reply, "POST", path),
            width=prepared.width,
            height=prepared.height,
            scale=prepared.scale,
        )

    def process_image(
        self, unique_filename: str, variants: Sequence[Variant | Mapping[str, Any]]
    ) -> ProcessResult:
        """Render every variant of an uploaded image: ``POST /v3/remove-bg/process-image/``.

        Spends credits. Variants are validated first (``InvalidVariant`` names the bad field).
        """
        unique_filename = _require_name(unique_filename, "unique_filename")
        parsed = parse_variants(variants)
        data, reply, path = self._post(
            self.api_base,
            "/v3/remove-bg/process-image/",
            auth="bearer",
            charged=True,
            json_body={
                "unique_filename": unique_filename,
                "output_variants": [v.output_variant() for v in parsed],
            },
        )
        with _paid_answer(True):
            return self._process_result(data, reply, path, [v.variant_name for v in parsed])

    # -- Token API (server side) and the token-based Processing API (browser side) ---------------

    def create_remove_bg_token(
        self,
        variants: Sequence[Variant | Mapping[str, Any]],
        *,
        unique_filename: str | None = None,
    ) -> AccessToken:
        """``POST {token_api_base}/v3/remove-bg/token/``: a token for one remove-bg (charged)."""
        body: dict[str, Any] = {
            "output_variants": [v.output_variant() for v in parse_variants(variants)]
        }
        if unique_filename is not None:
            body["unique_filename"] = _require_name(unique_filename, "unique_filename")
        data, reply, path = self._post(
            self.token_api_base,
            "/v3/remove-bg/token/",
            auth="bearer",
            charged=True,
            json_body=body,
        )
        return AccessToken(_str_field(data, "access_token", reply, "POST", path))

    def create_ai_cut_token(self) -> AccessToken:
        """``POST {token_api_base}/v3/ai-cut/token/``: one AI Cut session (2 credits)."""
        data, reply, path = self._post(
            self.token_api_base, "/v3/ai-cut/token/", auth="bearer", charged=True, json_body={}
        )
        return AccessToken(_str_field(data, "access_token", reply, "POST", path))

    def remove_bg_with_token(
        self, access_token: str | AccessToken, image: ImageInput | None = None
    ) -> ProcessResult:
        """``POST /v3/remove-bg/`` with ``token`` (+ ``image`` unless the token names an upload).

        Sends no key. Retried after read failures too: the token pays for exactly one result and
        is spent by it, so a repeat cannot buy a second one.
        """
        token = _require_name(getattr(access_token, "access_token", access_token), "access_token")
        files: dict[str, Any] = {"token": (None, token)}
        if image is not None:
            files["image"] = prepare_file(image, None, normalize=self.normalize_uploads).part()
        data, reply, path = self._post(
            self.api_base, "/v3/remove-bg/", auth=None, charged=False, files=files
        )
        return self._process_result(data, reply, path, None)

    def ai_cut_initialize_with_token(
        self, access_token: str | AccessToken, image: ImageInput
    ) -> AICutSession:
        """``POST /v3/ai-cut/initialize/`` with ``token`` and ``image`` (no key sent)."""
        token = _require_name(getattr(access_token, "access_token", access_token), "access_token")
        prepared = prepare_file(image, None, normalize=self.normalize_uploads)
        data, reply, path = self._post(
            self.api_base,
            "/v3/ai-cut/initialize/",
            auth=None,
            charged=False,
            files={"token": (None, token), "image": prepared.part()},
        )
        return self._session_result(data, reply, path, prepared.scale)

    # -- AI Cut with the key --------------------------------------------------------------------

    def ai_cut_initialize(self, image: ImageInput) -> AICutSession:
        """``POST /v3/ai-cut/initialize/`` with the Bearer key: starts a session (1 credit)."""
        prepared = prepare_file(image, None, normalize=self.normalize_uploads)
        data, reply, path = self._post(
            self.api_base,
            "/v3/ai-cut/initialize/",
            auth="bearer",
            charged=True,
            files={"image": prepared.part()},
        )
        return self._session_result(data, reply, path, prepared.scale)

    def ai_cut_segment(
        self,
        unique_filename: str,
        green_dots: Iterable[Dot],
        red_dots: Iterable[Dot],
        request_number: int,
        *,
        scale: float = 1.0,
    ) -> SegmentResult:
        """``POST /v3/ai-cut/segment/`` (free). Pass ALL dots placed so far, as the API requires.

        Dots are in uploaded pixels; pass ``scale=session.scale`` to have coordinates measured on
        the original image converted.
        """
        unique_filename = _require_name(unique_filename, "unique_filename")
        if isinstance(request_number, bool) or not isinstance(request_number, int):
            raise ValueError("request_number: must be an integer")
        if request_number < 1:
            raise ValueError("request_number: must start at 1")
        if not isinstance(scale, int | float) or not 0 < scale <= 1:
            raise ValueError("scale: must be in (0, 1]")
        body = {
            "unique_filename": unique_filename,
            "greenDots": _dots(green_dots, "greenDots", scale),
            "redDots": _dots(red_dots, "redDots", scale),
            "request_number": request_number,
        }
        data, reply, path = self._post(
            self.api_base, "/v3/ai-cut/segment/", auth="bearer", charged=False, json_body=body
        )
        number = data.get("request_number")
        self.hosts.remember(_opt_str(data, "output_url"))
        return SegmentResult(
            status=_opt_str(data, "status"),
            unique_filename=_str_field(data, "unique_filename", reply, "POST", path),
            output_url=_str_field(data, "output_url", reply, "POST", path),
            request_number=number if isinstance(number, int) else None,
        )

    # -- legacy v2 ------------------------------------------------------------------------------

    def cut_v2(
        self,
        image: ImageInput,
        *,
        return_type: str = "PNG",
        channels: str = "rgba",
        quality: str | None = None,
        max_resolution: int | None = None,
        send_base64: bool = False,
    ) -> V2Result:
        """``POST /v2/cut/`` with ``Authorization: KEY`` (no "Bearer"); returns the image bytes.

        ``return_type`` is PNG, WEBP or WEBP_1..WEBP_100; ``channels`` rgba or alpha;
        ``quality`` high/medium/low; ``max_resolution`` up to 12,000,000 pixels.
        """
        fields: dict[str, Any] = {}
        rt = str(return_type).strip().upper()
        match = _RETURN_TYPE.match(rt)
        if not match or (match.group(1) == "PNG" and match.group(2)):
            raise ValueError("return_type: must be PNG, WEBP or WEBP_<1..100>")
        if match.group(2) and not 1 <= int(match.group(2)) <= 100:
            raise ValueError("return_type: the WEBP compression must be from 1 to 100")
        fields["return_type"] = rt
        ch = str(channels).strip().lower()
        if ch not in V2_CHANNELS:
            raise ValueError("channels: must be rgba or alpha")
        fields["channels"] = ch
        if quality is not None:
            q = str(quality).strip().lower()
            if q not in V2_QUALITIES:
                raise ValueError("quality: must be high, medium or low")
            fields["quality"] = q.capitalize()
        if max_resolution is not None:
            if isinstance(max_resolution, bool) or not isinstance(max_resolution, int):
                raise ValueError("max_resolution: must be an integer")
            if not 1 <= max_resolution <= V2_MAX_RESOLUTION:
                raise ValueError(f"max_resolution: must be from 1 to {V2_MAX_RESOLUTION:,}")
            fields["max_resolution"] = str(max_resolution)
        prepared = prepare_file(image, None, normalize=self.normalize_uploads)
        files: dict[str, Any] = {k: (None, v) for k, v in fields.items()}
        if send_base64:
            files["image_file_b64"] = (None, base64.b64encode(prepared.data).decode("ascii"))
        else:
            files["image_file"] = prepared.part()
        path = "/v2/cut/"
        reply = self._transport.send(
            "POST",
            self.api_base + path,
            auth="plain",
            charged=True,
            # 05 documents a binary answer: ask for images, never for JSON.
            accept="image/png, image/webp, */*;q=0.1",
            files=files,
        )
        content_type = reply.headers.get("Content-Type", "application/octet-stream")
        if _image_format(reply.content) is None:
            error = UnexpectedResponse(
                "the v2 response is not an image", status=reply.status, method="POST", path=path
            )
            error.may_have_been_charged = True  # a 200 from a paid call was charged
            raise error
        return V2Result(data=reply.content, content_type=content_type)

    # -- results --------------------------------------------------------------------------------

    def download(
        self,
        url: str,
        *,
        expected_format: str | None = None,
        max_bytes: int | None = None,
        named_by_api: bool = False,
    ) -> Download:
        """Fetch a result URL into a temporary file (see :mod:`.downloads` for the checks).

        ``expected_format`` is png, jpg or webp (a variant's ``format``); None accepts any of them.
        ``named_by_api``: the URL came from an authenticated API response, stored earlier (perhaps
        by another process); its origin is then allowed under the rules for API-named hosts. URLs
        this client's own responses named are allowed without it. Never pass it for URLs a
        browser sent. The key is never sent to result hosts.
        """
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
        ):
            raise ValueError("max_bytes: must be a positive integer")
        return fetch(
            self._transport,
            self.hosts,
            url,
            expected_format=expected_format,
            max_bytes=max_bytes or self.max_download_bytes,
            named=named_by_api,
        )
