"""A consistent copy of the database while it is in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from pipeline.errors import StoreError


def backup_database(engine: Engine, target: Path) -> int:
    """Copy the SQLite database page by page (the online backup API: consistent under concurrent writes)."""
    if engine.dialect.name != "sqlite":
        raise StoreError("backup copies SQLite databases; for PostgreSQL use pg_dump")
    target = Path(target)
    if target.exists():
        raise StoreError(f"{target} exists already; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        raw.close()
    return target.stat().st_size
