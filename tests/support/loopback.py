"""A small threaded HTTP server on 127.0.0.1 whose routes tests register.

Usage::

    with LoopbackServer() as server:
        server.reply("/feed", Reply(body=b"<rss/>", headers={"Content-Type": "application/rss+xml"}))
        server.replies("/flaky", [Reply(status=500), Reply(body=b"ok")])   # one per request, last repeats
        server.redirect("/old", "/new")
        server.reply("/big", gzip_reply(b"\\0" * 50_000_000))
        server.reply("/drip", Reply(body=b"x" * 100, drip_s=1.0))           # one byte a second
        server.reply("/hang", Reply(hang_s=30))                              # never answers (until stop)
        server.reply("/slow", Reply(body=b"ok", delay_s=0.2))                # answers after a pause
        server.route("/echo", lambda req: Reply(body=req.header("User-Agent").encode()))
        server.reply("/junk", Reply(raw=b"not http at all\\r\\n\\r\\n"))
        ...fetch server.url("/feed")...
        assert server.requests_for("/feed")[0].header("If-None-Match") == '"v1"'
        assert server.max_concurrent("/slow") <= 2

The server speaks HTTP/1.1 with keep-alive, records every request (method, path, headers) and the highest
number of requests it handled at once per path. Pass an `ssl.SSLContext` to serve HTTPS (see `tls.py`).
Slow, dripping and hanging replies end promptly when the server stops, so tests never wait on them.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # pause before sending anything (headers included)
    drip_s: float | None = None  # send the body one byte at a time, this many seconds apart
    hang_s: float | None = None  # send nothing at all for this long (or until the server stops)
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    raw: bytes | None = None  # send exactly these bytes (not HTTP, if you like) and close the connection


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # the request target as sent, query included
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first value of a header, matched case-insensitively, or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


Handler = Callable[[RecordedRequest], Reply]


def gzip_reply(data: bytes, *, content_type: str = "text/plain", level: int = 9) -> Reply:
    """A reply whose body is `data` gzipped, with `Content-Encoding: gzip`."""
    body = gzip.compress(data, compresslevel=level)
    return Reply(body=body, headers={"Content-Type": content_type, "Content-Encoding": "gzip"})


class LoopbackServer:
    """A threaded HTTP(S) server on 127.0.0.1 with registered routes and a request log."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, Handler] = {}
        self._log: list[RecordedRequest] = []
        self._active: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server((host, 0), _RequestHandler, self, ssl_context)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.scheme = "https" if ssl_context else "http"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback", daemon=True
        )

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes slow, dripping and hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- routes ----------------------------------------------------------------------------------

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The absolute URL of `path`; `host` replaces the IP (for tests that resolve a name to it)."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    @property
    def authority(self) -> str:
        """`host:port`, the form `HttpSettings.allow_private` takes."""
        return f"{self.host}:{self.port}"

    def route(self, path: str, handler: Handler) -> None:
        """Answer requests for `path` (query string ignored) with whatever `handler` returns."""
        with self._lock:
            self._routes[path] = handler

    def reply(self, path: str, reply: Reply) -> None:
        self.route(path, lambda _request: reply)

    def replies(self, path: str, replies: Sequence[Reply]) -> None:
        """One reply per request, in order; the last one repeats."""
        queue = list(replies)
        lock = threading.Lock()

        def next_reply(_request: RecordedRequest) -> Reply:
            with lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(path, next_reply)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.reply(path, Reply(status=status, headers={"Location": location}))

    # --- what happened ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def max_concurrent(self, path: str) -> int:
        """The highest number of requests for `path` the server was handling at the same time."""
        with self._lock:
            return self._peak.get(path, 0)

    def body_bytes_sent(self, path: str) -> int:
        """How many body bytes the server has written for `path` so far (all requests together)."""
        with self._lock:
            return self._sent.get(path, 0)

    # --- used by the request handler ---------------------------------------------------------------

    def _enter(self, request: RecordedRequest) -> Handler | None:
        path = request.path.split("?", 1)[0]
        with self._lock:
            self._log.append(request)
            self._active[path] = self._active.get(path, 0) + 1
            self._peak[path] = max(self._peak.get(path, 0), self._active[path])
            return self._routes.get(path)

    def _count_sent(self, request: RecordedRequest, size: int) -> None:
        path = request.path.split("?", 1)[0]
        with self._lock:
            self._sent[path] = self._sent.get(path, 0) + size

    def _leave(self, request: RecordedRequest) -> None:
        path = request.path.split("?", 1)[0]
        with self._lock:
            self._active[path] -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: LoopbackServer,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.owner = owner
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs lazily in the handler's thread, so a client that stalls it blocks no one.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (timeouts, caps) are the point of many tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        owner = self.server.owner
        request = RecordedRequest(self.command, self.path, tuple(self.headers.items()))
        handler = owner._enter(request)
        try:
            reply = handler(request) if handler else Reply(status=404, body=b"no route")
            self._send(reply, owner.stopping, lambda size: owner._count_sent(request, size))
        finally:
            owner._leave(request)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def _send(self, reply: Reply, stopping: threading.Event, sent: Callable[[int], None]) -> None:
        if reply.hang_s is not None:
            stopping.wait(reply.hang_s)
            self.close_connection = True
            return
        if reply.delay_s and stopping.wait(reply.delay_s):
            return
        if reply.raw is not None:
            self.wfile.write(reply.raw)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.content_length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.drip_s is None:
            self.wfile.write(reply.body)
            sent(len(reply.body))
            return
        self._drip(reply.body, reply.drip_s, stopping, sent)

    def _drip(
        self, body: bytes, interval: float, stopping: threading.Event, sent: Callable[[int], None]
    ) -> None:
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            sent(1)
            if stopping.wait(interval):
                self.close_connection = True
                return
