"""Which URLs result files may be fetched from.

Result URLs come from the API's JSON, so they are data we did not choose. Before every hop we check
the scheme (http/https), that the URL carries no credentials, and that the host is allowed: listed
exactly, matched by a ``*.suffix`` pattern, or the host of one of the configured API base URLs.

Hosts reached only through a wildcard must also resolve to public addresses: a DNS record under an
allowed suffix that points at 127.0.0.1, 10.x, 169.254.169.254 (cloud metadata) or similar is
refused. An explicitly configured host (an exact entry, or an API base URL such as the emulator on
127.0.0.1) is trusted wherever it points, because someone wrote it down on purpose. The address the
connection actually reached is checked again after connecting (:meth:`HostPolicy.check_peer`), which
closes the window between our DNS lookup and the connection's own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from .exceptions import DownloadError, TransportError

__all__ = ["HostPolicy", "is_public_address"]

Resolver = Callable[[str], Iterable[str]]


def _default_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 is unwrapped first)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class HostPolicy:
    """The download allow-list. ``trusted`` are the API base URLs' hosts (always allowed)."""

    def __init__(
        self,
        patterns: Iterable[str],
        trusted: Iterable[str] = (),
        *,
        resolver: Resolver | None = None,
    ):
        if isinstance(patterns, str):
            patterns = [patterns]
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        for pattern in patterns:
            pattern = _normalise_host(pattern)
            if not pattern:
                continue
            if pattern.startswith("*."):
                self.suffixes.append(pattern[1:])  # keeps the dot: ".backgroundcut.co"
            elif "*" in pattern:
                raise ValueError(
                    f"download host pattern {pattern!r}: only a leading '*.' wildcard is allowed"
                )
            else:
                self.exact.add(pattern)
        self.exact.update(_normalise_host(h) for h in trusted if h)
        self._resolve = resolver or _default_resolver

    def __repr__(self) -> str:
        shown = sorted(self.exact) + sorted("*" + s for s in self.suffixes)
        return f"<HostPolicy {' '.join(shown)}>"

    def is_explicit(self, host: str) -> bool:
        return _normalise_host(host) in self.exact

    def matches(self, host: str) -> bool:
        host = _normalise_host(host)
        return host in self.exact or any(host.endswith(s) for s in self.suffixes)

    def check_url(self, url: str) -> str:
        """Return the URL's host if a download from it is allowed; raise DownloadError if not."""
        if not isinstance(url, str) or not url:
            raise DownloadError("the result URL is empty")
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise DownloadError("the result URL is malformed")
        if parts.scheme not in ("http", "https"):
            raise DownloadError(f"only http(s) result URLs are fetched, not {parts.scheme!r}")
        if parts.username is not None or parts.password is not None:
            raise DownloadError("result URLs with credentials in them are refused")
        if not host:
            raise DownloadError("the result URL has no host")
        host = _normalise_host(host)
        if not self.matches(host):
            raise DownloadError(f"host {host!r} is not an allowed download host")
        if not self.is_explicit(host):
            try:
                addresses = list(self._resolve(host))
            except OSError as exc:
                raise TransportError(
                    f"could not resolve {host!r}: {exc.strerror or exc}", request_sent=False
                ) from None
            if not addresses:
                raise TransportError(f"could not resolve {host!r}", request_sent=False)
            private = [a for a in addresses if not is_public_address(a)]
            if private:
                raise DownloadError(
                    f"host {host!r} resolves to a non-public address ({private[0]}); "
                    "list it exactly in download_hosts if that is intended"
                )
        return host

    def check_peer(self, host: str, peer: str | None) -> None:
        """Refuse a connection to a wildcard-matched host that landed on a non-public address."""
        if peer is None or self.is_explicit(host):
            return
        if not is_public_address(peer):
            raise DownloadError(f"host {host!r} connected to a non-public address ({peer})")
