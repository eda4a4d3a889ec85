"""Payment orders: held before the debit, paid by the purchase that cites them.

A hold lasts ``order_hold_s`` (30 min). It ends early when the holding terminal
releases it (the card left before the purchase intent was written) or when an
``aborted`` record cites it; it expires after the window unless an ``unsettled``
record cites it (the debit may have happened: the card's proof decides). A
purchase arriving after its order was released or expired still pays it when the
bill is free, flagged ``paid_after_release``; when the bill was held or paid again
meanwhile, the money goes to suspense (``order_superseded``) for a refund.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from backend_sync.central.models import cards, orders, terminal_records
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.wire import HoldOrderRequest, OrderHeld, ReleaseOrderRequest, record_dict

__all__ = ["expire_holds", "hold_order", "release_order"]


def _held(row: sa.Row[tuple[object, ...]] | sa.RowMapping) -> OrderHeld:
    m = row._mapping if isinstance(row, sa.Row) else row
    return OrderHeld(
        order_id=str(m["id"]),
        status=str(m["status"]),
        amount=int(str(m["amount"])),
        payee=str(m["payee"]),
        reference=str(m["reference"]),
    )


def hold_order(central: Central, req: HoldOrderRequest) -> OrderHeld:
    """Hold a bill for one card; idempotent by (terminal, request id).

    Refused when the card is not active or the bill is already held or paid.
    """
    try:
        return _hold(central, req)
    except Refused as exc:
        central.count_refusal(exc.reason, req.body.terminal_id, exc.detail)
        raise


def _hold(central: Central, req: HoldOrderRequest) -> OrderHeld:
    b = req.body
    with central.engine.begin() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
        same = conn.execute(
            sa.select(orders).where(
                orders.c.terminal_id == b.terminal_id, orders.c.request_id == b.request_id
            )
        ).first()
        if same is not None:
            return _held(same)
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
        if status != "active":
            raise Refused(403, "card_not_active", b.asn)
        taken = conn.execute(
            sa.select(orders.c.status).where(
                orders.c.payee == b.payee,
                orders.c.reference == b.reference,
                orders.c.status.in_(("held", "paid")),
            )
        ).scalar()
        if taken == "held" and _expire(central, conn, payee=b.payee, reference=b.reference):
            taken = None  # a stale hold (a kiosk that never came back) yields at once
        if taken is not None:
            raise Refused(409, f"order_{taken}", f"{b.payee} {b.reference}")
        row = {
            "id": uuid.uuid4().hex,
            "terminal_id": b.terminal_id,
            "request_id": b.request_id,
            "asn": b.asn,
            "payee": b.payee,
            "reference": b.reference,
            "amount": b.amount,
            "status": "held",
            "created_ms": central.now_ms(),
        }
        conn.execute(orders.insert().values(**row))
        return _held(row)  # type: ignore[arg-type]


def _expirable(central: Central) -> sa.ColumnElement[bool]:
    """Held past the window, and no unsettled record cites it (that debit may have
    happened; its card's proof settles it)."""
    t = terminal_records.c
    in_doubt = (
        sa.select(t.order_id).where(t.order_id == orders.c.id, t.status == "unsettled").exists()
    )
    return sa.and_(
        orders.c.status == "held",
        orders.c.created_ms < central.now_ms() - central.order_hold_s * 1000,
        ~in_doubt,
    )


def _expire(central: Central, conn: sa.Connection, **where: str) -> int:
    q = orders.update().where(_expirable(central))
    for col, value in where.items():
        q = q.where(orders.c[col] == value)
    return int(conn.execute(q.values(status="expired")).rowcount)


def expire_holds(central: Central) -> int:
    """Expire every hold past the window (``civicard central expire-holds``); returns
    how many. Holds also expire one by one when another payment of their bill asks."""
    with central.engine.begin() as conn:
        return _expire(central, conn)


def release_order(central: Central, req: ReleaseOrderRequest) -> OrderHeld:
    """Release a hold at the holding terminal's word (its debit never began).

    Idempotent; a paid order is not released (``order_paid``), another terminal's
    order is not this terminal's to release (``foreign_order``)."""
    try:
        return _release(central, req)
    except Refused as exc:
        central.count_refusal(exc.reason, req.body.terminal_id, exc.detail)
        raise


def _release(central: Central, req: ReleaseOrderRequest) -> OrderHeld:
    b = req.body
    with central.engine.begin() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
        row = conn.execute(
            sa.select(orders).where(orders.c.id == b.order_id).with_for_update()
        ).first()
        if row is None:
            raise Refused(404, "unknown_order", b.order_id)
        if row.terminal_id != b.terminal_id:
            raise Refused(403, "foreign_order", b.order_id)
        if row.status == "paid":
            raise Refused(409, "order_paid", b.order_id)
        if row.status == "held":
            conn.execute(
                orders.update()
                .where(orders.c.id == b.order_id, orders.c.status == "held")
                .values(status="released")
            )
        found = conn.execute(sa.select(orders).where(orders.c.id == b.order_id)).one()
        return _held(found)
