"""Checking bus tickets at boarding, offline: the central's signature and a used list.

The validator holds the central's public key and its own SQLite list of tickets
used per departure, so a copy of a ticket (a photocopy, a screenshot) is refused
at the same bus. Boardings are reported to the central when online; the central
counts each ticket once.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import tickets_qr
from backend_sync.services_wire import BoardingsAck

__all__ = ["BoardingReporter", "TicketValidator", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """``ok`` or a refusal ``reason``: not_a_ticket, bad_signature, wrong_departure, used."""

    ok: bool
    reason: str
    ticket_id: str = ""
    seat: int = 0


class BoardingReporter(Protocol):
    def report_boardings(self, *, departure: str, tickets: list[str]) -> BoardingsAck: ...


class TicketValidator:
    """The validator of one bus: the departure it serves and its used list."""

    def __init__(self, db: Path, central_key: ec.EllipticCurvePublicKey, departure: str) -> None:
        self.central_key = central_key
        self.departure = departure
        self._db = sqlite3.connect(db, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS used (ticket_id TEXT NOT NULL, departure TEXT NOT NULL,"
            " at_ms INTEGER NOT NULL, reported INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (departure, ticket_id))"
        )

    def close(self) -> None:
        self._db.close()

    def validate(self, qr: str) -> Verdict:
        """Check one scanned QR text; an accepted ticket is marked used in the same step."""
        try:
            claim = tickets_qr.decode(self.central_key, qr)
        except tickets_qr.TicketQrError as exc:
            return Verdict(False, exc.reason)
        if claim.departure != self.departure:
            return Verdict(False, "wrong_departure", claim.ticket_id, claim.seat)
        # The primary key decides: a second scan of the same ticket cannot insert.
        cur = self._db.execute(
            "INSERT OR IGNORE INTO used (ticket_id, departure, at_ms) VALUES (?, ?, ?)",
            (claim.ticket_id, self.departure, int(time.time() * 1000)),
        )
        if cur.rowcount == 0:
            return Verdict(False, "used", claim.ticket_id, claim.seat)
        return Verdict(True, "ok", claim.ticket_id, claim.seat)

    def unreported(self) -> list[str]:
        rows = self._db.execute(
            "SELECT ticket_id FROM used WHERE departure = ? AND reported = 0 ORDER BY at_ms",
            (self.departure,),
        )
        return [str(r[0]) for r in rows]

    def report(self, central: BoardingReporter) -> BoardingsAck:
        """Send the boardings not yet reported; marked reported once the central answered."""
        pending = self.unreported()[:500]
        ack = central.report_boardings(departure=self.departure, tickets=pending)
        self._db.executemany(
            "UPDATE used SET reported = 1 WHERE departure = ? AND ticket_id = ?",
            [(self.departure, t) for t in pending],
        )
        return ack
