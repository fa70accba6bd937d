"""The emulator's state: one account, its credits and ledger, uploads, tokens, AI Cut sessions,
result files and the request log.

Everything lives in memory behind one lock, because the server is threaded. Image work (cutting,
rendering) never runs under that lock: each upload has its own lock so one upload is cut once even
when several process calls race for it, while other uploads go on in parallel.

Time is ``time.time()`` plus an offset that :meth:`EmulatorState.advance` moves, so tests can step
past a TTL or a rate-limit window without sleeping.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .ratelimit import RateLimiter
from .validation import OutputVariant, price

# The account a new emulator starts with: EmulatorState, EmulatorServer and the command line
# (python -m wagtail_bgcut.testing.server) all take their defaults from here.
DEFAULT_API_KEY = "test-key"
DEFAULT_CREDITS: float = 100
DEFAULT_URL_TTL: float = 600  # seconds result URLs live
DEFAULT_UPLOAD_TTL: float = 3600  # seconds uploads live
DEFAULT_TOKEN_TTL: float = 300  # seconds tokens live
DEFAULT_RATE_LIMIT = 40  # requests per minute per key
DEFAULT_RATE_LIMIT_MAX = 500
# INVENTED (04 says only "Sessions expire"): how long an AI Cut session lives in faithful mode.
DEFAULT_SESSION_TTL: float = 600

DEFAULT_PRICING: dict[str, float] = {
    # remove-bg: per variant, plus a surcharge per variant with autocrop (documented: +0.5).
    "variant": 1.0,
    "autocrop": 0.5,
    # AI Cut: 2 credits per session through the token flow, 1 through Bearer initialize.
    "ai_cut_token": 2.0,
    "ai_cut_initialize": 1.0,
    # Legacy v2: one credit per cut.
    "v2_cut": 1.0,
}

TokenKind = Literal["remove_bg", "ai_cut"]


@dataclass(frozen=True)
class Charge:
    """One ledger line: what a successful request cost."""

    endpoint: str
    credits: float
    variants: tuple[str, ...]
    unique_filename: str | None
    time: float


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it. Headers are never kept, so keys cannot leak."""

    method: str
    path: str
    status: int | None  # None when the connection was reset by an injected fault
    endpoint: str | None
    time: float  # when the answer was ready (after any injected latency and the handling)
    fault: str | None = None
    # When the request arrived: ``time - received`` is the emulator's own handling plus injected
    # latency, which the soak separates from the workers' share of a job.
    received: float | None = None


@dataclass
class Upload:
    """An uploaded source image (a remove-bg upload or an AI Cut session's image)."""

    unique_filename: str
    data: bytes
    format: str  # "png", "jpeg" or "webp", sniffed from the bytes
    expires_at: float
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    image: Any = field(default=None, repr=False)  # decoded PIL image, opened once
    cutouts: dict[str, Any] = field(default_factory=dict, repr=False)  # quality -> RGBA
    cuts: int = 0  # how many times the engine actually ran for this upload


@dataclass
class Session:
    """An AI Cut session: its upload plus how it was paid for."""

    upload: Upload
    via_token: bool
    token: str | None = None
    last_request_number: int = 0
    expires_at: float | None = None  # faithful mode: sessions expire on their own (page 04)
    numbers: list[int] = field(default_factory=list)  # every request_number received, in order
    masks: dict[int, Any] = field(default_factory=dict, repr=False)  # request_number -> mask

    def previous_mask(self, request_number: int) -> Any:
        """The mask of the latest earlier call, so a refinement builds on it."""
        earlier = [n for n in self.masks if n < request_number]
        return self.masks[max(earlier)] if earlier else None

    @property
    def unique_filename(self) -> str:
        return self.upload.unique_filename


@dataclass
class Token:
    """A short-lived access token, bound to what it was issued for."""

    value: str
    kind: TokenKind
    expires_at: float
    variants: tuple[OutputVariant, ...] = ()
    unique_filename: str | None = None
    used: bool = False


@dataclass
class ResultFile:
    """A file the emulator serves at ``/results/<name>`` until ``expires_at``."""

    name: str
    data: bytes
    content_type: str
    expires_at: float
    unique_filename: str | None = None


class EmulatorState:
    """All mutable state of one emulator. Thread-safe."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        credits: float = DEFAULT_CREDITS,
        url_ttl: float = DEFAULT_URL_TTL,
        upload_ttl: float = DEFAULT_UPLOAD_TTL,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        rate_limit_max: int | None = DEFAULT_RATE_LIMIT_MAX,
        pricing: dict[str, float] | None = None,
        faithful: bool = False,
        session_ttl: float | None = None,
    ):
        unknown = set(pricing or {}) - set(DEFAULT_PRICING)
        if unknown:
            raise ValueError(f"unknown pricing keys: {', '.join(sorted(unknown))}")
        self.api_key = api_key
        self.initial_credits = float(credits)
        self.url_ttl = url_ttl
        self.upload_ttl = upload_ttl
        self.token_ttl = token_ttl
        self.pricing = {**DEFAULT_PRICING, **(pricing or {})}
        # Faithful mode follows the pages where they speak and the emulator's defaults differ:
        # remove-bg is charged when the token is issued (01: "Credits are deducted here"), results
        # live on a separate host (server.py) and AI Cut sessions expire (04).
        self.faithful = faithful
        if session_ttl is None:
            session_ttl = DEFAULT_SESSION_TTL if faithful else None
        self.session_ttl = session_ttl
        # Where result files are served from; None: the host the request came to.
        self.result_base: str | None = None
        self.lock = threading.RLock()
        self.rate_limiter = RateLimiter(rate_limit, rate_limit_max)
        self._offset = 0.0
        self._clear()

    def _clear(self) -> None:
        self.credits = self.initial_credits
        self.ledger: list[Charge] = []
        self.requests: list[LoggedRequest] = []
        self.uploads: dict[str, Upload] = {}
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, Token] = {}
        self.results: dict[str, ResultFile] = {}
        self.rate_limiter.reset()

    # -- time ------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (TTLs and rate-limit windows follow)."""
        with self.lock:
            self._offset += seconds

    def reset(self) -> None:
        with self.lock:
            self._offset = 0.0
            self._clear()

    # -- credits ---------------------------------------------------------------------------
    def price_variants(self, variants: Iterable[OutputVariant]) -> float:
        return price(list(variants), self.pricing["variant"], self.pricing["autocrop"])

    def has_credits(self, amount: float) -> bool:
        with self.lock:
            return self.credits + 1e-9 >= amount

    def charge(
        self,
        endpoint: str,
        amount: float,
        *,
        variants: Iterable[str] = (),
        unique_filename: str | None = None,
    ) -> bool:
        """Deduct ``amount`` and write a ledger line; False (nothing charged) when short."""
        with self.lock:
            if self.credits + 1e-9 < amount:
                return False
            self.credits -= amount
            self.ledger.append(
                Charge(endpoint, amount, tuple(variants), unique_filename, self.now())
            )
            return True

    # -- uploads and sessions --------------------------------------------------------------
    def add_upload(self, data: bytes, fmt: str, image: Any) -> Upload:
        upload = Upload(
            unique_filename=str(uuid.uuid4()),
            data=data,
            format=fmt,
            expires_at=self.now() + self.upload_ttl,
            image=image,
        )
        with self.lock:
            self._purge()
            self.uploads[upload.unique_filename] = upload
        return upload

    def get_upload(self, unique_filename: Any) -> Upload | None:
        if not isinstance(unique_filename, str):
            return None
        with self.lock:
            upload = self.uploads.get(unique_filename)
            if upload is None or upload.expires_at <= self.now():
                return None
            return upload

    def add_session(self, upload: Upload, *, via_token: bool, token: str | None = None) -> Session:
        expires = None if self.session_ttl is None else self.now() + self.session_ttl
        session = Session(upload=upload, via_token=via_token, token=token, expires_at=expires)
        with self.lock:
            self.sessions[upload.unique_filename] = session
        return session

    def get_session(self, unique_filename: Any) -> Session | None:
        if not isinstance(unique_filename, str):
            return None
        with self.lock:
            session = self.sessions.get(unique_filename)
            if session is None or session.upload.expires_at <= self.now():
                return None
            if session.expires_at is not None and session.expires_at <= self.now():
                return None
            return session

    # -- tokens ----------------------------------------------------------------------------
    def issue_token(
        self,
        kind: TokenKind,
        *,
        variants: Iterable[OutputVariant] = (),
        unique_filename: str | None = None,
    ) -> Token:
        token = Token(
            value=secrets.token_urlsafe(32),
            kind=kind,
            expires_at=self.now() + self.token_ttl,
            variants=tuple(variants),
            unique_filename=unique_filename,
        )
        with self.lock:
            self.tokens[token.value] = token
        return token

    def get_token(self, value: Any, kind: TokenKind) -> Token | None:
        """A live, unused token of ``kind``; None for anything else (all of which is a 401)."""
        if not isinstance(value, str) or not value:
            return None
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.kind != kind or token.used:
                return None
            if token.expires_at <= self.now():
                return None
            return token

    def is_token(self, value: Any, kind: TokenKind) -> bool:
        """Whether ``value`` was ever issued as a ``kind`` token (spent or expired included)."""
        with self.lock:
            token = self.tokens.get(value) if isinstance(value, str) else None
            return token is not None and token.kind == kind

    def use_token(self, token: Token) -> bool:
        """Mark a token spent; False if another request spent it first."""
        with self.lock:
            if token.used:
                return False
            token.used = True
            return True

    def release_token(self, token: Token) -> None:
        """Hand a claimed token back (the call it was claimed for failed)."""
        with self.lock:
            token.used = False

    # -- result files ----------------------------------------------------------------------
    def add_result(
        self, data: bytes, content_type: str, ext: str, unique_filename: str | None
    ) -> ResultFile:
        result = ResultFile(
            name=f"{secrets.token_urlsafe(16)}.{ext}",
            data=data,
            content_type=content_type,
            expires_at=self.now() + self.url_ttl,
            unique_filename=unique_filename,
        )
        with self.lock:
            self._purge_results()
            self.results[result.name] = result
        return result

    def get_result(self, name: str) -> ResultFile | None:
        with self.lock:
            result = self.results.get(name)
            if result is None or result.expires_at <= self.now():
                return None
            return result

    def _purge(self) -> None:
        """Drop what expired long ago, so a long-running emulator does not grow without bound.
        Recently expired entries stay a while (harmless: lookups check expiry)."""
        horizon = self.now() - 3600
        for key in [k for k, u in self.uploads.items() if u.expires_at <= horizon]:
            del self.uploads[key]
        for key in [k for k, v in self.sessions.items() if v.upload.expires_at <= horizon]:
            del self.sessions[key]
        for key in [k for k, t in self.tokens.items() if t.expires_at <= horizon]:
            del self.tokens[key]

    def _purge_results(self) -> None:
        now = self.now()
        for name in [n for n, r in self.results.items() if r.expires_at <= now]:
            del self.results[name]

    # -- expiry on demand ------------------------------------------------------------------
    def expire(self, unique_filename: str | None = None) -> None:
        """Expire now: the upload/session ``unique_filename`` with its result files and the
        tokens bound to it, or (None) every upload, session, result file and token."""
        with self.lock:
            past = self.now() - 1
            for upload in self.uploads.values():
                if unique_filename in (None, upload.unique_filename):
                    upload.expires_at = past
            for session in self.sessions.values():
                if unique_filename in (None, session.unique_filename):
                    session.upload.expires_at = past
                    session.expires_at = past
            for result in self.results.values():
                if unique_filename in (None, result.unique_filename):
                    result.expires_at = past
            for token in self.tokens.values():
                if unique_filename in (None, token.unique_filename):
                    token.expires_at = past

    # -- request log -----------------------------------------------------------------------
    def log_request(
        self,
        method: str,
        path: str,
        status: int | None,
        endpoint: str | None,
        fault: str | None = None,
        received: float | None = None,
    ) -> None:
        with self.lock:
            self.requests.append(
                LoggedRequest(method, path, status, endpoint, self.now(), fault, received)
            )

    def rate_limit(self, key: str) -> float | None:
        with self.lock:
            return self.rate_limiter.hit(key, self.now())
