"""Pure checks and rewrites of the links an email carries.

Every link in a digest must be absolute http(s); a link that is not is left out of the output (render) or
reported (lint). Nothing here touches the network: "private host" means what the URL itself says (a
literal private IP address or a name that only resolves inside a network), not what DNS would answer.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Names that only mean something inside one machine or one network (RFC 6761, RFC 6762, common practice).
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")


def http_url_problem(url: str) -> str | None:
    """Why `url` is not a well-formed absolute http(s) URL, or None when it is."""
    if not url or url != url.strip():
        return "empty or surrounded by whitespace"
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        return f"malformed: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"scheme {parts.scheme or '(none)'!r} is not http(s)"
    host = parts.hostname
    if not host:
        return "has no host"
    if port == 0:
        return "port 0"
    if parts.username or parts.password:
        return "carries credentials"
    if _literal_ip(host) is None and not _valid_hostname(host):
        return f"host {host!r} is not a valid name"
    return None


def is_http_url(url: str | None) -> bool:
    return url is not None and http_url_problem(url) is None


def private_host_problem(url: str) -> str | None:
    """Why `url` points at a loopback or private host (judged from the URL alone), or None."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if not host:
        return None
    ip = _literal_ip(host)
    if ip is not None:
        if ip.is_loopback:
            return f"{host} is a loopback address"
        if not ip.is_global:
            return f"{host} is a private, link-local or reserved address"
        return None
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return f"{host} is a local or internal name"
    if "." not in host:
        return f"{host} is a single-label name that only resolves inside a network"
    return None


def with_utm(url: str, params: tuple[tuple[str, str], ...]) -> str:
    """`url` with UTM parameters added; parameters the link already carries are kept as they are."""
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query.extend((k, v) for k, v in params if k not in present)
    return urlunsplit(parts._replace(query=urlencode(query)))


def utm_params(digest_id: int, medium: str = "email") -> tuple[tuple[str, str], ...]:
    return (("utm_source", "newsletter"), ("utm_medium", medium), ("utm_campaign", f"digest-{digest_id}"))


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _valid_hostname(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(
        0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-"
        and all(c.isalnum() or c in "-_" for c in label)
        for label in labels
    )
