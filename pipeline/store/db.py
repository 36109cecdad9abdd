"""Engines, connection pragmas and migrations. SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from pipeline.errors import DatabaseNotReady, StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"--db '{url}' is not a database URL (e.g. sqlite:///var/pipeline.db)") from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no driver for '{parsed.drivername}': pip install '.[postgres]' for PostgreSQL"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


#: SQLite allows 32,766 bound parameters; IN lists and bulk writes stay well under it.
CHUNK = 500


def chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """`values` in slices of at most `size`."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def conflict_insert(table: Table, dialect: str) -> Any:
    """INSERT that knows ON CONFLICT, for the two databases the store supports."""
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database '{dialect}': use SQLite or PostgreSQL")


_UPSERTS: dict[tuple[str, str], Any] = {}


def upsert(table: Table, dialect: str) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE of every other column, built once per table and
    dialect: bulk writes run it with executemany, and building a statement (and its cache key) per batch
    cost more than running it."""
    statement = _UPSERTS.get((table.name, dialect))
    if statement is None:
        insert = conflict_insert(table, dialect)
        key = [c.name for c in table.primary_key.columns]
        replaced = {c.name: insert.excluded[c.name] for c in table.columns if c.name not in key}
        statement = insert.on_conflict_do_update(index_elements=key, set_=replaced)
        _UPSERTS[(table.name, dialect)] = statement
    return statement


def new_id(result: Any) -> int:
    """The primary key an INSERT created."""
    key = result.inserted_primary_key
    if not key:
        raise StoreError("the database did not report the new row's id")
    return int(key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the newest revision. Returns (before, after)."""
    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            after = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
    return before, after or ""


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that `init` has not created or upgraded."""
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
    head = head_revision()
    if current is None:
        raise DatabaseNotReady(f"the database {engine.url!r} has no tables: run `python run.py init` first")
    if current != head:
        raise DatabaseNotReady(
            f"the database is at revision {current}, the code expects {head}: "
            "run `python run.py init` to upgrade"
        )
