"""The session audit log: what happened at this kiosk, never a PIN.

SQLite through SQLAlchemy 2 (WAL, synchronous FULL), one row per event, written
by the session machine's thread. Field names that could carry secrets are refused
outright, so a careless caller fails in tests rather than leaking in production.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["AuditEntry", "AuditLog"]

FORBIDDEN = frozenset({"pin", "old_pin", "new_pin", "new_pin_again", "puk", "digits", "key"})

_meta = sa.MetaData()
_audit = sa.Table(
    "audit",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("session", sa.Integer, nullable=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at_ms: int
    session: int | None
    event: str
    fields: dict[str, Any]


class AuditLog:
    """Append-only audit rows in ``path``; call an instance as the machine's sink."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.engine = sa.create_engine(f"sqlite:///{self.path}")

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        _meta.create_all(self.engine)

    def __call__(self, event: str, fields: Mapping[str, object]) -> None:
        self.record(event, fields)

    def record(self, event: str, fields: Mapping[str, object]) -> None:
        bad = FORBIDDEN.intersection(fields)
        if bad:
            raise ValueError(f"audit refuses secret fields: {sorted(bad)}")
        data = {k: v for k, v in fields.items() if k != "session"}
        session = fields.get("session")
        with self.engine.begin() as conn:
            conn.execute(
                _audit.insert().values(
                    at_ms=int(self._clock() * 1000),
                    session=session if isinstance(session, int) else None,
                    event=event,
                    fields=json.dumps(data, ensure_ascii=False, default=str, sort_keys=True),
                )
            )

    def entries(self, session: int | None = None) -> list[AuditEntry]:
        q = sa.select(_audit).order_by(_audit.c.id)
        if session is not None:
            q = q.where(_audit.c.session == session)
        with self.engine.connect() as conn:
            return [AuditEntry(r.id, r.at_ms, r.session, r.event, json.loads(r.fields))
                    for r in conn.execute(q)]  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()
