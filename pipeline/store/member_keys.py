"""API keys with which members submit news. Only a hash is stored; the key is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from pipeline.store.schema import member_keys


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class MemberKeys:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue(self, member_id: str, now: datetime) -> str:
        """A new key for the member (older keys stay valid until revoked)."""
        key = "mk_" + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            conn.execute(
                insert(member_keys).values(
                    member_id=member_id, key_hash=hash_key(key), prefix=key[:10], created_at=now
                )
            )
        return key

    def revoke(self, member_id: str, now: datetime) -> int:
        with self._engine.begin() as conn:
            return conn.execute(
                update(member_keys)
                .where(member_keys.c.member_id == member_id, member_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    def member_for(self, key: str) -> str | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(member_keys.c.member_id).where(
                    member_keys.c.key_hash == hash_key(key), member_keys.c.revoked_at.is_(None)
                )
            ).first()
        return row[0] if row else None
