"""Loads that give back money the central holds for a card, instead of new money.

A load's ``funding`` names where its money comes from (:mod:`.funding`). Two
sources are money the card paid earlier and the central still holds for it:

- ``bike_deposit``: the card's public-bike deposit, in ``payee:bike_deposit``
  (:mod:`.deposits`);
- ``bus_refund:<ticket id>``: the fare of a bus ticket refunded before departure,
  in ``payee:bus`` (the station has not been paid it).

For these the central checks, in the load's own transaction, that the card has
exactly that amount to get back and marks it ``returning`` under the load's id
(a second load for the same money is refused); the card's TAC (or a later MAC1)
confirms it (``returned``), a void makes it claimable again.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central import deposits
from backend_sync.central.ledger import payee_account
from backend_sync.central.models import orders
from backend_sync.central.service import Refused
from backend_sync.central.service_models import bus_tickets

__all__ = ["BUS_REFUND", "claim", "resolved", "source_account"]

BUS_REFUND = "bus_refund:"  # + ticket id


def source_account(funding: str) -> str | None:
    """The ledger account held money of ``funding`` sits in, or None (new money)."""
    if funding == deposits.FUNDING:
        return deposits.ACCOUNT
    if funding.startswith(BUS_REFUND):
        return payee_account("bus")
    return None


def claim(conn: sa.Connection, funding: str, asn: str, amount: int, load_id: str) -> None:
    """The money ``funding`` names becomes ``returning`` under ``load_id``, or 409."""
    if funding == deposits.FUNDING:
        deposits.claim_for_load(conn, asn, amount, load_id)
        return
    ticket_id = funding.removeprefix(BUS_REFUND)
    row = conn.execute(
        sa.select(bus_tickets, orders.c.status.label("order_status"))
        .join(orders, orders.c.id == bus_tickets.c.order_id)
        .where(bus_tickets.c.ticket_id == ticket_id)
    ).first()
    if row is None or row.asn != asn or row.status != "refunded" or row.order_status != "paid":
        raise Refused(409, "nothing_to_refund", ticket_id)
    if row.refund_status is not None:
        raise Refused(409, "refund_returned", ticket_id)
    if int(row.fare) != amount:
        raise Refused(409, "refund_amount_mismatch", str(row.fare))
    conn.execute(
        bus_tickets.update()
        .where(bus_tickets.c.ticket_id == ticket_id, bus_tickets.c.refund_status.is_(None))
        .values(refund_status="returning", refund_load_id=load_id)
    )


def resolved(conn: sa.Connection, load_ids: list[str], status: str, now_ms: int) -> None:
    """Loads ``confirmed`` (the money is on the card: returned) or ``voided`` (it can
    be claimed again; the load id stays, so a late confirmation still counts)."""
    if not load_ids:
        return
    deposits.load_resolved(conn, load_ids, status, now_ms)
    where = bus_tickets.c.refund_load_id.in_(load_ids)
    if status == "confirmed":
        conn.execute(bus_tickets.update().where(where).values(refund_status="returned"))
    else:
        conn.execute(
            bus_tickets.update()
            .where(where, bus_tickets.c.refund_status == "returning")
            .values(refund_status=None)
        )
