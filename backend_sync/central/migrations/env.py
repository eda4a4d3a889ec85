"""Alembic environment: run on the connection handed in by backend_sync.central.db."""

from __future__ import annotations

from alembic import context

from backend_sync.central.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the alembic CLI, with sqlalchemy.url set
    from backend_sync.central.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url")
    with make_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
