"""Storage: the only code that speaks SQL. A facade split by domain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from pipeline.store.curation import Curations
from pipeline.store.db import make_engine, require_current, upgrade
from pipeline.store.deliveries import Deliveries
from pipeline.store.digests import Digests
from pipeline.store.items import IngestResult, Items
from pipeline.store.locks import Locks
from pipeline.store.member_keys import MemberKeys
from pipeline.store.sources import SourceStates
from pipeline.store.subscribers import Subscribers
from pipeline.store.users import Users
from pipeline.store.webhooks import WebhookEvents


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sources = SourceStates(engine)
        self.items = Items(engine)
        self.users = Users(engine)
        self.subscribers = Subscribers(engine)
        self.member_keys = MemberKeys(engine)
        self.locks = Locks(engine)
        self.deliveries = Deliveries(engine, self.subscribers)
        self.digests = Digests(engine)
        self.curations = Curations(engine)
        self.webhooks = WebhookEvents(engine)

    @classmethod
    def open(cls, url: str, *, require_schema: bool = True) -> Store:
        engine = make_engine(url)
        if require_schema:
            require_current(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def upgrade(self) -> tuple[str | None, str]:
        return upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["Store", "IngestResult", "make_engine"]
