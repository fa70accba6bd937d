"""The download allow-list, with an injected resolver instead of real DNS."""

from __future__ import annotations

import pytest

from wagtail_bgcut.client import DownloadError, TransportError
from wagtail_bgcut.client.hosts import HostPolicy, is_public_address

PUBLIC = "93.184.216.34"


def policy(resolve: dict[str, list[str]] | None = None, trusted=("http://127.0.0.1:8765",)):
    table = resolve or {}

    def resolver(host):
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return HostPolicy(("backgroundcut.co", "*.backgroundcut.co"), trusted, resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "https://backgroundcut.co/r/1.png",
        "https://cdn.backgroundcut.co/r/1.png",
        "https://a.b.backgroundcut.co/r/1.png",
        "http://127.0.0.1:8765/files/x.png",
        "HTTPS://CDN.BackgroundCut.CO./r.png",
    ],
)
def test_allowed_urls(url):
    p = policy({"cdn.backgroundcut.co": [PUBLIC], "a.b.backgroundcut.co": [PUBLIC]})
    assert p.check_url(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://evil.example/x.png", "not an allowed download host"),
        ("https://backgroundcut.co.evil.example/x.png", "not an allowed"),
        ("https://evilbackgroundcut.co/x.png", "not an allowed"),
        ("ftp://backgroundcut.co/x.png", "only http(s)"),
        ("file:///etc/passwd", "only http(s)"),
        ("https://user:pw@backgroundcut.co/x.png", "credentials"),
        ("http://127.0.0.2/x.png", "not an allowed"),
        ("https:///x.png", "no host"),
        ("https://backgroundcut.co:99999/x.png", "malformed"),
        ("", "empty"),
    ],
)
def test_refused_urls(url, words):
    with pytest.raises(DownloadError, match=words.replace("(", r"\(").replace(")", r"\)")):
        policy().check_url(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.9",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_wildcard_hosts_resolving_to_non_public_addresses_are_refused(address):
    p = policy({"cdn.backgroundcut.co": [PUBLIC, address]})
    with pytest.raises(DownloadError, match="non-public address"):
        p.check_url("https://cdn.backgroundcut.co/x.png")


def test_explicitly_listed_hosts_may_be_private():
    p = HostPolicy(["http://files.internal"], resolver=lambda h: ["10.0.0.8"])
    assert p.check_url("http://files.internal/x.png") == ("files.internal", "exact")
    p.check_peer("files.internal", "exact", "10.0.0.8", proxied=False)  # no error


def test_peer_check_refuses_a_wildcard_host_that_connected_somewhere_private():
    p = policy()
    p.check_peer("cdn.backgroundcut.co", "wildcard", PUBLIC, proxied=False)
    with pytest.raises(DownloadError, match="non-public"):
        p.check_peer("cdn.backgroundcut.co", "wildcard", "10.0.0.1", proxied=False)


def test_behind_a_proxy_the_peer_is_the_proxy_and_is_not_held_against_the_host():
    policy().check_peer("cdn.backgroundcut.co", "wildcard", "10.0.0.1", proxied=True)


def test_behind_a_proxy_a_host_our_dns_cannot_resolve_is_left_to_the_proxy():
    p = policy()
    assert p.check_url("https://cdn.backgroundcut.co/x.png", proxied=True)
    with pytest.raises(TransportError):
        p.check_url("https://cdn.backgroundcut.co/x.png", proxied=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://backgroundcut.co:5432/x.png",  # an allowed name on another port
        "http://backgroundcut.co/x.png",  # an allowed name on another scheme
        "http://127.0.0.1:6379/x.png",  # the API base's host, another port
        "https://127.0.0.1:8765/x.png",  # the API base's port, another scheme
    ],
)
def test_allowed_hosts_are_pinned_to_their_scheme_and_port(url):
    with pytest.raises(DownloadError, match="not an allowed download host") as info:
        policy({"backgroundcut.co": [PUBLIC]}).check_url(url)
    # The refusal is the same whatever listens there: nothing was connected to.
    assert str(info.value) == (
        "the result URL is not an allowed download host (scheme, host and port)"
    )


def test_an_origin_named_by_the_api_is_allowed_over_https_to_public_addresses():
    p = policy({"results.example-cdn.net": [PUBLIC], "inner.example-cdn.net": ["10.1.1.1"]})
    url = "https://results.example-cdn.net/a/full.png"
    with pytest.raises(DownloadError):
        p.check_url(url)
    p.remember(url)
    assert p.check_url(url) == ("results.example-cdn.net", "named")
    assert p.check_url("https://results.example-cdn.net/other.png")[1] == "named"
    with pytest.raises(DownloadError, match="not an allowed download host"):
        p.check_url("https://results.example-cdn.net:8443/a/full.png")  # another port
    with pytest.raises(DownloadError, match="non-public"):
        p.check_url("https://inner.example-cdn.net/x.png", named=True)
    with pytest.raises(DownloadError, match="https only"):
        p.check_url("http://results.example-cdn.net/x.png", named=True)


def test_deny_and_allow_lists_narrow_the_origins_the_api_names():
    table = {"a.example.net": [PUBLIC], "b.example.net": [PUBLIC]}
    p = HostPolicy(
        ["*.backgroundcut.co"],
        deny=["b.example.net", "*.backgroundcut.co"],
        resolver=lambda h: table[h],
    )
    assert p.check_url("https://a.example.net/x.png", named=True)
    with pytest.raises(DownloadError, match="deny list"):
        p.check_url("https://b.example.net/x.png", named=True)
    with pytest.raises(DownloadError, match="deny list"):
        p.check_url("https://cdn.backgroundcut.co/x.png")  # deny beats a configured entry
    only_a = HostPolicy([], allow=["a.example.net"], resolver=lambda h: table[h])
    assert only_a.check_url("https://a.example.net/x.png", named=True)
    with pytest.raises(DownloadError, match="allow list"):
        only_a.check_url("https://b.example.net/x.png", named=True)


def test_local_result_hosts_allow_http_loopback_only_for_named_origins():
    table = {"localhost": ["127.0.0.1"], "lan": ["192.168.1.5"]}
    p = HostPolicy([], local_results=True, resolver=lambda h: table[h])
    assert p.check_url("http://localhost:9/x.png", named=True) == ("localhost", "named")
    with pytest.raises(DownloadError, match="non-public"):
        p.check_url("http://lan:9/x.png", named=True)  # private ranges stay refused
    with pytest.raises(DownloadError, match="not an allowed"):
        p.check_url("http://localhost:9/x.png")  # not named


def test_unresolvable_hosts_are_a_transport_error_that_never_left():
    with pytest.raises(TransportError) as info:
        policy().check_url("https://nowhere.backgroundcut.co/x.png")
    assert info.value.request_sent is False


def test_only_leading_wildcards_are_accepted():
    with pytest.raises(ValueError, match="wildcard"):
        HostPolicy(["cdn.*.example.com"])


def test_public_address_classification():
    assert is_public_address(PUBLIC)
    assert is_public_address("2606:4700::1111")
    assert not is_public_address("not-an-ip")
