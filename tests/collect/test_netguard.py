"""The address guard: what may be fetched, resolved the way the OS resolves it, and what is refused."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from pipeline.collect.netguard import blocked_reason, check_url, literal_address, parse_target
from pipeline.errors import BlockedAddress, ConnectionFailed, InvalidURL


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"an address literal must not be looked up, but {host} was")


def dns(table: dict[str, list[str]]):
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.1/", "127.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0x7f000001/feed", "127.0.0.1"),
        ("http://127.0.0.1:8080/", "127.0.0.1"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://192.168.0.1/", "192.168.0.1"),
        ("http://172.16.5.4/", "172.16.5.4"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://100.64.0.1/", "100.64.0.1"),  # carrier-grade NAT: not globally routable
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://240.0.0.1/", "240.0.0.1"),
        ("http://[::1]/", "::1"),
        ("http://[::]/", "::"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
        ("http://[::ffff:10.0.0.1]:8080/", "::ffff:a00:1"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[fd12:3456::1]/", "fd12:3456::1"),
        ("http://[ff02::1]/", "ff02::1"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),  # 6to4 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1"),  # NAT64 around 10.0.0.1
        ("https://[2001:db8::1]/", "2001:db8::1"),  # documentation range
    ],
)
def test_private_loopback_and_odd_spellings_are_blocked(url: str, address: str) -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_url(url, [], resolver=no_dns)
    assert caught.value.url == url
    assert address in str(caught.value)


def test_a_name_is_blocked_when_any_of_its_addresses_is_private() -> None:
    resolve = dns({"feeds.example.org": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(BlockedAddress, match="10.0.0.7"):
        check_url("https://feeds.example.org/rss", [], resolver=resolve)


def test_a_public_name_gives_its_checked_addresses_to_connect_to() -> None:
    resolve = dns({"feeds.example.org": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    found = check_url("https://Feeds.Example.org:8443/rss?x=1#top", [], resolver=resolve)
    assert [a.address for a in found] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert found[0].connect_url() == "https://93.184.215.14:8443/rss?x=1"
    assert found[1].connect_url() == "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/rss?x=1"
    assert found[0].target.host_header == "feeds.example.org:8443"
    assert resolve.calls == [("feeds.example.org", 8443)]  # type: ignore[attr-defined]


def test_public_addresses_carried_inside_ipv6_are_allowed() -> None:
    # DNS64 networks hand out 64:ff9b::/96 for every IPv4 site: only the embedded address matters.
    found = check_url("http://[64:ff9b::808:808]/", [], resolver=no_dns)
    assert [a.address for a in found] == ["64:ff9b::808:808"]


def test_resolved_ipv6_with_a_zone_is_still_checked() -> None:
    with pytest.raises(BlockedAddress, match="link-local"):
        check_url("http://printer.example.org/", [], resolver=dns({"printer.example.org": ["fe80::1%eth0"]}))


def test_the_system_resolver_is_used_by_default() -> None:
    # localhost comes from the hosts file: no network involved.
    with pytest.raises(BlockedAddress, match="loopback"):
        check_url("http://localhost:9/", [])


def test_allow_private_matches_host_and_effective_port() -> None:
    resolve = dns({"localhost": ["127.0.0.1", "::1"]})
    allowed = ["127.0.0.1:8080", "LOCALHOST:9000", "[::1]:8000", "intranet.example.org:443"]

    found = check_url("http://localhost:9000/feed", allowed, resolver=resolve)
    assert [(a.address, a.allowed_private) for a in found] == [("127.0.0.1", True), ("::1", True)]
    assert check_url("http://127.0.0.1:8080/", allowed, resolver=no_dns)[0].address == "127.0.0.1"
    assert check_url("http://[::1]:8000/", allowed, resolver=no_dns)[0].address == "::1"
    intranet = dns({"intranet.example.org": ["10.0.0.5"]})
    assert check_url("https://intranet.example.org/news", allowed, resolver=intranet)[0].address == "10.0.0.5"

    both = dns({"localhost": ["127.0.0.1"], "intranet.example.org": ["10.0.0.5"]})
    for url in ("http://localhost:9001/", "http://127.0.0.1/", "http://intranet.example.org/news"):
        with pytest.raises(BlockedAddress):
            check_url(url, allowed, resolver=both)


def test_allow_private_names_a_host_not_an_address() -> None:
    # "localhost:9000" does not open 127.0.0.1:9000 to URLs spelled differently.
    with pytest.raises(BlockedAddress):
        check_url("http://127.1:9000/", ["localhost:9000"], resolver=no_dns)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://example.org:70/",
        "/relative/path",
        "http:///no-host",
        "http://exa mple.org/",
        "http://user:secret@example.org/",
        "http://example.org:99999/",
        "http://example.org:0/",
        "http://example.org/\r\nX-Injected: 1",
        "http://[::1/",
        "http://%31%32%37.0.0.1/",
    ],
)
def test_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidURL) as caught:
        check_url(url, [], resolver=no_dns)
    assert caught.value.url == url


def test_international_names_are_resolved_in_ascii() -> None:
    resolve = dns({"xn--bcher-kva.example": ["93.184.215.14"]})
    found = check_url("http://Bücher.example/nyheter", [], resolver=resolve)
    assert found[0].target.host_header == "xn--bcher-kva.example"


def test_names_that_do_not_resolve_fail_as_connection_errors() -> None:
    with pytest.raises(ConnectionFailed, match="cannot resolve nowhere.example.org") as caught:
        check_url("https://nowhere.example.org/feed", [], resolver=dns({}))
    assert caught.value.url == "https://nowhere.example.org/feed"
    assert caught.value.transient
    with pytest.raises(ConnectionFailed, match="no address"):
        check_url("https://empty.example.org/", [], resolver=dns({"empty.example.org": []}))


def test_literal_address_reads_numbers_like_inet_aton() -> None:
    assert literal_address("0x7f.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("3232235521") == ipaddress.ip_address("192.168.0.1")
    assert literal_address("example.org") is None
    assert literal_address("face.bad") is None  # hex letters, but a name


def test_blocked_reason_passes_global_addresses() -> None:
    assert blocked_reason(ipaddress.ip_address("93.184.215.14")) is None
    assert blocked_reason(ipaddress.ip_address("2a00:1450:400f:80a::200e")) is None
    assert blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback (embedded in ::ffff:7f00:1)"


def test_parse_target_keeps_path_query_and_effective_port() -> None:
    target = parse_target("HTTPS://Example.ORG/a/b?c=d#frag")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "example.org", 443, "/a/b?c=d")
    assert target.host_header == "example.org"
    assert parse_target("http://example.org").path == "/"
