"""Alembic environment of the kiosk outbox: runs on the connection handed in."""

from __future__ import annotations

from alembic import context

from backend_sync.terminal.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
