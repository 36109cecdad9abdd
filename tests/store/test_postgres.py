"""The same pipeline on PostgreSQL: a throwaway server started from the machine's PostgreSQL binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.loopback import LoopbackServer, Reply

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries are missing: apt-get install postgresql (.ci/run does this)")
    return Path(found[-1]).parent


def _as_postgres(*cmd: str) -> list[str]:
    # initdb and postgres refuse to run as root; the Debian package creates the `postgres` user
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    bin_dir = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres(str(bin_dir / "initdb"), "-D", f"{folder}/data", "-A", "trust", "-U", "postgres"),
        check=True,
        capture_output=True,
    )
    # a log file, not our pipes: the server outlives pg_ctl and would hold a pipe open forever
    subprocess.run(
        _as_postgres(
            str(bin_dir / "pg_ctl"),
            "-D",
            f"{folder}/data",
            "-w",
            "-l",
            f"{folder}/log",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=''",
            "start",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )
    try:
        yield f"host={folder} port={port} user=postgres"
    finally:
        subprocess.run(
            _as_postgres(str(bin_dir / "pg_ctl"), "-D", f"{folder}/data", "-m", "fast", "stop"),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{pg_server} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in pg_server.split())
    return f"postgresql+psycopg://postgres@/{name}?host={params['host']}&port={params['port']}"


def test_the_main_job_runs_on_postgresql(cli, project, pg_url: str) -> None:
    with LoopbackServer() as server:
        server.reply(
            "/feed.xml",
            Reply(
                body=(FEEDS / "rss2.xml").read_bytes(),
                headers={"Content-Type": "application/rss+xml", "ETag": '"1"'},
            ),
        )
        server.reply(
            "/no.xml",
            Reply(
                body=(FEEDS / "norwegian.xml").read_bytes(), headers={"Content-Type": "application/rss+xml"}
            ),
        )
        project.write_config(
            f"  - {{id: alpha, name: Alpha, member: true, kind: feed, url: '{server.url('/feed.xml')}'}}\n"
            f"  - {{id: beta, name: Beta, kind: feed, url: '{server.url('/no.xml')}'}}",
            allow=server.authority,
        )
        project.db = pg_url
        assert cli("init").code == 0
        assert cli("init", "--json").json()["before"] is not None  # idempotent
        collected = cli("collect", "--json").json()
        assert collected["new_items"] == 6 and collected["failed"] == []
        assert cli("collect", "--force", "--json").json()["new_items"] == 0
    assert cli("curate", "--json").json()["curated"] == 6
    items = cli("items", "--since", "2000-01-01", "--json").json()["items"]
    assert len(items) == 6 and all(i["curated"] for i in items)
    # Re-curating replaces each row in place (ON CONFLICT on PostgreSQL) and keeps the group keys.
    assert cli("curate", "--all", "--json").json()["curated"] == 6
    again = cli("items", "--since", "2000-01-01", "--json").json()["items"]
    def kept(rows: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
        return [(i["id"], i["themes"], i["group"]) for i in rows]

    assert kept(again) == kept(items)
    themed = next(i for i in items if i["themes"])
    theme = themed["themes"][0]
    with_theme = cli("items", "--theme", theme, "--since", "2000-01-01", "--json").json()["items"]
    assert themed["id"] in {i["id"] for i in with_theme}
    # Editors' decisions: a merge looks the other item's story up, and survives re-curation.
    other = next(i for i in items if i["group"] != themed["group"])
    merged = cli("decide", str(other["id"]), "merge", str(themed["id"]), "--json").json()
    assert merged["group"] == themed["group"]
    assert cli("curate", "--all").code == 0
    regrouped = {i["id"]: i["group"] for i in cli("items", "--since", "2000-01-01", "--json").json()["items"]}
    assert regrouped[other["id"]] == regrouped[themed["id"]] == themed["group"]
    draft = cli("draft", "--since", "2000-01-01", "--json").json()
    assert draft["entries"] >= 1
    assert cli("approve", str(draft["id"])).code == 0
    csv_path = project.root / "subs.csv"
    csv_path.write_text("email,name,language,themes\nada@example.org,Ada,en,\nole@example.org,Ole,no,\n")
    assert cli("subscribers", "import", str(csv_path)).code == 0
    sent = cli("send", str(draft["id"]), "--json").json()
    assert sent["sent"] == 2 and sent["status"] == "sent"
    assert cli("send", str(draft["id"]), "--json").json()["sent"] == 0
    assert len(list((project.root / "outbox").rglob("*.eml"))) == 2
    backup = cli("backup", str(project.root / "copy.db"))
    assert backup.code == 1 and "pg_dump" in backup.err
