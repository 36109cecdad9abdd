"""Collect benchmark: N generated member feeds behind a loopback server with latency.

Prints the CPU floor (feedparser on the same bytes in memory), cold collection (every feed new), warm
collection (every feed answers 304), items per second and peak memory, then the same cold and warm runs
of the peer library `reader` (lemon24) against the same server, and the ratios.

    python3 bench/collect_bench.py [--feeds 500] [--latency-ms 50] [--workers 64] [--skip-reader]

Each measured phase runs in a process of its own, so its peak memory is its own; the server runs in
another process, so it never competes with the collector for the GIL.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen_corpus import make_corpus  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


# --- the server (its own process) ------------------------------------------------------------------


def serve(count: int, latency_s: float, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    corpus = make_corpus(count, NOW)
    etags = [f'"{hashlib.sha1(body).hexdigest()[:16]}"' for body in corpus]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(latency_s)
            try:
                n = int(self.path.strip("/").split(".")[0].removeprefix("feed"))
                body, etag = corpus[n], etags[n]
            except (ValueError, IndexError):
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    ready.put((server.server_address[1], sum(map(len, corpus))))
    server.serve_forever()


# --- the phases (each in its own process) ------------------------------------------------------------


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (every thread's list)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            out.extend(int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return out


def process_tree(root: int) -> list[int]:
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(_children(pid))
    return tree


class TreeMonitor:
    """Samples a process tree from outside it or inside it: the CPU seconds of `root`'s descendants
    (the parser pool's fork server and workers are not children anyone waits for, so getrusage cannot
    see them) and, with `memory=True`, the peak of the tree's memory as the sum of PSS (shared pages
    split between their sharers). It walks only the tree, not all of /proc, so it costs little."""

    def __init__(self, root: int | None = None, *, interval_s: float = 0.1, memory: bool = False) -> None:
        self.root = root or os.getpid()
        self.interval_s = interval_s
        self.memory = memory
        self.cpu: dict[int, float] = {}  # descendant pid -> last CPU seconds seen
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def descendants_cpu_s(self) -> float:
        return sum(self.cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        pss_kb = 0
        for pid in process_tree(self.root):
            if pid != self.root:
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    fields = stat[stat.rindex(")") + 2 :].split()
                    self.cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
                except (OSError, ValueError, IndexError):
                    pass
            if self.memory:
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                    pss_kb += int(rollup.split("\nPss:", 1)[1].split()[0])
                except (OSError, IndexError):
                    continue
        self.peak_pss_mb = max(self.peak_pss_mb, pss_kb / 1024)


def run_pipeline(port: int, count: int, workers: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from pipeline import jobs
    from pipeline.config import parse_config
    from pipeline.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        config_text = (
            "settings:\n"
            f"  http: {{workers: {workers}, per_host: {workers}, timeout_s: 60,\n"
            f"         allow_private: ['127.0.0.1:{port}']}}\n"
            "sources:\n"
            + "".join(
                f"  - {{id: feed{n}, name: Feed {n}, kind: feed, url: 'http://127.0.0.1:{port}/feed{n}.xml'}}\n"
                for n in range(count)
            )
            + "themes:\n  x: {label: X, terms: {en: [x]}}\n"
        )
        config = parse_config(config_text, file="bench.yaml")
        store = Store.open(f"sqlite:///{tmp}/bench.db", require_schema=False)
        store.upgrade()
        svc = jobs.Services(config=config, store=store)
        with TreeMonitor() as monitor:
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            cold = jobs.collect_all(svc, force=True)
            cold_s = time.perf_counter() - t0
            main_cpu = time.process_time() - cpu0
        parse_cpu = monitor.descendants_cpu_s()
        t0 = time.perf_counter()
        warm = jobs.collect_all(svc, force=True)
        warm_s = time.perf_counter() - t0
        store.close()
    out.put(
        {
            "main_cpu": main_cpu,
            "parse_cpu": parse_cpu,
            "cold_s": cold_s,
            "warm_s": warm_s,
            "new_items": cold.new_items,
            "failed": len(cold.failed),
            "not_modified": warm.not_modified,
            "peak_mb": peak_rss_mb(),
            "first_failure": cold.failed[0] if cold.failed else None,
        }
    )


def run_reader(port: int, count: int, workers: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from reader import make_reader

    with tempfile.TemporaryDirectory() as tmp:
        r = make_reader(f"{tmp}/reader.sqlite")
        for n in range(count):
            r.add_feed(f"http://127.0.0.1:{port}/feed{n}.xml")
        t0 = time.perf_counter()
        r.update_feeds(workers=workers, scheduled=False)
        cold_s = time.perf_counter() - t0
        entries = r.get_entry_counts().total
        t0 = time.perf_counter()
        r.update_feeds(workers=workers, scheduled=False)
        warm_s = time.perf_counter() - t0
        r.close()
    out.put({"cold_s": cold_s, "warm_s": warm_s, "entries": entries, "peak_mb": peak_rss_mb()})


def cpu_floor(count: int) -> tuple[float, int]:
    import feedparser

    corpus = make_corpus(count, NOW)
    t0 = time.perf_counter()
    entries = 0
    for body in corpus:
        entries += len(
            feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False).entries
        )
    return time.perf_counter() - t0, entries


def _cpu_s(pid: int | None) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_process(target, *args):  # type: ignore[no-untyped-def]
    """Run a phase in a process of its own; its tree's peak memory is sampled from here, outside it."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    proc = multiprocessing.Process(target=target, args=(*args, queue))
    proc.start()
    assert proc.pid is not None
    with TreeMonitor(proc.pid, interval_s=0.2, memory=True) as watcher:
        result = queue.get(timeout=900)
    proc.join()
    return {**result, "tree_peak_mb": watcher.peak_pss_mb}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument(
        "--workers", type=int, default=64, help="fetch threads (and per-host limit: one host here)"
    )
    ap.add_argument("--skip-reader", action="store_true")
    args = ap.parse_args()

    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(
        target=serve, args=(args.feeds, args.latency_ms / 1000, ready), daemon=True
    )
    server.start()
    port, corpus_bytes = ready.get(timeout=120)
    print(
        f"corpus: {args.feeds} feeds, {corpus_bytes / 1e6:.1f} MB, latency {args.latency_ms:g} ms, "
        f"{args.workers} fetch workers, {os.cpu_count()} cores"
    )
    try:
        server_cpu0 = _cpu_s(server.pid)
        ours = in_process(run_pipeline, port, args.feeds, args.workers)
        server_cpu = _cpu_s(server.pid) - server_cpu0
        print(
            f"pipeline  cold {ours['cold_s']:6.2f} s   warm {ours['warm_s']:5.2f} s   "
            f"{ours['new_items']} items ({ours['new_items'] / ours['cold_s']:,.0f} items/s)   "
            f"failed {ours['failed']}   304s {ours['not_modified']}   "
            f"peak {ours['peak_mb']:.0f} MB (RSS, collector process)"
        )
        print(
            f"          cold CPU: {ours['main_cpu']:.1f} s in the collector process (fetching, storing), "
            f"{ours['parse_cpu']:.1f} s in parser processes (sampled every 0.1 s)"
        )
        print(
            f"          peak memory of all its processes (sum of PSS, sampled): {ours['tree_peak_mb']:.0f} MB"
        )
        print(f"          the loopback server used {server_cpu:.1f} CPU-s of the same cores (cold and warm)")
        if ours["first_failure"]:
            print(f"          first failure: {ours['first_failure']}")
        if not args.skip_reader:
            peer = in_process(run_reader, port, args.feeds, min(args.workers, 32))
            print(
                f"reader    cold {peer['cold_s']:6.2f} s   warm {peer['warm_s']:5.2f} s   "
                f"{peer['entries']} entries   peak {peer['peak_mb']:.0f} MB"
            )
            print(
                f"ratio     cold {peer['cold_s'] / ours['cold_s']:.1f}x faster   "
                f"warm {peer['warm_s'] / ours['warm_s']:.1f}x faster"
            )
    finally:
        server.terminate()
    floor_s, entries = cpu_floor(args.feeds)
    print(f"CPU floor feedparser alone, in memory, one process: {floor_s:.2f} s for {entries} entries")
    print("targets: cold <= 5 s, warm <= 1 s, peak < 300 MB (500 feeds, 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
