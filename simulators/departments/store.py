"""The departments' database: one SQLite file, WAL, every change in one transaction.

State changes only through :class:`DepartmentStore` methods (called by the API);
each state-changing call is keyed by the caller's idempotency key, so a retry
returns the first answer and changes nothing again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Conflict", "DepartmentStore", "NotFound"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (asn TEXT PRIMARY KEY, name TEXT NOT NULL,
    household TEXT NOT NULL, medical_balance INTEGER NOT NULL,
    fund_balance INTEGER NOT NULL, loan_status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contributions (asn TEXT NOT NULL, month TEXT NOT NULL,
    kind TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (asn, month, kind));
CREATE TABLE IF NOT EXISTS fund_deposits (asn TEXT NOT NULL, month TEXT NOT NULL,
    amount INTEGER NOT NULL, PRIMARY KEY (asn, month));
CREATE TABLE IF NOT EXISTS bills (reference TEXT PRIMARY KEY, utility TEXT NOT NULL,
    account TEXT NOT NULL, asn TEXT NOT NULL, period TEXT NOT NULL, amount INTEGER NOT NULL,
    paid_order TEXT);
CREATE INDEX IF NOT EXISTS bills_account ON bills (utility, account);
CREATE TABLE IF NOT EXISTS vehicles (plate TEXT PRIMARY KEY, asn TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fines (reference TEXT PRIMARY KEY, plate TEXT NOT NULL,
    asn TEXT NOT NULL, day TEXT NOT NULL, place TEXT NOT NULL, offence TEXT NOT NULL,
    amount INTEGER NOT NULL, points INTEGER NOT NULL, paid_order TEXT);
CREATE INDEX IF NOT EXISTS fines_asn ON fines (asn);
CREATE TABLE IF NOT EXISTS applications (number TEXT PRIMARY KEY, asn TEXT NOT NULL,
    title TEXT NOT NULL, department TEXT NOT NULL, steps TEXT NOT NULL,
    current INTEGER NOT NULL, expected TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_asn ON applications (asn);
CREATE TABLE IF NOT EXISTS slots (id TEXT PRIMARY KEY, service TEXT NOT NULL,
    start TEXT NOT NULL, capacity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bookings (id TEXT PRIMARY KEY, asn TEXT NOT NULL,
    service TEXT NOT NULL, slot TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (service TEXT NOT NULL, day TEXT NOT NULL,
    issued INTEGER NOT NULL, served INTEGER NOT NULL, PRIMARY KEY (service, day));
CREATE TABLE IF NOT EXISTS departures (id TEXT PRIMARY KEY, origin TEXT NOT NULL,
    destination TEXT NOT NULL, day TEXT NOT NULL, time TEXT NOT NULL, fare INTEGER NOT NULL,
    seats INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seats (id TEXT PRIMARY KEY, departure TEXT NOT NULL,
    seat INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, op TEXT NOT NULL,
    answer TEXT NOT NULL);
"""

# The hall's departments and their bookable services (code → name, department).
HALL_SERVICES: dict[str, tuple[str, str]] = {
    "ss-card": ("社保卡补换", "social_security"),
    "ss-transfer": ("社保关系转移", "social_security"),
    "hf-withdraw": ("公积金提取", "housing_fund"),
    "hf-loan": ("公积金贷款", "housing_fund"),
    "hukou": ("户籍办理", "public_security"),
    "permit": ("居住证", "public_security"),
}


class NotFound(Exception):
    """No such record (the API answers 404)."""


class Conflict(Exception):
    """The request contradicts the department's state (the API answers 409 ``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DepartmentStore:
    """The departments' tables in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE), rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, *args: object) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args)]

    def meta(self, key: str) -> str | None:
        got = self.rows("SELECT v FROM meta WHERE k = ?", key)
        return str(got[0]["v"]) if got else None

    def once(
        self, key: str, op: str, apply: Callable[[sqlite3.Connection], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run ``apply`` at most once per idempotency ``key``; a retry gets the first answer.

        The same key used for another operation is a conflict, never a silent reuse.
        """
        with self.tx() as db:
            row = db.execute("SELECT op, answer FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if row["op"] != op:
                    raise Conflict("idempotency_key_reused")
                return dict(json.loads(row["answer"]))
            answer = apply(db)
            db.execute(
                "INSERT INTO idempotency (key, op, answer) VALUES (?, ?, ?)",
                (key, op, json.dumps(answer, ensure_ascii=False)),
            )
            return answer
