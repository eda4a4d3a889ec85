"""Refund and close a card at the counter (docs/sync.md, "Counter operations").

1. **begin** (the card present): the operation recorded with the card's balance, and
   an order held for exactly that amount to the payee ``counter_refunds``; above
   ``refund_supervisor_above_fen`` (balance + deposit) a supervisor's card must sign
   the same request (403 ``supervisor_required``).
2. The counter empties the card with a purchase citing the order, in its outbox like
   any purchase; uploaded, the central verifies its TAC and posts card -> payee (the
   order paid) — the amount refunded is what the card proved it gave, never a GET
   BALANCE.
3. **finish**: once the order is paid: payee -> drawer (the balance in cash), the
   card's deposit account -> drawer (its deposit in cash) and the deposits other
   services hold for it (a public bike's, :mod:`backend_sync.central.deposits`) ->
   drawer, marked refunded (409 ``deposit_returning`` while such a deposit's load back
   to the purse is open), the card TERMINATED in the
   registry (a new hotlist version). The counter then blocks it for good on the chip.
   Idempotent; ``refund_not_debited`` (409) while the purchase has not arrived.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from backend_sync.central import deposits, ledger, registry
from backend_sync.central.counter import drawer_account, open_shift_row
from backend_sync.central.counter_models import counter_ops
from backend_sync.central.models import cards, orders
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import REFUND_PAYEE, RefundBegin, RefundFinish, RefundState

__all__ = ["REFUND_PAYEE", "deposit_account", "refund_begin", "refund_finish"]


def deposit_account(asn: str) -> str:
    """The ledger account of the deposit held for a card."""
    return f"deposit:card:{asn}"


def _state(conn: sa.Connection, row: Any, version: int | None = None) -> RefundState:
    order = conn.execute(
        sa.select(orders.c.id).where(
            orders.c.payee == REFUND_PAYEE, orders.c.reference == row.op_id
        )
    ).scalar()
    return RefundState(
        op_id=row.op_id, asn=row.asn, state=row.state, balance_fen=int(row.amount),
        deposit_fen=ledger.balance(conn, deposit_account(row.asn)),
        order_id=order, payee=REFUND_PAYEE if order else None, hotlist_version=version,
    )  # fmt: skip


def refund_begin(
    central: Central, op: Operator, sup: Operator | None, b: RefundBegin
) -> RefundState:
    """Step 1 (see the module doc); asked again it answers the state as it is."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        if row is not None:
            if (row.kind, row.asn, int(row.amount)) != ("refund", b.asn, b.balance_fen):
                raise Refused(409, "op_id_reused", b.op_id)
            return _state(conn, row)
        if open_shift_row(conn, b.drawer) is None:
            raise Refused(409, "no_open_shift", b.drawer)
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
        if status is None:
            raise Refused(404, "unknown_card", b.asn)
        if status == "terminated":
            raise Refused(409, "card_terminated", b.asn)
        if status != "active":  # its emptying purchase would be suspended, never paid
            raise Refused(409, "card_blocked", "unblock it (card present) first")
        deposit = ledger.balance(conn, deposit_account(b.asn))
        deposit += sum(d.amount for d in deposits.settled(conn, b.asn))
        if b.balance_fen + deposit > central.refund_supervisor_above_fen and sup is None:
            raise Refused(403, "supervisor_required",
                          f"refunds above {central.refund_supervisor_above_fen} fen")  # fmt: skip
        conn.execute(counter_ops.insert().values(
            op_id=b.op_id, kind="refund", terminal_id=op.terminal_id, operator_asn=op.asn,
            operator_number=op.number, asn=b.asn, amount=b.balance_fen, drawer=b.drawer,
            state="begun", created_ms=now, updated_ms=now,
        ))  # fmt: skip
        if b.balance_fen:
            # Held for the card's own active status check at ingest: a blocked card
            # (reported lost, then found) is emptied like any other.
            conn.execute(orders.insert().values(
                id=uuid.uuid4().hex, terminal_id=op.terminal_id, request_id=f"refund-{b.op_id}",
                asn=b.asn, payee=REFUND_PAYEE, reference=b.op_id, amount=b.balance_fen,
                status="held", created_ms=now,
            ))  # fmt: skip
        row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        return _state(conn, row)


def refund_finish(central: Central, op: Operator, b: RefundFinish) -> RefundState:
    """Step 3 (see the module doc)."""
    with central.engine.begin() as conn:
        row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        if row is None or row.kind != "refund":
            raise Refused(404, "unknown_op", b.op_id)
        if row.state == "done":
            return _state(conn, row)
        if int(row.amount):
            paid = conn.execute(
                sa.select(orders.c.status).where(
                    orders.c.payee == REFUND_PAYEE, orders.c.reference == b.op_id
                )
            ).scalar()
            if paid != "paid":
                raise Refused(409, "refund_not_debited", "upload the emptying purchase first")
        drawer, payee = drawer_account(row.drawer), ledger.payee_account(REFUND_PAYEE)
        deposit = deposit_account(row.asn)
        ids = ledger.account_ids(conn, [drawer, payee, deposit, deposits.ACCOUNT])
        held = ledger.balance(conn, deposit)
        bike = deposits.refund_held(conn, row.asn, central.now_ms())
        postings = []
        if int(row.amount):
            postings.append(ledger.posting("refund_balance", b.op_id,
                                           (ids[payee], -int(row.amount)),
                                           (ids[drawer], int(row.amount))))  # fmt: skip
        if held:
            postings.append(ledger.posting("refund_deposit", b.op_id, (ids[deposit], -held),
                                           (ids[drawer], held)))  # fmt: skip
        if bike:  # other services' deposits held for the card (a public bike's)
            postings.append(ledger.posting("refund_bike_deposit", b.op_id,
                                           (ids[deposits.ACCOUNT], -bike),
                                           (ids[drawer], bike)))  # fmt: skip
        ledger.post(conn, postings, central.now_ms())
        conn.execute(counter_ops.update().where(counter_ops.c.op_id == b.op_id).values(
            state="done", updated_ms=central.now_ms()))  # fmt: skip
    version = registry.set_card_status(central, asn=row.asn, status="terminated")
    with central.engine.connect() as conn:
        row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        out = _state(conn, row, version)
    return out.model_copy(update={"deposit_fen": held + bike})
