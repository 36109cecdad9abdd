"""Editor accounts for the web UI. Passwords are stored as salted scrypt hashes (werkzeug)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from pipeline.errors import Conflict
from pipeline.store.db import new_id
from pipeline.store.schema import users

ROLES = ("editor", "admin")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    disabled: bool = False


class Users:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, email: str, role: str, password: str, now: datetime, *, replace: bool = False) -> User:
        email = email.strip().lower()
        values: dict[str, Any] = {
            "role": role,
            "password_hash": generate_password_hash(password),
            "disabled": False,
        }
        with self._engine.begin() as conn:
            existing = conn.execute(select(users.c.id).where(users.c.email == email)).first()
            if existing and not replace:
                raise Conflict(f"user {email} exists already (pass --update to change the role or password)")
            if existing:
                conn.execute(update(users).where(users.c.id == existing.id).values(**values))
                uid = existing.id
            else:
                try:
                    uid = new_id(conn.execute(insert(users).values(email=email, created_at=now, **values)))
                except IntegrityError as exc:
                    raise Conflict(f"user {email} exists already") from exc
        return User(id=uid, email=email, role=role)

    def authenticate(self, email: str, password: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.email == email.strip().lower())).mappings().first()
        if row is None or row["disabled"] or not check_password_hash(row["password_hash"], password):
            return None
        return User(id=row["id"], email=row["email"], role=row["role"])

    def get(self, user_id: int) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
        if row is None or row["disabled"]:
            return None
        return User(id=row["id"], email=row["email"], role=row["role"], disabled=row["disabled"])
