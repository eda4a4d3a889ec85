"""SQLAlchemy engines for both sides: SQLite (kiosk outbox, default central) and
PostgreSQL (production central)."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa

__all__ = ["make_engine"]


def make_engine(
    url: str | sa.URL, *, wal_autocheckpoint: int | None = None, **kwargs: Any
) -> sa.Engine:
    """An engine for ``url``; ``postgresql://`` is served by psycopg 3. A file path
    is passed as ``sa.URL.create("sqlite", database=...)``, so that no character
    of it is read as URL syntax.

    SQLite: WAL, synchronous FULL (a committed batch survives a power cut) and
    BEGIN IMMEDIATE, so two API threads never both read-then-write one chain head.
    ``wal_autocheckpoint`` (pages) lets a busy writer checkpoint less often.
    """
    if isinstance(url, str) and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if (url.drivername if isinstance(url, sa.URL) else url).startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        sa.event.listen(engine, "connect", _sqlite_connect)
        if wal_autocheckpoint is not None:
            pages = int(wal_autocheckpoint)
            sa.event.listen(
                engine,
                "connect",
                lambda c, _r: c.execute(f"PRAGMA wal_autocheckpoint={pages}"),
            )
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Transactions are begun by _sqlite_begin, not by the driver's implicit BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: the ingest indexes stay in memory
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
