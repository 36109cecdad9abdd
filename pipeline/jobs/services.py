"""Services: everything a use case needs, wired once by `make_services`; tests override any part."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pipeline.collect.http import Fetcher
from pipeline.config import load_config
from pipeline.store import Store
from pipeline.types import Config

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a use case needs, wired once (`make_services`); tests override any part."""

    config: Config
    store: Store
    db_url: str = ""
    clock: Clock = utc_now
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    fetcher_factory: Callable[[Config], Fetcher] | None = None

    def make_fetcher(self, **overrides: Any) -> Fetcher:
        if self.fetcher_factory is not None:
            return self.fetcher_factory(self.config)
        http = replace(self.config.settings.http, **overrides) if overrides else self.config.settings.http
        return Fetcher(http)

    def close(self) -> None:
        self.store.close()


def make_services(
    config_path: str,
    db_url: str,
    *,
    require_schema: bool = True,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
) -> Services:
    config = load_config(config_path)
    store = Store.open(db_url, require_schema=require_schema)
    return Services(
        config=config, store=store, db_url=db_url, clock=clock, env=dict(os.environ if env is None else env)
    )


# --- init -----------------------------------------------------------------------------------------


def init_database(store: Store) -> tuple[str | None, str]:
    """Create or upgrade the schema; running it again changes nothing."""
    return store.upgrade()
