"""Alembic environment: migrations run on the connection the pipeline hands in (store/db.py)."""

from alembic import context

from pipeline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the pipeline always passes one
    raise RuntimeError("run migrations through `python run.py init`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
