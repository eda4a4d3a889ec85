"""The service hall (appointments, queue numbers) and the bus station's routes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

from simulators.departments.store import HALL_SERVICES, Conflict, DepartmentStore, NotFound

__all__ = ["add_hall_and_bus"]

Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)]


class Booking(BaseModel):
    asn: str = Field(pattern=r"^[0-9A-F]{20}$")
    service: str = Field(max_length=32)
    slot: str = Field(max_length=64)


class SeatRequest(BaseModel):
    departure: str = Field(max_length=64)


class QueueRequest(BaseModel):
    service: str = Field(max_length=32)


def add_hall_and_bus(app: FastAPI, store: DepartmentStore, now: Callable[[], dt.datetime]) -> None:
    """Add the hall's and the bus station's routes to ``app``."""
    # -- the service hall: appointments and queue numbers ---------------------------------

    @app.get("/hall/services")
    def hall_services() -> dict[str, Any]:
        return {
            "services": [
                {"code": c, "name": n, "department": d} for c, (n, d) in HALL_SERVICES.items()
            ]
        }

    @app.get("/hall/services/{service}/slots")
    def slots(service: str) -> dict[str, Any]:
        if service not in HALL_SERVICES:
            raise NotFound(service)
        got = store.rows(
            "SELECT s.id, s.start, s.capacity - (SELECT COUNT(*) FROM bookings b"
            " WHERE b.slot = s.id AND b.status = 'open') AS free FROM slots s"
            " WHERE s.service = ? AND s.start > ?"
            " ORDER BY s.start",
            service,
            now().isoformat(timespec="minutes"),
        )
        return {"service": service, "slots": got}

    @app.post("/hall/bookings")
    def book(body: Booking, idempotency_key: Key) -> dict[str, Any]:
        """Book one slot; one open booking per citizen per service."""

        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            slot = db.execute(
                "SELECT * FROM slots WHERE id = ? AND service = ?", (body.slot, body.service)
            ).fetchone()
            if slot is None:
                raise NotFound(body.slot)
            if slot["start"] <= now().isoformat(timespec="minutes"):
                raise Conflict("slot_past")
            if db.execute(
                "SELECT 1 FROM bookings WHERE asn = ? AND service = ? AND status = 'open'",
                (body.asn, body.service),
            ).fetchone():
                raise Conflict("already_booked")
            taken = db.execute(
                "SELECT COUNT(*) FROM bookings WHERE slot = ? AND status = 'open'", (body.slot,)
            ).fetchone()[0]
            if taken >= slot["capacity"]:
                raise Conflict("slot_full")
            db.execute(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, 'open')",
                (idempotency_key, body.asn, body.service, body.slot),
            )
            return {
                "booking": idempotency_key,
                "asn": body.asn,
                "service": body.service,
                "slot": body.slot,
                "start": slot["start"],
                "status": "open",
            }

        return store.once(idempotency_key, "book", apply)

    @app.get("/hall/bookings/{booking}")
    def booking(booking: str) -> dict[str, Any]:
        got = store.rows(
            "SELECT id AS booking, asn, service, slot, status FROM bookings WHERE id = ?", booking
        )
        if not got:
            raise NotFound(booking)
        return got[0]

    @app.post("/hall/bookings/{booking}/cancel")
    def cancel(booking: str, idempotency_key: Key) -> dict[str, Any]:
        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute("SELECT * FROM bookings WHERE id = ?", (booking,)).fetchone()
            if row is None:
                raise NotFound(booking)
            if row["status"] != "open":
                raise Conflict(f"booking_{row['status']}")
            db.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", (booking,))
            return {"booking": booking, "asn": row["asn"], "status": "cancelled"}

        return store.once(idempotency_key, f"cancel:{booking}", apply)

    @app.post("/hall/queue")
    def take_number(body: QueueRequest, idempotency_key: Key) -> dict[str, Any]:
        """A queue number for today (no card): the number and how many are ahead."""
        if body.service not in HALL_SERVICES:
            raise NotFound(body.service)
        day = now().date().isoformat()

        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            db.execute("INSERT OR IGNORE INTO queue VALUES (?, ?, 0, 0)", (body.service, day))
            db.execute(
                "UPDATE queue SET issued = issued + 1 WHERE service = ? AND day = ?",
                (body.service, day),
            )
            q = db.execute(
                "SELECT issued, served FROM queue WHERE service = ? AND day = ?",
                (body.service, day),
            ).fetchone()
            prefix = body.service[:2].upper()
            return {
                "service": body.service,
                "number": f"{prefix}{q['issued']:03d}",
                "ahead": q["issued"] - q["served"] - 1,
                "day": day,
            }

        return store.once(idempotency_key, "queue", apply)

    @app.post("/hall/queue/{service}/call")
    def call_next(service: str, idempotency_key: Key) -> dict[str, Any]:
        """The counter calls the next number (moves the queue on)."""
        day = now().date().isoformat()

        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            db.execute(
                "UPDATE queue SET served = served + 1 WHERE service = ? AND day = ? "
                "AND served < issued",
                (service, day),
            )
            q = db.execute(
                "SELECT issued, served FROM queue WHERE service = ? AND day = ?", (service, day)
            ).fetchone()
            return {"service": service, "served": q["served"] if q else 0}

        return store.once(idempotency_key, "call", apply)

    # -- the bus station ------------------------------------------------------------------

    @app.get("/bus/timetable")
    def timetable(day: str) -> dict[str, Any]:
        got = store.rows(
            "SELECT d.id, d.origin, d.destination, d.day, d.time, d.fare, d.seats - "
            "(SELECT COUNT(*) FROM seats s WHERE s.departure = d.id AND s.status = 'sold') "
            "AS seats_left FROM departures d WHERE d.day = ? ORDER BY d.time, d.destination",
            day,
        )
        return {"day": day, "departures": got}

    def departure(db: sqlite3.Connection, dep_id: str) -> sqlite3.Row:
        dep = db.execute("SELECT * FROM departures WHERE id = ?", (dep_id,)).fetchone()
        if dep is None:
            raise NotFound(dep_id)
        return dep  # type: ignore[no-any-return]

    def departed(dep: sqlite3.Row) -> bool:
        return f"{dep['day']}T{dep['time']}" <= now().isoformat(timespec="minutes")

    @app.post("/bus/seats")
    def sell_seat(body: SeatRequest, idempotency_key: Key) -> dict[str, Any]:
        """Reserve a seat on one departure; the key is the central's ticket id."""

        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            dep = departure(db, body.departure)
            if departed(dep):
                raise Conflict("departed")
            sold = db.execute(
                "SELECT COUNT(*) FROM seats WHERE departure = ? AND status = 'sold'", (dep["id"],)
            ).fetchone()[0]
            if sold >= dep["seats"]:
                raise Conflict("sold_out")
            seat = db.execute(
                "SELECT COALESCE(MAX(seat), 0) + 1 FROM seats WHERE departure = ?", (dep["id"],)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO seats VALUES (?, ?, ?, 'sold')", (idempotency_key, dep["id"], seat)
            )
            return {
                "seat_id": idempotency_key,
                "departure": dep["id"],
                "seat": seat,
                "fare": dep["fare"],
                "day": dep["day"],
                "time": dep["time"],
                "origin": dep["origin"],
                "destination": dep["destination"],
            }

        return store.once(idempotency_key, "seat", apply)

    @app.post("/bus/seats/{seat_id}/release")
    def release_seat(seat_id: str, idempotency_key: Key) -> dict[str, Any]:
        """Give a seat back (a refund or an unpaid hold); refused once the bus left."""

        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute("SELECT * FROM seats WHERE id = ?", (seat_id,)).fetchone()
            if row is None:
                raise NotFound(seat_id)
            if departed(departure(db, row["departure"])):
                raise Conflict("departed")
            db.execute("UPDATE seats SET status = 'released' WHERE id = ?", (seat_id,))
            return {"seat_id": seat_id, "status": "released"}

        return store.once(idempotency_key, f"release:{seat_id}", apply)
