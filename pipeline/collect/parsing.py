"""Where parsing runs: in this process, or in worker processes with a time and memory limit each.

feedparser and lxml are pure CPU: one Python process parses on one core, so a pool of processes uses
every core while the fetcher's threads wait on the network. A worker also bounds hostile documents:
parsing one document gets `time_limit_s` seconds (an interval timer in the worker) and the worker's
address space is capped, so a pathological feed costs one failed source, never the whole run.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import select
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from pipeline.collect.discover import discover_feeds
from pipeline.collect.feeds import parse_feed
from pipeline.collect.pages import parse_article, parse_listing
from pipeline.errors import ParseError, PipelineError
from pipeline.types import ArticleMeta, ParsedFeed


@dataclass(frozen=True)
class Parsers:
    """The parse functions a collector uses; tests and the pool swap them as a unit."""

    feed: Callable[..., ParsedFeed] = parse_feed
    listing: Callable[..., ParsedFeed] = parse_listing
    article: Callable[..., ArticleMeta] = parse_article
    discover: Callable[..., list[str]] = discover_feeds


IN_PROCESS = Parsers()

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "feed": parse_feed,
    "listing": parse_listing,
    "article": parse_article,
    "discover": discover_feeds,
}


class _TooSlow(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _TooSlow


def _init_worker(memory_limit_mb: int, collector_pid: int | None = None) -> None:
    if collector_pid is not None:
        _exit_with(collector_pid)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_limit_mb > 0:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _exit_with(pid: int) -> None:
    """End this worker when the collector process `pid` ends, whatever way it ends (kill -9 included).

    Without this, a killed collector leaves its workers and their fork server running for ever: a worker
    waits on its task queue, whose write end it holds itself, and the fork server waits until no worker
    holds its liveness pipe. The worker's parent is the fork server, so PR_SET_PDEATHSIG cannot help.
    """
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3): no watch
        return

    def wait_then_exit() -> None:
        select.select([watched], [], [])  # a pidfd becomes readable when its process has exited
        os._exit(1)

    threading.Thread(target=wait_then_exit, name="collector-watch", daemon=True).start()


def _run_in_worker(
    name: str, time_limit_s: float, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, Any]:
    """Runs in the worker: a tagged result, because our exceptions carry more than pickle keeps."""
    url = str(kwargs.get("url", ""))
    signal.setitimer(signal.ITIMER_REAL, time_limit_s)
    try:
        return "ok", _FUNCTIONS[name](*args, **kwargs)
    except _TooSlow:
        return "error", f"parsing took longer than {time_limit_s:g} s; the document was abandoned"
    except MemoryError:
        return "error", "parsing needed more memory than a worker may use; the document was abandoned"
    except PipelineError as exc:
        message = str(exc)
        prefix = f"{url}: "
        return "error", message[len(prefix) :] if message.startswith(prefix) else message
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class ParserPool:
    """A process pool that parses documents; `parsers` has the same shape as `IN_PROCESS`."""

    def __init__(
        self, processes: int | None = None, *, time_limit_s: float = 30.0, memory_limit_mb: int = 2048
    ) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.time_limit_s = time_limit_s
        self.memory_limit_mb = memory_limit_mb
        self._pool = self._new_pool()
        self.parsers = Parsers(**{name: self._remote(name) for name in _FUNCTIONS})

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: forking a process that runs fetcher threads could copy a held lock. The server
        # preloads `warm` (unless it is already running) so that workers fork with the parsers loaded.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", "pipeline.collect.warm"])
        return ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.memory_limit_mb, os.getpid()),
        )

    def _remote(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            url = str(kwargs.get("url", ""))
            try:
                future = self._pool.submit(_run_in_worker, name, self.time_limit_s, args, kwargs)
                status, value = future.result()
            except BrokenProcessPool:
                # a worker died (killed by the OS, say): this document fails, the next ones get a new pool
                self._pool = self._new_pool()
                raise ParseError(url, "the parser process died on this document") from None
            if status == "error":
                raise ParseError(url, value)
            return value

        return call

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
