"""Payment orders: held before the debit, paid by the purchase that cites them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from backend_sync.central.models import cards, orders
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.wire import HoldOrderRequest, OrderHeld, record_dict

__all__ = ["hold_order"]


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
