"""A loopback HTTP server for the bundled demo samples, with dates that are always fresh.

The sample files hold two kinds of placeholder, rewritten on every response:
- ``{{base}}`` becomes ``http://127.0.0.1:PORT``, so links point back at this server;
- ``{{date:SPEC|FORMAT}}`` becomes a date relative to the server's ``now`` (see `resolve_date` and
  `format_date`), so `run.py demo` always has news from the last ten days.

It behaves like a polite real site: right Content-Type, ETag and Last-Modified, 304 to a matching
If-None-Match or If-Modified-Since, a permissive robots.txt, and it logs nothing.
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

SAMPLES_DIR = Path(__file__).with_name("samples")

PLACEHOLDER = re.compile(r"\{\{\s*(?:(?P<base>base)|date:(?P<spec>[^}|]+?)(?:\|(?P<fmt>[a-z0-9]+))?)\s*\}\}")
_SPEC = re.compile(
    r"^(?:(?P<now>now)|(?P<offsets>(?:-\d+[dhm])+)(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2}))?)$"
)
_OFFSET = re.compile(r"-(\d+)([dhm])")
_IMAGE = re.compile(r"^/images/(?P<name>[a-z0-9-]{1,64})\.png$")

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
MONTHS_NO = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
             "oktober", "november", "desember")
FORMATS = ("rfc822", "rfc3339", "en", "no")
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"


# --- placeholders (pure) -------------------------------------------------------------------------------


def resolve_date(spec: str, now: datetime, tz: tzinfo) -> datetime:
    """The moment a date spec names, in `tz`, never after `now`.

    ``now`` is `now` itself; ``-3d 09:30`` is 09:30 local time three calendar days ago; ``-5h`` and
    ``-1d2h`` are plain offsets from `now`. A time of day still ahead today moves to the day before, so
    no sample is ever dated in the future.
    """
    m = _SPEC.match(spec.strip())
    if m is None:
        raise ValueError(f"bad date placeholder {spec!r}: write now, -3d 09:30 or -5h")
    local_now = now.astimezone(tz)
    if m["now"]:
        return local_now
    offsets = {"d": 0, "h": 0, "m": 0}
    for amount, unit in _OFFSET.findall(m["offsets"]):
        offsets[unit] += int(amount)
    if m["hour"] is None:
        return local_now - timedelta(days=offsets["d"], hours=offsets["h"], minutes=offsets["m"])
    day: date = local_now.date() - timedelta(days=offsets["d"])
    when = datetime.combine(day, time(int(m["hour"]), int(m["minute"])), tzinfo=tz)
    when -= timedelta(hours=offsets["h"], minutes=offsets["m"])
    if when > local_now:
        when -= timedelta(days=1)
    return when


def format_date(when: datetime, fmt: str) -> str:
    """`when` as RSS (RFC 822), Atom/HTML (RFC 3339), or as English or Norwegian people write it."""
    if fmt == "rfc822":
        return format_datetime(when)
    if fmt == "rfc3339":
        return when.isoformat(timespec="seconds")
    if fmt == "en":
        return f"{when.day} {MONTHS_EN[when.month - 1]} {when.year}"
    if fmt == "no":
        return f"{when.day}. {MONTHS_NO[when.month - 1]} {when.year}"
    raise ValueError(f"unknown date format {fmt!r}: use one of {', '.join(FORMATS)}")


def render_sample(text: str, *, base_url: str, now: datetime, tz: tzinfo,
                  default_format: str = "rfc3339") -> tuple[str, datetime | None]:
    """The sample with every placeholder replaced, and the newest date it now carries (or None)."""
    newest: list[datetime] = []

    def replace(m: re.Match[str]) -> str:
        if m["base"]:
            return base_url
        when = resolve_date(m["spec"], now, tz)
        newest.append(when)
        return format_date(when, m["fmt"] or default_format)

    out = PLACEHOLDER.sub(replace, text)
    return out, (max(newest) if newest else None)


def document_type(path: Path, head: str) -> str:
    """The Content-Type of a sample file; XML is sniffed for RSS or Atom."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        if re.search(r"<feed[\s>]", head):
            return "application/atom+xml; charset=utf-8"
        if re.search(r"<rss[\s>]", head):
            return "application/rss+xml; charset=utf-8"
        return "application/xml; charset=utf-8"
    return {
        ".html": "text/html; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        ".json": "application/json",
    }.get(suffix, "application/octet-stream")


def sample_paths(samples_dir: Path = SAMPLES_DIR) -> list[str]:
    """The URL path of every sample file; an index file is served at its folder's path."""
    out = []
    for f in sorted(samples_dir.rglob("*")):
        if not f.is_file() or f.name.startswith("."):
            continue
        rel = f.relative_to(samples_dir).as_posix()
        if f.name in ("index.html", "index.xml"):
            rel = rel[: -len(f.name)]
        out.append("/" + rel)
    return out


def png_image(name: str, width: int = 480, height: int = 270) -> bytes:
    """A small PNG with a vertical gradient whose colours come from `name` (no Pillow needed)."""
    seed = hashlib.sha256(name.encode()).digest()
    top, bottom = seed[0:3], seed[3:6]
    rows = []
    for y in range(height):
        t = y / max(height - 1, 1)
        colour = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\x00" + colour * width)  # filter byte 0, then RGB pixels

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


# --- HTTP semantics (pure) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: datetime | None = None


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str | None,
                 last_modified: datetime | None) -> bool:
    """Whether a conditional GET is answered with 304. If-None-Match, when sent, decides alone (RFC 9110)."""
    inm, ims = if_none_match, if_modified_since
    if inm is not None:
        if etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    if ims is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


# --- the site ------------------------------------------------------------------------------------------


class _Site:
    """Renders sample files once per path (the base URL and `now` never change for one server)."""

    def __init__(self, samples_dir: Path, now: datetime, tz: tzinfo) -> None:
        self.root = samples_dir.resolve()
        self.now = now
        self.tz = tz
        self.base_url = ""
        self._cache: dict[str, Response | None] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> Response | None:
        with self._lock:
            if path not in self._cache:
                self._cache[path] = self._build(path)
            return self._cache[path]

    def _build(self, path: str) -> Response | None:
        if path == "/robots.txt":
            return Response(200, "text/plain; charset=utf-8", ROBOTS_TXT, etag_of(ROBOTS_TXT), self.now)
        image = _IMAGE.match(path)
        if image:
            body = png_image(image["name"])
            return Response(200, "image/png", body, etag_of(body), self.now)
        file = self._file_for(path)
        if file is None:
            return None
        text = file.read_text(encoding="utf-8")
        ctype = document_type(file, text[:2000])
        default = "rfc822" if ctype.startswith("application/rss+xml") else "rfc3339"
        rendered, newest = render_sample(text, base_url=self.base_url, now=self.now, tz=self.tz,
                                         default_format=default)
        body = rendered.encode("utf-8")
        return Response(200, ctype, body, etag_of(body), newest or self.now)

    def _file_for(self, path: str) -> Path | None:
        parts = [p for p in unquote(path).split("/") if p]
        if any(p in (".", "..") or "\\" in p or p.startswith(".") for p in parts):
            return None
        candidate = self.root.joinpath(*parts)
        if candidate.is_dir():
            indexes = [candidate / n for n in ("index.html", "index.xml") if (candidate / n).is_file()]
            candidate = indexes[0] if indexes else candidate
        try:
            candidate.resolve().relative_to(self.root)
        except ValueError:
            return None
        return candidate if candidate.is_file() else None


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "DemoSamples/1.0"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        response = self.server.site.get(urlsplit(self.path).path)
        if response is None:
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
            return
        if not_modified(self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"),
                        response.etag, response.last_modified):
            self.send_response(304)
            self._validators(response)
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self._validators(response)
        self.end_headers()
        if with_body:
            self.wfile.write(response.body)

    def _validators(self, response: Response) -> None:
        if response.etag:
            self.send_header("ETag", response.etag)
        if response.last_modified:
            self.send_header("Last-Modified", http_date(response.last_modified))
        self.send_header("Cache-Control", "max-age=0, must-revalidate")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Silent: the demo prints its own summary, not an access log."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    site: _Site

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: a client closing early (a 304, a timeout) is not worth a traceback on stderr."""


# --- public --------------------------------------------------------------------------------------------


class DemoServer:
    """Serves the samples on 127.0.0.1 on an ephemeral port, in a daemon thread.

    ``with DemoServer(now) as server:`` then fetch ``server.url("/nykode/")``; `base_url` and `host_port`
    ("127.0.0.1:PORT", for ``settings.http.allow_private``) are known once it has started.
    """

    def __init__(self, now: datetime, *, samples_dir: Path = SAMPLES_DIR, tz: str = "Europe/Oslo",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now = now
        self._site = _Site(samples_dir, now, ZoneInfo(tz))
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(self._address, _Handler)
        httpd.site = self._site
        self._httpd = httpd
        self._site.base_url = f"http://{self.host_port}"
        self._thread = threading.Thread(target=httpd.serve_forever, name="demo-samples", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def host_port(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the demo server has not started")
        host, port = self._httpd.server_address[:2]
        return f"{host if isinstance(host, str) else host.decode()}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host_port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def paths(self) -> list[str]:
        """Every sample's URL path (feeds, pages, articles), for tests and for the demo's summary."""
        return sample_paths(self._site.root)
