"""Alembic environment: migrations run on the connection symbiolink hands over."""

from __future__ import annotations

from alembic import context

from symbiolink.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - symbiolink always passes a connection
    raise RuntimeError("run migrations through symbiolink.store.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
