"""Long-distance bus tickets: a seat at the bus station, an order held, a signed QR.

1. ``bus_hold``: the station reserves a seat (keyed by the ticket id) and the
   central holds an order of the fare for the card (payee ``bus``).
2. The kiosk debits the purse citing the order; the upload posts it (order paid).
3. ``bus_ticket``: for a paid order only, the QR signed by the central
   (:mod:`backend_sync.tickets_qr`), bound to the departure and seat.
4. ``bus_refund`` until departure (and not after boarding): the seat is released;
   the paid fare goes back to the card by a load (:mod:`.held_loads`).
5. ``bus_boardings``: validators report who boarded, once per ticket.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel

from backend_sync import tickets_qr
from backend_sync.central.city_services import Service, param
from backend_sync.central.departments import Departments
from backend_sync.central.models import orders
from backend_sync.central.service import Central, Refused
from backend_sync.central.service_models import bus_boardings, bus_tickets
from backend_sync.services_wire import BoardingsAck, BusTicket, BusTicketHold, ServiceCall

__all__ = ["SERVICES"]

_TZ = ZoneInfo("Asia/Shanghai")


def _departed(central: Central, day: str, time: str) -> bool:
    now = dt.datetime.fromtimestamp(central.clock(), _TZ).strftime("%Y-%m-%dT%H:%M")
    return f"{day}T{time}" <= now


def _hold(central: Central, d: Departments, call: ServiceCall) -> BaseModel:
    departure = param(call, "departure")
    with central.engine.connect() as conn:
        same = conn.execute(
            sa.select(bus_tickets).where(
                bus_tickets.c.terminal_id == call.terminal_id,
                bus_tickets.c.request_id == call.request_id,
            )
        ).first()
    if same is not None:
        return BusTicketHold(
            ticket_id=same.ticket_id,
            order_id=same.order_id,
            departure=same.departure,
            seat=same.seat,
            fare=same.fare,
        )
    # The ticket id is derived from the kiosk's request, so a retried hold sends the
    # station the same idempotency key and gets the same seat.
    ticket_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{call.terminal_id}/{call.request_id}").hex
    seat = d.sell_seat(key=ticket_id, departure=departure)
    now = central.now_ms()
    order_id = uuid.uuid4().hex
    with central.engine.begin() as conn:
        conn.execute(
            orders.insert().values(
                id=order_id,
                terminal_id=call.terminal_id,
                request_id=f"bus:{call.request_id}"[:64],
                asn=call.asn,
                payee="bus",
                reference=ticket_id,
                amount=seat.fare,
                status="held",
                created_ms=now,
            )
        )
        conn.execute(
            bus_tickets.insert().values(
                ticket_id=ticket_id,
                terminal_id=call.terminal_id,
                request_id=call.request_id,
                asn=call.asn,
                order_id=order_id,
                departure=seat.departure,
                day=seat.day,
                time=seat.time,
                origin=seat.origin,
                destination=seat.destination,
                seat=seat.seat,
                fare=seat.fare,
                status="held",
                created_ms=now,
            )
        )
    return BusTicketHold(
        ticket_id=ticket_id,
        order_id=order_id,
        departure=seat.departure,
        seat=seat.seat,
        fare=seat.fare,
    )


def _mine(central: Central, call: ServiceCall) -> sa.Row[tuple[object, ...]]:
    ticket_id = param(call, "ticket_id")
    q = (
        sa.select(bus_tickets, orders.c.status.label("order_status"))
        .join(orders, orders.c.id == bus_tickets.c.order_id)
        .where(bus_tickets.c.ticket_id == ticket_id)
    )
    with central.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None or row.asn != call.asn:
        raise Refused(404, "ticket_not_found", ticket_id)
    return row


def _answer(row: sa.Row[tuple[object, ...]], status: str, qr: str = "") -> BusTicket:
    m = row._mapping
    return BusTicket(
        ticket_id=str(m["ticket_id"]),
        departure=str(m["departure"]),
        day=str(m["day"]),
        time=str(m["time"]),
        origin=str(m["origin"]),
        destination=str(m["destination"]),
        seat=int(str(m["seat"])),
        fare=int(str(m["fare"])),
        status=status,
        qr=qr,
    )


def _issue(central: Central, _d: Departments, call: ServiceCall) -> BaseModel:
    row = _mine(central, call)
    if row.status == "refunded":
        raise Refused(409, "ticket_refunded", row.ticket_id)
    if row.order_status != "paid":
        raise Refused(409, "ticket_not_paid", "the purchase has not reached the central yet")
    with central.engine.begin() as conn:
        conn.execute(
            bus_tickets.update()
            .where(bus_tickets.c.ticket_id == row.ticket_id)
            .values(status="issued")
        )
    claim = tickets_qr.TicketClaim(row.ticket_id, row.departure, row.seat, row.fare)
    return _answer(row, "issued", tickets_qr.encode(central.signing_key, claim))


def _refund(central: Central, d: Departments, call: ServiceCall) -> BaseModel:
    row = _mine(central, call)
    if row.status == "refunded":  # again: the same answer, and whether the fare is back
        # (or on its way: a load for it is open; a void makes it claimable again)
        back = row.refund_status is not None
        return _answer(row, "fare_returned" if back else "refunded")
    with central.engine.connect() as conn:
        boarded = conn.execute(
            sa.select(bus_boardings.c.ticket_id).where(bus_boardings.c.ticket_id == row.ticket_id)
        ).first()
    if boarded is not None or _departed(central, row.day, row.time):
        raise Refused(409, "departed", row.departure)
    d.release_seat(key=f"rf-{row.ticket_id}", seat_id=row.ticket_id)
    with central.engine.begin() as conn:
        conn.execute(
            bus_tickets.update()
            .where(bus_tickets.c.ticket_id == row.ticket_id)
            .values(status="refunded")
        )
        # A held (unpaid) order is released; a paid fare is owed back to the card: a
        # load funded "bus_refund:<ticket>" returns it from payee:bus (held_loads.py).
        conn.execute(
            orders.update()
            .where(orders.c.id == row.order_id, orders.c.status == "held")
            .values(status="released")
        )
    return _answer(row, "refunded")


def _boardings(central: Central, _d: Departments, call: ServiceCall) -> BaseModel:
    departure = param(call, "departure")
    tickets = call.params.get("tickets")
    if not isinstance(tickets, list) or len(tickets) > 500:
        raise Refused(422, "bad_param", "tickets")
    known: set[str] = set()
    with central.engine.begin() as conn:
        if tickets:
            known = set(
                conn.execute(
                    sa.select(bus_tickets.c.ticket_id).where(
                        bus_tickets.c.ticket_id.in_(tickets),
                        bus_tickets.c.departure == departure,
                        bus_tickets.c.status == "issued",
                    )
                ).scalars()
            )
            have = set(
                conn.execute(
                    sa.select(bus_boardings.c.ticket_id).where(bus_boardings.c.ticket_id.in_(known))
                ).scalars()
            )
            for t in sorted(known - have):
                conn.execute(
                    bus_boardings.insert().values(
                        ticket_id=t,
                        departure=departure,
                        validator_id=call.terminal_id,
                        reported_ms=central.now_ms(),
                    )
                )
    return BoardingsAck(accepted=len(known), unknown=sorted(set(tickets) - known))


SERVICES: dict[str, Service] = {
    "bus_hold": Service(BusTicketHold, True, _hold),
    "bus_ticket": Service(BusTicket, True, _issue),
    "bus_refund": Service(BusTicket, True, _refund),
    "bus_boardings": Service(BoardingsAck, False, _boardings),
}
