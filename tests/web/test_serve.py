"""`run.py serve`: the web UI behind waitress, with the scheduler when this process holds the lease."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, deadline_s: float = 20.0) -> urllib.request.http.client.HTTPResponse:  # type: ignore[name-defined]
    end = time.monotonic() + deadline_s
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_serve_answers_pages_and_runs_the_scheduler(cli, project) -> None:
    cli("init")
    port = free_port()
    env = {**os.environ, "PIPELINE_SECRET_KEY": "s" * 32}
    base = [sys.executable, str(ROOT / "run.py"), "--config", str(project.config), "--db", project.db]
    proc = subprocess.Popen(
        [*base, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = wait_for(f"http://127.0.0.1:{port}/subscribe")
        assert page.status == 200 and "csrf_token" in page.read().decode()
        assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        login = wait_for(f"http://127.0.0.1:{port}/auth/login")
        assert login.status == 200
        status = json.loads(
            subprocess.run(
                [*base, "status", "--json"], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
        assert status["scheduler"]["pid"] == proc.pid
        assert {j["id"] for j in status["jobs"]} >= {"collect", "draft", "send"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_to_start_without_a_secret_key(cli, project) -> None:
    cli("init")
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_SECRET_KEY"}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "--config",
            str(project.config),
            "--db",
            project.db,
            "serve",
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        result.returncode == 2 and "PIPELINE_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
    )
