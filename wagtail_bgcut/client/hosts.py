"""Which URLs result files may be fetched from: origins, pinned to scheme, host AND port.

Result URLs are data we did not choose. A download is allowed from an *origin* (scheme, host,
port), never from a bare host name, so an allowed name cannot be turned into a port scanner
(``https://allowed-host:5432/``). Three sources of allowed origins, checked in this order:

1. **deny list** (``deny``): host patterns refused always, even when an API response names them.
2. **configured** (``patterns`` and ``trusted``): ``download_hosts`` entries (``host``,
   ``*.suffix`` or ``https://host:port``; a bare entry means https on port 443) and the API base
   URLs themselves, at exactly their scheme and port. An exact entry is trusted wherever it points
   (someone wrote it down on purpose); a ``*.suffix`` match must resolve to public addresses.
3. **named by the API** (:meth:`HostPolicy.remember`, or ``named=True``): an origin that an
   authenticated API response gave us (``output_urls``, ``output_url``, ``input_url``). The pages
   promise only "https://..." URLs, so such an origin must be https and resolve to public addresses,
   unless ``local_results`` is set (the bundled emulator: http and loopback addresses allowed, never
   private ranges). An ``allow`` list, when given, narrows these to matching hosts.

The address the connection actually reached is checked again after connecting (:meth:`check_peer`).
Behind a proxy (``HTTPS_PROXY``/``NO_PROXY``, honoured as ``requests`` does) the peer is the proxy,
so that check is skipped, and a host our own DNS cannot resolve is left to the proxy.

Refusals never say whether anything listens on the refused origin: nothing is connected to before
the origin is allowed, and the message names the rule, not the port's state.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests

from .exceptions import DownloadError, TransportError

__all__ = ["HostPolicy", "Origin", "is_loopback_address", "is_public_address", "origin_of"]

Resolver = Callable[[str], Iterable[str]]
Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}
# How many API-named origins a client remembers (real responses name one or two CDN hosts).
MAX_REMEMBERED = 256


def _default_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 is unwrapped first)."""
    ip = _ip(address)
    return ip is not None and ip.is_global and not ip.is_multicast


def is_loopback_address(address: str) -> bool:
    ip = _ip(address)
    return ip is not None and ip.is_loopback


def origin_of(url: str) -> Origin:
    """(scheme, host, port) of ``url``; DownloadError for what is not an http(s) URL with a host."""
    if not isinstance(url, str) or not url:
        raise DownloadError("the result URL is empty")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise DownloadError("the result URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise DownloadError(f"only http(s) result URLs are fetched, not {parts.scheme!r}")
    if parts.username is not None or parts.password is not None:
        raise DownloadError("result URLs with credentials in them are refused")
    if not host:
        raise DownloadError("the result URL has no host")
    return scheme, _normalise_host(host), port or DEFAULT_PORTS[scheme]


def _pattern(entry: str) -> tuple[str | None, str, int | None]:
    """A configured entry as (scheme, host pattern, port); bare entries mean https:443."""
    entry = entry.strip()
    if "://" in entry:
        scheme, host, port = origin_of(entry)
        return scheme, host, port
    host = _normalise_host(entry)
    if "*" in host and not (host.startswith("*.") and "*" not in host[2:]):
        raise ValueError(
            f"download host pattern {entry!r}: only a leading '*.' wildcard is allowed"
        )
    return "https", host, 443


def _host_matches(pattern: str, host: str) -> bool:
    return host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern


def uses_proxy(url: str, session: requests.Session | None = None) -> bool:
    """Whether ``requests`` would send ``url`` through a proxy (session proxies or the env)."""
    scheme = urlsplit(url).scheme
    if session is not None and session.proxies.get(scheme):
        return True
    if session is not None and not session.trust_env:
        return False
    return bool(requests.utils.get_environ_proxies(url).get(scheme))


class HostPolicy:
    """The download allow-list (see the module docstring for the rules)."""

    def __init__(
        self,
        patterns: Iterable[str],
        trusted: Iterable[str] = (),
        *,
        deny: Iterable[str] = (),
        allow: Iterable[str] | None = None,
        local_results: bool = False,
        resolver: Resolver | None = None,
    ):
        if isinstance(patterns, str):
            patterns = [patterns]
        self.configured = [_pattern(p) for p in patterns if p and p.strip()]
        # API bases: exactly their origin (a base given as a bare host means https:443).
        self.trusted = {_pattern(t) for t in trusted if t}
        self.deny = [_pattern(d)[1] for d in ([deny] if isinstance(deny, str) else deny) if d]
        if isinstance(allow, str):
            allow = [allow]
        self.allow = None if allow is None else [_pattern(a)[1] for a in allow if a]
        self.local_results = bool(local_results)
        self._named: OrderedDict[Origin, None] = OrderedDict()
        self._lock = threading.Lock()
        self._resolve = resolver or _default_resolver

    def __repr__(self) -> str:
        shown = sorted(f"{s}://{h}:{p}" for s, h, p in {*self.configured, *self.trusted})
        return f"<HostPolicy {' '.join(shown)}>"

    # -- origins named by authenticated API responses --------------------------------------------
    def remember(self, url: str | None) -> None:
        """Record the origin of a URL an authenticated API response gave us (bad URLs ignored)."""
        if not url:
            return
        try:
            origin = origin_of(url)
        except DownloadError:
            return
        with self._lock:
            self._named[origin] = None
            self._named.move_to_end(origin)
            while len(self._named) > MAX_REMEMBERED:
                self._named.popitem(last=False)

    def is_named(self, origin: Origin) -> bool:
        with self._lock:
            return origin in self._named

    # -- the checks ------------------------------------------------------------------------------
    def _configured(self, origin: Origin) -> tuple[bool, bool]:
        """(allowed, exact): whether a configured entry or an API base allows this origin."""
        scheme, host, port = origin
        if origin in self.trusted:
            return True, True
        for p_scheme, p_host, p_port in self.configured:
            if p_scheme == scheme and p_port == port and _host_matches(p_host, host):
                return True, not p_host.startswith("*.")
        return False, False

    def classify(self, url: str, *, named: bool = False) -> tuple[Origin, str]:
        """The URL's origin and why it is allowed: "exact", "wildcard" or "named".

        Raises DownloadError when no rule allows it (before anything is connected to).
        """
        origin = origin_of(url)
        scheme, host, _port = origin
        if any(_host_matches(d, host) for d in self.deny):
            raise DownloadError(f"host {host!r} is on the download deny list")
        allowed, exact = self._configured(origin)
        if allowed:
            return origin, "exact" if exact else "wildcard"
        if named or self.is_named(origin):
            if self.allow is not None and not any(_host_matches(a, host) for a in self.allow):
                raise DownloadError(f"host {host!r} is not on the download allow list")
            if scheme != "https" and not self.local_results:
                raise DownloadError("result URLs named by the API are fetched over https only")
            return origin, "named"
        raise DownloadError(
            "the result URL is not an allowed download host (scheme, host and port)"
        )

    def _address_ok(self, address: str, rule: str) -> bool:
        if is_public_address(address):
            return True
        return rule == "named" and self.local_results and is_loopback_address(address)

    def check_url(self, url: str, *, named: bool = False, proxied: bool = False) -> tuple[str, str]:
        """(host, rule) if a download from ``url`` is allowed; DownloadError if not."""
        origin, rule = self.classify(url, named=named)
        host = origin[1]
        if rule == "exact":
            return host, rule
        try:
            addresses = list(self._resolve(host))
        except OSError:
            addresses = []
        if not addresses:
            if proxied:  # the proxy resolves it, and the proxy is the one that connects
                return host, rule
            raise TransportError(f"could not resolve {host!r}", request_sent=False)
        refused = [a for a in addresses if not self._address_ok(a, rule)]
        if refused:
            raise DownloadError(
                f"host {host!r} resolves to a non-public address ({refused[0]}); "
                "list its origin exactly in download_hosts if that is intended"
            )
        return host, rule

    def check_peer(self, host: str, rule: str, peer: str | None, *, proxied: bool) -> None:
        """Refuse a connection that landed on an address the rule does not allow."""
        if peer is None or proxied or rule == "exact":
            return
        if not self._address_ok(peer, rule):
            raise DownloadError(f"host {host!r} connected to a non-public address ({peer})")
