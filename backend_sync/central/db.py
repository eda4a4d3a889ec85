"""Engines and migrations for the central database (SQLite file or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from backend_sync import engine as _engine

__all__ = ["current_revision", "make_engine", "upgrade"]

_MIGRATIONS = str(Path(__file__).with_name("migrations"))


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """The central's engine (see :func:`backend_sync.engine.make_engine`). On SQLite
    the WAL is checkpointed every 64 MiB rather than 4 MiB: ingest writes in bursts."""
    return _engine.make_engine(url, wal_autocheckpoint=16384, **kwargs)


def _config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic, same scripts on both engines)."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def current_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
