"""The download allow-list, with an injected resolver instead of real DNS."""

from __future__ import annotations

import pytest

from wagtail_bgcut.client import DownloadError, TransportError
from wagtail_bgcut.client.hosts import HostPolicy, is_public_address

PUBLIC = "93.184.216.34"


def policy(resolve: dict[str, list[str]] | None = None, trusted=("127.0.0.1",)):
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
    p = HostPolicy(["files.internal"], resolver=lambda h: ["10.0.0.8"])
    assert p.check_url("http://files.internal/x.png") == "files.internal"
    p.check_peer("files.internal", "10.0.0.8")  # no error


def test_peer_check_refuses_a_wildcard_host_that_connected_somewhere_private():
    p = policy()
    p.check_peer("cdn.backgroundcut.co", PUBLIC)
    with pytest.raises(DownloadError, match="non-public"):
        p.check_peer("cdn.backgroundcut.co", "10.0.0.1")


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
