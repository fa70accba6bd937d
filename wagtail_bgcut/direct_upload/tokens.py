"""Site-signed tickets and local-engine tokens (``django.core.signing``), with replay protection.

A *ticket* is what the site hands the browser next to the access token. It binds who asked (the
user id, or a hash of the anonymous session), which presets, until when, a random nonce, the mode
(API or local engine) and a hash of the access token. Finalize accepts a result only with a
ticket whose signature, binding and expiry check out and whose nonce was never used before; the
nonce is marked used in Django's cache (``cache.add`` is atomic), so a replay is refused.

A *local token* stands in for BackgroundCut's access token when the site runs the local engine:
the site's own processing endpoint accepts it once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.core import signing
from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from ..conf import bgcut_settings
from ..exceptions import BgcutError

TICKET_SALT = "wagtail_bgcut.direct_upload.ticket"
LOCAL_TOKEN_SALT = "wagtail_bgcut.direct_upload.local-token"  # noqa: S105 - a salt
NONCE_PREFIX = "wagtail_bgcut:direct_upload:used"


class TicketError(BgcutError):
    """A ticket or token was refused; ``status`` is the HTTP status to answer with.

    Never ``retryable``: a refused ticket stays refused; the browser must upload again.
    """

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


def token_hash(access_token: str) -> str:
    return hashlib.sha256(access_token.encode()).hexdigest()[:32]


def request_binding(request: HttpRequest, *, create: bool = False) -> str:
    """Who is asking: ``u:<pk>`` for a user, ``s:<hmac of the session key>`` for a visitor.

    ``create`` starts a session for a visitor who has none (the token view does; finalize must
    find the same one).
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    session = getattr(request, "session", None)
    if session is None:
        return "anonymous"
    if not session.session_key and create:
        session.save()
    key = session.session_key or ""
    if not key:
        return "anonymous"
    return "s:" + salted_hmac(TICKET_SALT, key).hexdigest()[:32]


@dataclass(frozen=True)
class Ticket:
    binding: str
    presets: tuple[str, ...]
    expires: int
    nonce: str
    token_hash: str
    mode: str
    unique_filename: str = ""  # local mode: the name the site's endpoint will store results under

    def sign(self) -> str:
        payload = {
            "b": self.binding,
            "p": list(self.presets),
            "e": self.expires,
            "n": self.nonce,
            "t": self.token_hash,
            "m": self.mode,
            "f": self.unique_filename,
        }
        return signing.dumps(payload, salt=TICKET_SALT, compress=True)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def issue_ticket(
    *,
    binding: str,
    presets: list[str],
    access_token: str,
    mode: str,
    ttl: int,
    unique_filename: str = "",
    now: float | None = None,
) -> Ticket:
    now = time.time() if now is None else now
    return Ticket(
        binding=binding,
        presets=tuple(presets),
        expires=int(now) + int(ttl),
        nonce=new_nonce(),
        token_hash=token_hash(access_token),
        mode=mode,
        unique_filename=unique_filename,
    )


def read_ticket(value: object, *, now: float | None = None) -> Ticket:
    """Verify the signature and expiry; raise TicketError (403) saying which check failed."""
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise TicketError(_("The upload ticket is missing."), 400)
    try:
        data = signing.loads(value, salt=TICKET_SALT)
    except signing.BadSignature:
        raise TicketError(_("The upload ticket was not issued by this site.")) from None
    try:
        ticket = Ticket(
            binding=str(data["b"]),
            presets=tuple(str(p) for p in data["p"]),
            expires=int(data["e"]),
            nonce=str(data["n"]),
            token_hash=str(data["t"]),
            mode=str(data["m"]),
            unique_filename=str(data.get("f") or ""),
        )
    except (KeyError, TypeError, ValueError):
        raise TicketError(_("The upload ticket is malformed.")) from None
    now = time.time() if now is None else now
    if ticket.expires <= now:
        raise TicketError(_("The upload ticket has expired; please upload again."))
    return ticket


def check_binding(ticket: Ticket, request: HttpRequest, access_token: object) -> None:
    """The ticket must belong to this user/session and to the access token that was used."""
    if not constant_time_compare(ticket.binding, request_binding(request)):
        raise TicketError(_("This upload was started by someone else."))
    if not isinstance(access_token, str) or not constant_time_compare(
        ticket.token_hash, token_hash(access_token)
    ):
        raise TicketError(_("The access token does not belong to this upload ticket."))


def shared_cache() -> BaseCache:
    """The cache every web process shares for used nonces and throttle counts."""
    return caches[bgcut_settings.DIRECT_UPLOAD_CACHE]


def use_nonce(nonce: str, expires: int, *, kind: str = "ticket") -> bool:
    """Mark a nonce used; False when it already was (a replay). Kept until it expires anyway.

    ``add`` is atomic in Redis, Memcached and the database cache: of two processes racing with
    the same ticket, exactly one wins.
    """
    timeout = max(1, int(expires - time.time()) + 60)
    return bool(shared_cache().add(f"{NONCE_PREFIX}:{kind}:{nonce}", 1, timeout=timeout))


def release_nonce(nonce: str, *, kind: str = "ticket") -> None:
    """Give a nonce back after a failure that stored nothing, so the user may try again."""
    shared_cache().delete(f"{NONCE_PREFIX}:{kind}:{nonce}")


# -- local engine tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalToken:
    nonce: str
    presets: tuple[str, ...]
    expires: int
    unique_filename: str


def issue_local_token(presets: list[str], ttl: int, *, now: float | None = None) -> tuple[str, str]:
    """A signed single-use token for the site's own processing endpoint, and its unique_filename."""
    now = time.time() if now is None else now
    unique_filename = secrets.token_urlsafe(24)
    payload = {"n": new_nonce(), "p": list(presets), "e": int(now) + int(ttl), "f": unique_filename}
    return signing.dumps(payload, salt=LOCAL_TOKEN_SALT, compress=True), unique_filename


def read_local_token(value: object, *, now: float | None = None) -> LocalToken:
    """Verify a local token (401 as the API answers for a bad token)."""
    bad = TicketError(_("Missing, invalid or expired access token."), 401)
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise bad
    try:
        data = signing.loads(value, salt=LOCAL_TOKEN_SALT)
        token = LocalToken(
            nonce=str(data["n"]),
            presets=tuple(str(p) for p in data["p"]),
            expires=int(data["e"]),
            unique_filename=str(data["f"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise bad from None
    if token.expires <= (time.time() if now is None else now):
        raise bad
    return token
