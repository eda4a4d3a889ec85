"""Public-bike deposits held at the central, returned to the purse by a load.

1. ``bike_deposit_hold``: an order of the deposit (payee ``bike_deposit``) is held
   for the card and a deposit row made; the kiosk debits the purse citing the
   order. Once the purchase posts (order paid) the money sits in
   ``payee:bike_deposit`` and the deposit is held.
2. ``bike_status``: the card's deposit (``none``, ``pending``, ``held``,
   ``returning``, ``returned``).
3. Returning it is an ordinary online load (:mod:`backend_sync.central.loads`) whose
   ``funding`` is :data:`FUNDING`: the central checks that the card has a held
   deposit of exactly that amount, and the load moves it from
   ``payee:bike_deposit`` to suspense (and on the card's TAC to the card). A voided
   load puts it back: the deposit is held again.

:func:`held_deposits` lists what the central holds for a card, for the counter to
carry over or refund when the card is replaced or closed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from backend_sync.central.city_services import Service
from backend_sync.central.ledger import payee_account
from backend_sync.central.models import orders
from backend_sync.central.service import Central, Refused
from backend_sync.central.service_models import bike_deposits
from backend_sync.services_wire import BikeDeposit, ServiceCall

__all__ = [
    "ACCOUNT",
    "FUNDING",
    "PAYEE",
    "SERVICES",
    "HeldDeposit",
    "carry_over",
    "claim_for_load",
    "held_deposits",
    "load_resolved",
    "refund_held",
    "settled",
]

PAYEE = "bike_deposit"
ACCOUNT = payee_account(PAYEE)  # where held deposits sit in the ledger
FUNDING = "bike_deposit"  # a load's ``funding`` that returns the card's deposit
DEPOSIT_FEN = 10_000  # ¥100, the city's public-bike deposit


@dataclass(frozen=True)
class HeldDeposit:
    """A deposit the central holds for a card (paid, not yet returned)."""

    deposit_id: str
    asn: str
    amount: int
    status: str  # "held", or "returning" while a load back to the purse is open
    created_ms: int


def _query(asn: str) -> sa.Select[Any]:
    return (
        sa.select(bike_deposits, orders.c.status.label("order_status"))
        .join(orders, orders.c.id == bike_deposits.c.order_id)
        .where(bike_deposits.c.asn == asn)
        .order_by(bike_deposits.c.created_ms.desc())
    )


def held_deposits(conn: sa.Connection, asn: str) -> list[HeldDeposit]:
    """Deposits held for ``asn``: paid into ``payee:bike_deposit`` and not returned
    (``returning`` ones too: their load may still be voided). The counter carries
    these over to a replacement card or refunds them when the card is closed."""
    rows = conn.execute(_query(asn.upper())).all()
    return [
        HeldDeposit(r.id, r.asn, int(r.amount), r.status, int(r.created_ms))
        for r in rows
        if r.order_status == "paid" and r.status in ("held", "returning")
    ]


def settled(conn: sa.Connection, asn: str) -> list[HeldDeposit]:
    """The card's held deposits, refused (409 ``deposit_returning``) while one of them
    is on its way back to the purse (its load may still reach the card): checked
    before a counter empties, closes or replaces the card."""
    held = held_deposits(conn, asn)
    if any(d.status == "returning" for d in held):
        raise Refused(409, "deposit_returning", "the bike deposit's load is open: settle it first")
    return held


def carry_over(conn: sa.Connection, old_asn: str, new_asn: str) -> int:
    """A replacement: the old card's held deposits become the new card's (the money
    stays in :data:`ACCOUNT`; only whose it is changes), in the caller's transaction.
    A deposit still ``returning`` is refused (409 ``deposit_returning``): its load
    must be settled first. Returns the fen carried."""
    held = settled(conn, old_asn)
    if held:
        conn.execute(
            bike_deposits.update()
            .where(bike_deposits.c.id.in_([d.deposit_id for d in held]))
            .values(asn=new_asn.upper())
        )
    return sum(d.amount for d in held)


def refund_held(conn: sa.Connection, asn: str, now_ms: int) -> int:
    """Refund and close: the card's held deposits marked ``refunded``; the caller posts
    the returned fen from :data:`ACCOUNT` to the drawer in the same transaction.
    409 ``deposit_returning`` as :func:`carry_over`."""
    held = settled(conn, asn)
    if held:
        conn.execute(
            bike_deposits.update()
            .where(bike_deposits.c.id.in_([d.deposit_id for d in held]))
            .values(status="refunded", resolved_ms=now_ms)
        )
    return sum(d.amount for d in held)


def _status(conn: sa.Connection, asn: str) -> BikeDeposit:
    for r in conn.execute(_query(asn)).all():
        if r.status == "refunded":  # paid back in cash at the counter: none now
            continue
        if r.status in ("returning", "returned") or r.order_status == "paid":
            return BikeDeposit(deposit_id=r.id, order_id=r.order_id, amount=int(r.amount),
                               status=r.status)  # fmt: skip
        if r.order_status == "held":
            return BikeDeposit(deposit_id=r.id, order_id=r.order_id, amount=int(r.amount),
                               status="pending")  # fmt: skip
    return BikeDeposit(status="none", amount=DEPOSIT_FEN)  # what enabling would hold


def _hold(central: Central, call: ServiceCall) -> BaseModel:
    asn = call.asn or ""
    with central.engine.begin() as conn:
        same = conn.execute(
            sa.select(orders.c.id).where(
                orders.c.terminal_id == call.terminal_id,
                orders.c.request_id == f"bike:{call.request_id}"[:64],
            )
        ).scalar()
        if same is not None:  # the kiosk's retry: the same deposit
            return _status(conn, asn)
        now = _status(conn, asn)
        if now.status in ("pending", "held", "returning"):
            raise Refused(409, "deposit_already_held", now.status)
        deposit_id, order_id, at = uuid.uuid4().hex, uuid.uuid4().hex, central.now_ms()
        conn.execute(orders.insert().values(
            id=order_id, terminal_id=call.terminal_id,
            request_id=f"bike:{call.request_id}"[:64], asn=asn, payee=PAYEE,
            reference=deposit_id, amount=DEPOSIT_FEN, status="held", created_ms=at))  # fmt: skip
        conn.execute(bike_deposits.insert().values(
            id=deposit_id, asn=asn, order_id=order_id, amount=DEPOSIT_FEN, status="held",
            created_ms=at))  # fmt: skip
    return BikeDeposit(deposit_id=deposit_id, order_id=order_id, amount=DEPOSIT_FEN,
                       status="pending")  # fmt: skip


def _state(central: Central, call: ServiceCall) -> BaseModel:
    with central.engine.connect() as conn:
        return _status(conn, call.asn or "")


def claim_for_load(conn: sa.Connection, asn: str, amount: int, load_id: str) -> None:
    """A load funded by :data:`FUNDING`: the card's held deposit of exactly ``amount``
    becomes ``returning`` under ``load_id`` (in the load's transaction), else 409."""
    held = [d for d in held_deposits(conn, asn) if d.status == "held"]
    if not held:
        raise Refused(409, "no_deposit", asn)
    if held[0].amount != amount:
        raise Refused(409, "deposit_amount_mismatch", str(held[0].amount))
    conn.execute(
        bike_deposits.update()
        .where(bike_deposits.c.id == held[0].deposit_id, bike_deposits.c.status == "held")
        .values(status="returning", load_id=load_id)
    )


def load_resolved(conn: sa.Connection, load_ids: list[str], status: str, now_ms: int) -> None:
    """Loads returning deposits were ``confirmed`` (returned) or ``voided`` (held
    again, keeping the load's id: a late confirmation of that load, the card's TAC
    arriving after the void, still marks it returned)."""
    if not load_ids:
        return
    where = bike_deposits.c.load_id.in_(load_ids)
    if status == "confirmed":
        conn.execute(
            bike_deposits.update()
            .where(where, bike_deposits.c.status.in_(("returning", "held")))
            .values(status="returned", resolved_ms=now_ms)
        )
    else:
        conn.execute(
            bike_deposits.update()
            .where(where, bike_deposits.c.status == "returning")
            .values(status="held")
        )


SERVICES: dict[str, Service] = {
    "bike_deposit_hold": Service(BikeDeposit, True, None, central_only=_hold),
    "bike_status": Service(BikeDeposit, True, None, central_only=_state),
}
