"""`run.py demo` as a newcomer runs it: the whole main job offline, ending with files to open."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_whole_pipeline_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_SECRET_KEY"}
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "run.py", "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "throwaway key" in result.stdout  # only the demo may make one up
    assert "collect: 15 sources, 100 items" in result.stdout
    assert f"open {out / 'digest.html'}" in result.stdout
    html = (out / "digest.html").read_text()
    assert "<script" not in html.lower() and "Nykode" in html
    assert (out / "digest.txt").read_text().count("http") > 20
    assert (out / "archive" / "index.html").exists() and (out / "archive" / "feed.xml").exists()
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (out / "outbox").rglob("*.eml")
    ]
    assert sorted(m["To"] for m in messages) == [
        "ada@example.org",
        "investor@example.org",
        "kari@example.org",
    ]
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in messages)
    # running it again starts afresh in the same folder
    again = subprocess.run(
        [sys.executable, "run.py", "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and len(list((out / "outbox").rglob("*.eml"))) == 3
