"""The fetcher: the only I/O of collection. Bytes, MIME type and caching info in; parsing is elsewhere.

One `Fetcher` is shared by the collector's thread pool. Every fetch is bounded: a connect and a read
timeout per socket operation, a total deadline per attempt (redirects and body included), a body cap
counted after decompression, a redirect limit, and a limit of concurrent requests per host. Every hop
goes through the address guard (`netguard.check_url`), and the connection goes to the address that was
checked while the Host header, TLS SNI and certificate check speak for the host name.

Why a watchdog: requests' read timeout applies to each socket read, and a buffered read of a chunk may
issue many socket reads, so a server dripping a byte a second would never trip it. A timer per attempt
shuts the socket of the request in flight down when the deadline passes, which ends any blocked read.
"""

from __future__ import annotations

import email.utils
import heapq
import http.client
import itertools
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pipeline.collect.netguard import ResolvedAddress, Resolver, check_url, literal_address
from pipeline.errors import (
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from pipeline.types import CacheInfo, Fetched, HttpSettings

DEFAULT_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, */*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
ROBOTS_MAX_BYTES = 512_000  # what Google reads of a robots.txt; the rest is ignored there too
ROBOTS_TTL_S = 24 * 3600.0

_FOREIGN_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class Fetcher:
    """Fetches URLs politely and safely; thread-safe, meant to be shared by a pool of workers."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        resolver: Resolver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        ca_bundle: str | None = None,
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._verify: bool | str = ca_bundle or True  # a CA bundle path is for tests and private CAs
        self._user_agent = user_agent(settings)
        self._session = _new_session(settings, self._user_agent)
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._robots: dict[str, tuple[float, RobotFileParser | None]] = {}
        self._robots_lock = threading.Lock()

    def fetch(
        self,
        url: str,
        *,
        cache: CacheInfo | None = None,
        check_robots: bool = False,
        accept: str | None = None,
        method: Literal["GET", "HEAD"] = "GET",
    ) -> Fetched:
        """GET `url`; a 304 to a conditional GET returns `not_modified=True`. Failures raise FetchError.

        `check_robots` consults the host's robots.txt first (unless `settings.respect_robots` is off).
        `method="HEAD"` asks for the status and headers only (link checks); the content is then empty.
        """
        if check_robots and self._settings.respect_robots:
            self._check_robots(url)
        headers = request_headers(cache, accept)
        return self._fetch_with_retries(
            url, headers, self._settings.max_bytes, cache, self._settings.retries, method
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- retries ------------------------------------------------------------------------------------

    def _fetch_with_retries(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        cache: CacheInfo | None,
        retries: int,
        method: str = "GET",
    ) -> Fetched:
        attempt = 0
        while True:
            try:
                return self._attempt(url, headers, max_bytes, cache, method)
            except FetchError as exc:
                delay = retry_delay(exc, attempt, retries, self._settings, self._rng())
                if delay is None:
                    raise
            self._sleep(delay)
            attempt += 1

    # --- one attempt: the first request and its redirects, under one deadline ---------------------------

    def _attempt(
        self, url: str, headers: dict[str, str], max_bytes: int, cache: CacheInfo | None, method: str = "GET"
    ) -> Fetched:
        current = url
        with _watchdog(self._settings.timeout_s, self._clock) as watch:
            for _hop in range(self._settings.max_redirects + 1):
                addresses = check_url(current, self._settings.allow_private, self._resolver)
                with self._host_slot(current, addresses[0].host, watch):
                    try:
                        response = self._send(current, addresses, headers, watch, method)
                        with response:
                            location = redirect_location(current, response)
                            if location is None:
                                return self._finish(current, response, watch, max_bytes, cache)
                    except FetchError as exc:
                        raise _timeout_if_fired(exc, current, watch) from exc.__cause__
                    except _FOREIGN_ERRORS as exc:
                        if watch.fired:  # the watchdog cut the socket: whatever broke, the cause is time
                            raise FetchTimeout(current, watch.message) from exc
                        raise translate_error(exc, current) from exc
                current = location
        raise TooManyRedirects(url, f"more than {self._settings.max_redirects} redirects (last to {current})")

    @contextmanager
    def _host_slot(self, url: str, host: str, watch: _Watch) -> Iterator[None]:
        """Hold one of the host's `per_host` slots. The deadline starts once the first hop has one."""
        with self._slots_lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(max(1, self._settings.per_host)))
        if watch.started:
            if not slot.acquire(timeout=max(0.0, watch.remaining())):
                raise FetchTimeout(url, f"no free connection slot for {host} before the deadline")
        else:
            slot.acquire()  # waiting in line is not the server's fault: the deadline starts after
            watch.start()
        try:
            yield
        finally:
            slot.release()

    def _send(
        self,
        url: str,
        addresses: list[ResolvedAddress],
        headers: dict[str, str],
        watch: _Watch,
        method: str = "GET",
    ) -> requests.Response:
        """Send the request to the first checked address that accepts a connection."""
        for index, address in enumerate(addresses):
            remaining = watch.remaining()
            if remaining <= 0:
                raise FetchTimeout(url, watch.message)
            timeout = (
                min(self._settings.connect_timeout_s, remaining),
                min(self._settings.read_timeout_s, remaining),
            )
            try:
                return self._session.request(
                    method,
                    address.connect_url(),
                    headers={**headers, "Host": address.target.host_header},
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=self._verify,
                )
            except requests.exceptions.SSLError:
                raise
            except requests.ConnectionError as exc:
                # Only a failed connect is worth trying on the next address; a lost response is not.
                if index + 1 == len(addresses) or not _is_connect_failure(exc):
                    raise
        raise AssertionError("check_url returns at least one address")

    def _finish(
        self,
        url: str,
        response: requests.Response,
        watch: _Watch,
        max_bytes: int,
        cache: CacheInfo | None,
    ) -> Fetched:
        status = response.status_code
        content_type, charset = parse_content_type(response.headers.get("Content-Type"))
        if status == 304:
            # A 304 has no body (http.client reads none); consuming it marks the response done, so that
            # closing it returns the connection to the pool instead of closing it: keep-alive per host.
            response.content  # noqa: B018
            return Fetched(
                url, 304, b"", content_type, cache or CacheInfo(), not_modified=True, encoding=charset
            )
        if not 200 <= status < 300:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), _server_now(response))
            raise HTTPStatusError(url, status, response.reason or "", retry_after=retry_after)
        content = read_body(url, response, watch, max_bytes)
        validators = CacheInfo(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        return Fetched(url, status, content, content_type, validators, encoding=charset)

    # --- robots.txt ---------------------------------------------------------------------------------

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        parser = self._robots_for(origin)
        if parser is not None and not parser.can_fetch(self._settings.user_agent, url):
            raise RobotsDisallowed(url, f"{origin}/robots.txt disallows it for {self._settings.user_agent}")

    def _robots_for(self, origin: str) -> RobotFileParser | None:
        """The origin's parsed robots.txt (None: everything allowed), cached for a day."""
        now = self._clock()
        with self._robots_lock:
            cached = self._robots.get(origin)
        if cached is not None and now - cached[0] < ROBOTS_TTL_S:
            return cached[1]
        parser = self._load_robots(origin)
        with self._robots_lock:
            self._robots[origin] = (now, parser)
        return parser

    def _load_robots(self, origin: str) -> RobotFileParser | None:
        try:
            fetched = self._fetch_with_retries(
                f"{origin}/robots.txt", request_headers(None, "text/plain"), ROBOTS_MAX_BYTES, None, retries=0
            )
        except FetchError:
            # 4xx: no rules; 5xx or unreachable: we allow too (the fetch itself will report a dead host).
            return None
        parser = RobotFileParser()
        parser.parse(fetched.content.decode("utf-8", errors="replace").splitlines())
        return parser


# --- pure helpers ------------------------------------------------------------------------------------


def user_agent(settings: HttpSettings) -> str:
    return f"{settings.user_agent} (+{settings.contact_url})" if settings.contact_url else settings.user_agent


def request_headers(cache: CacheInfo | None, accept: str | None) -> dict[str, str]:
    """The per-fetch headers: what we accept, and the validators of a conditional GET."""
    headers = {"Accept": accept or DEFAULT_ACCEPT}
    if cache is not None and cache.etag:
        headers["If-None-Match"] = cache.etag
    if cache is not None and cache.last_modified:
        headers["If-Modified-Since"] = cache.last_modified
    return headers


def retry_delay(
    error: FetchError, attempt: int, retries: int, settings: HttpSettings, jitter: float
) -> float | None:
    """Seconds to wait before trying again, or None to give up.

    Transient errors (connection, timeout, 5xx, 429) are retried `retries` times with exponential backoff
    and "equal jitter" (half fixed, half random, so workers hitting one host do not retry in step). A
    Retry-After is honoured up to `max_retry_after_s`; a longer one is not waited out here: the error goes
    back to the caller, which carries `retry_after` and can schedule the source later.
    """
    if not error.transient or attempt >= retries:
        return None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return retry_after if retry_after <= settings.max_retry_after_s else None
    base = settings.backoff_s * 2**attempt
    return base / 2 + base / 2 * jitter


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `now` that a Retry-After header (delta-seconds or HTTP-date) asks for."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """`text/html; charset="UTF-8"` -> ("text/html", "UTF-8")."""
    if not value:
        return None, None
    mime, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').strip("'"):
            charset = val.strip().strip('"').strip("'")
    return mime.strip().lower() or None, charset


def redirect_location(url: str, response: requests.Response) -> str | None:
    """The absolute URL a redirect response points to, or None if it is not a redirect."""
    location = response.headers.get("Location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    return urljoin(url, location.strip())


def read_body(url: str, response: requests.Response, watch: _Watch, max_bytes: int) -> bytes:
    """The decompressed body, stopped at `max_bytes` (a gzip bomb stops there) and at the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and not response.headers.get("Content-Encoding") and int(declared) > max_bytes:
        raise TooLarge(url, f"the body is {declared} bytes, more than the {max_bytes} allowed")
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(url, f"the body exceeds the {max_bytes} bytes allowed (after decompression)")
        if watch.remaining() <= 0:
            raise FetchTimeout(url, watch.message)
    if watch.fired:  # the watchdog may end a body that has no length early, which reads as a short body
        raise FetchTimeout(url, watch.message)
    return bytes(body)


def translate_error(exc: BaseException, url: str) -> FetchError:
    """Our error for a foreign one (requests, urllib3, http.client, socket), naming the URL."""
    if isinstance(exc, requests.Timeout | socket.timeout | urllib3.exceptions.TimeoutError):
        return FetchTimeout(url, f"timed out ({_describe(exc)})")
    if isinstance(exc, requests.exceptions.SSLError):
        error = ConnectionFailed(url, f"TLS failed: {_describe(exc)}")
        error.transient = False  # a bad certificate stays bad
        return error
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        error = ConnectionFailed(url, f"the body could not be decompressed: {_describe(exc)}")
        error.transient = False
        return error
    return ConnectionFailed(url, _describe(exc))


def _timeout_if_fired(exc: FetchError, url: str, watch: _Watch) -> FetchError:
    if watch.fired and not isinstance(exc, FetchTimeout | TooLarge):
        return FetchTimeout(url, watch.message)
    return exc


def _describe(exc: BaseException) -> str:
    """The innermost useful message of a wrapped exception chain."""
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    reason = getattr(inner, "reason", None)
    if isinstance(reason, BaseException):
        inner = reason
    text = str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text}" if type(inner).__name__ not in text else text


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    inner: Any = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _server_now(response: requests.Response) -> datetime:
    """The server's idea of now (its Date header), which an HTTP-date Retry-After is relative to."""
    try:
        when = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        when = None
    if when is None:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- the deadline watchdog ------------------------------------------------------------------------------

_active = threading.local()  # the _Watch of the attempt running on this thread, if any


class _Watch:
    """The deadline of one attempt, and the socket to shut down when it passes."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self._target: socket.socket | None = None  # the socket of the request in flight
        self.fired = False
        self.stopped = False

    @property
    def message(self) -> str:
        return f"no complete response within the {self.seconds:g} s deadline"

    @property
    def started(self) -> bool:
        return self._deadline is not None

    def start(self) -> None:
        self._deadline = self._clock() + self.seconds
        _deadlines.add(time.monotonic() + self.seconds, self)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            self._target = None  # the keeper holds this watch until its deadline; not the socket too

    def remaining(self) -> float:
        return self.seconds if self._deadline is None else self._deadline - self._clock()

    def attach(self, target: socket.socket | None) -> None:
        with self._lock:
            self._target = target
            fired = self.fired
        if fired:
            _shut_down(target)

    def fire(self) -> None:
        with self._lock:
            if self.stopped:
                return
            self.fired = True
            target = self._target
        _shut_down(target)


class _DeadlineKeeper:
    """One daemon thread that fires each started watch when its deadline passes.

    A `threading.Timer` per attempt cost more than fetching a small feed: `Thread.start` waits until the
    new thread runs, which in a busy collector means waiting for the GIL. Stopped watches are dropped
    when they reach the head of the queue.
    """

    def __init__(self) -> None:
        self._reset()
        # A forked child has no keeper thread (only the forking thread survives a fork): it starts its own.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Watch]] = []  # a heap ordered by deadline
        self._order = itertools.count()  # ties broken by arrival, never by comparing watches
        self._thread: threading.Thread | None = None

    def add(self, when: float, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._queue, (when, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._queue[0][2] is watch:  # earlier than what the keeper sleeps towards
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._queue and self._queue[0][2].stopped:
                    heapq.heappop(self._queue)
                if not self._queue:
                    self._cond.wait()
                    continue
                delay = self._queue[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                watch = heapq.heappop(self._queue)[2]
            watch.fire()  # outside the lock: shutting a socket down may take a moment


_deadlines = _DeadlineKeeper()


def _shut_down(sock: socket.socket | None) -> None:
    """End any blocked read or write on the socket; shutdown (unlike close) wakes a blocked recv."""
    if sock is None:
        return
    try:
        # The plain-socket method: on a TLS socket it cuts the TCP stream under the TLS layer.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass  # already closed


@contextmanager
def _watchdog(seconds: float, clock: Callable[[], float]) -> Iterator[_Watch]:
    watch = _Watch(seconds, clock)
    _active.watch = watch
    try:
        yield watch
    finally:
        watch.stop()
        _active.watch = None


def _attach(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_active, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _WatchedConnection:
    """Registers the socket of each request with the thread's watchdog.

    The socket itself, not the connection: http.client hands the socket of a `Connection: close` response
    over to the response and clears `connection.sock`.
    """

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _attach(sock)  # covers the TLS handshake, before the wrapped socket exists
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self.sock)  # for TLS, the wrapped socket that replaced the bare one

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _attach(self.sock)  # a reused keep-alive connection never connects again
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# --- the session -----------------------------------------------------------------------------------------


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked IP in the URL while TLS (SNI, certificate) speaks for the Host header's name.

    The fetcher sends every request to `scheme://IP:port/path` with `Host: name`; here the name becomes
    urllib3's `server_hostname`, so certificates are still verified for the name (and pooled per name).
    """

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:  # requests' stubs type these dicts without urllib3's `server_hostname`
        host_params, stub_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs: dict[str, Any] = dict(stub_kwargs)
        name = _host_name(request.headers.get("Host", ""))
        if host_params.get("scheme") == "https" and name and literal_address(name) is None:
            pool_kwargs["server_hostname"] = name
        return host_params, pool_kwargs


def _host_name(host_header: str) -> str:
    """The name in a Host header: `example.org:8443` -> `example.org`."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if ":" in host_header else host_header


def _new_session(settings: HttpSettings, agent: str) -> requests.Session:
    session = requests.Session()
    # No proxies or .netrc from the environment: a proxy would connect to names we did not check.
    session.trust_env = False
    # No cookies: requests go to IP addresses, so a jar would share one host's cookies with its neighbours.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers.clear()
    session.headers.update({"User-Agent": agent, "Accept-Encoding": "gzip, deflate"})
    adapter = _PinnedAdapter(
        pool_connections=max(10, settings.workers), pool_maxsize=max(1, settings.per_host)
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
