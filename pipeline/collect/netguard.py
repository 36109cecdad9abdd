"""The address guard: which URLs the fetcher may reach, and at which address.

URLs come from members and from redirects, so a URL could point the fetcher at the cluster's own network
(a router, a metadata service, a database on localhost). Before every request, the fetcher asks
`check_url`, which parses the URL, resolves its host the way the operating system would (so odd spellings
like `127.1`, `2130706433`, `0x7f.1` or `0177.0.0.1` are seen as what they are), and refuses the URL if
ANY address is not globally routable. The fetcher then connects to an address returned here, never
resolving the name again, which closes the DNS-rebinding window.

Everything here is pure except `resolve_host`, the one resolver edge, which callers may replace.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from pipeline.errors import BlockedAddress, ConnectionFailed, InvalidURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Resolves a host name to IP address strings, like `socket.getaddrinfo` does.
Resolver = Callable[[str, int], Iterable[str]]

DEFAULT_PORTS = {"http": 80, "https": 443}

# An ASCII host name after IDNA encoding (underscores occur in real names even if not in the RFCs).
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
# What inet_aton may accept as an IPv4 address: digits, dots and hex (0x7f.1, 0177.0.0.1, 2130706433).
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")
# NAT64 well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """A URL taken apart into what a connection needs."""

    scheme: str  # "http" or "https"
    host: str  # lower-case ASCII (IDNA) host, without brackets
    port: int  # the effective port
    explicit_port: bool  # whether the URL named the port (then the Host header names it too)
    path: str  # path and query, "/" at least

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    @property
    def authority(self) -> str:
        """`host:port` as `HttpSettings.allow_private` spells it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class ResolvedAddress:
    """One address the fetcher may connect to for a URL, and how to speak to it."""

    target: Target
    address: str  # the IP address to connect to
    allowed_private: bool = False  # let through by `allow_private` although not globally routable

    @property
    def host(self) -> str:
        return self.target.host

    def connect_url(self) -> str:
        """The URL with the host replaced by the checked address: the request goes there and nowhere else."""
        ip = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.target.scheme}://{ip}:{self.target.port}{self.target.path}"


def check_url(
    url: str, allow_private: Iterable[str], resolver: Resolver | None = None
) -> list[ResolvedAddress]:
    """The addresses `url` may be fetched from; raise InvalidURL, BlockedAddress or ConnectionFailed.

    A host listed in `allow_private` as `host:port` (matched on the URL's lower-case host and effective
    port) may resolve to private addresses; every other host must resolve to global addresses only.
    """
    target = parse_target(url)
    addresses = _resolve(url, target, resolver or resolve_host)
    allowed = target.authority in {a.strip().lower() for a in allow_private}
    out = []
    for ip in addresses:
        reason = blocked_reason(ip)
        if reason is not None and not allowed:
            where = f"{target.host} is" if str(ip) == target.host else f"{target.host} resolves to {ip},"
            raise BlockedAddress(
                url,
                f"{where} a {reason} address "
                f"(to allow it, add '{target.authority}' to settings.http.allow_private)",
            )
        out.append(ResolvedAddress(target, str(ip), allowed_private=reason is not None))
    return out


def parse_target(url: str) -> Target:
    """Take an http(s) URL apart; raise InvalidURL for anything else."""
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidURL(url, "the URL contains control characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(url, f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(url, f"only http and https URLs can be fetched, not {scheme or 'a relative URL'!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(url, "URLs with a user name or password are not fetched")
    host = _ascii_host(url, parts)
    if port == 0:
        raise InvalidURL(url, "port 0 is not a valid port")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port or DEFAULT_PORTS[scheme], port is not None, path)


def _ascii_host(url: str, parts: SplitResult) -> str:
    host = parts.hostname  # lower-cased, brackets removed
    if not host:
        raise InvalidURL(url, "the URL has no host")
    if ":" in host:  # an IPv6 literal; urlsplit has checked its brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidURL(url, f"{host!r} is not a valid IPv6 address") from None
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidURL(url, f"{host!r} is not a valid host name") from None
    if not _HOSTNAME.match(ascii_host):
        raise InvalidURL(url, f"{host!r} is not a valid host name")
    return ascii_host


def literal_address(host: str) -> IPAddress | None:
    """The address a host spells directly, read the way the OS reads it (inet_aton), or None for a name."""
    try:
        return _unscoped(ipaddress.ip_address(host))
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            # inet_aton is what getaddrinfo uses for numeric hosts: 127.1, 2130706433, 0x7f.1, 0177.0.0.1
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be reached from a fetcher of public URLs, or None if it is globally routable."""
    embedded = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if embedded is not None:
        # The packets go to the embedded IPv4 address, so that address decides (64:ff9b::/96 itself is
        # "reserved", yet on DNS64 networks every IPv4 site resolves into it).
        inner = blocked_reason(embedded)
        return None if inner is None else f"{inner} (embedded in {ip})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def resolve_host(host: str, port: int) -> list[str]:
    """The default resolver: every address the system resolver gives for `host` (the one I/O edge here)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve(url: str, target: Target, resolver: Resolver) -> list[IPAddress]:
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    try:
        names = list(resolver(target.host, target.port))
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise ConnectionFailed(url, f"cannot resolve {target.host}: {exc}") from None
    addresses: list[IPAddress] = []
    for name in names:
        try:
            addresses.append(_unscoped(ipaddress.ip_address(name)))
        except ValueError:
            raise ConnectionFailed(url, f"the resolver gave {name!r} for {target.host}") from None
    if not addresses:
        raise ConnectionFailed(url, f"{target.host} resolves to no address")
    return addresses


def _unscoped(ip: IPAddress) -> IPAddress:
    """Drop an IPv6 zone (fe80::1%eth0): it says which interface, not which address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    return ip
