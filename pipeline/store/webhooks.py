"""Webhook events and tokens seen already: replay protection and idempotent application."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from pipeline.store.schema import webhook_events


class WebhookEvents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_time(self, provider: str, event_id: str, now: datetime) -> bool:
        """Remember (provider, id); True only the first time it is seen."""
        try:
            with self._engine.begin() as conn:
                if conn.execute(
                    select(webhook_events.c.event_id).where(
                        webhook_events.c.provider == provider, webhook_events.c.event_id == event_id
                    )
                ).first():
                    return False
                conn.execute(
                    insert(webhook_events).values(provider=provider, event_id=event_id[:200], received_at=now)
                )
        except IntegrityError:
            return False
        return True
