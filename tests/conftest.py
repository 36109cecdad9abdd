"""Shared fixtures: a project config in tmp_path and the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.support.loopback import LoopbackServer, Reply

SECRET = "test-secret-key-0123456789abcdef"

BASE_CONFIG = """\
settings:
  public_url: https://news.example.org
  http: {{workers: 4, per_host: 4, timeout_s: 10, allow_private: [{allow}]}}
  delivery: {{provider: outbox, outbox_dir: {outbox}}}
sources:
{sources}
members:
  - {{id: nykode, name: Nykode Therapeutics, aliases: [Vaccibody]}}
themes:
  immuno-oncology:
    label: Immuno-oncology
    terms: {{en: [immunotherapy, checkpoint inhibitor, cancer vaccine], "no": [immunterapi, kreftvaksine]}}
  precision-medicine:
    label: Precision medicine
    terms: {{en: [precision medicine, genomics, biomarker], "no": [presisjonsmedisin, genomikk]}}
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@dataclass
class Project:
    root: Path
    config: Path
    db: str

    def write_config(self, sources: str, allow: str = "") -> None:
        self.config.write_text(
            BASE_CONFIG.format(
                sources=sources, allow=f'"{allow}"' if allow else "", outbox=self.root / "outbox"
            )
        )

    def serve_feed(self, server: LoopbackServer, path: str, body: bytes) -> None:
        """One RSS source, `alpha`, that `server` serves at `path` (its loopback address allowed)."""
        server.reply(path, Reply(body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
        self.write_config(
            f"  - {{id: alpha, name: Alpha, kind: feed, url: '{server.url(path)}'}}", allow=server.authority
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("PIPELINE_SECRET_KEY", SECRET)
    p = Project(root=tmp_path, config=tmp_path / "sources.yaml", db=f"sqlite:///{tmp_path}/pipeline.db")
    p.write_config("  - {id: alpha, name: Alpha, member: true, kind: feed, url: https://example.org/feed}")
    return p


@pytest.fixture
def cli(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    def run(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", str(project.config), "--db", project.db, *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
