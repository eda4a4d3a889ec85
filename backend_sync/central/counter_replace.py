"""Replacing a card with its balance carried over (docs/sync.md, "Replacement and the quarantine").

**Old card present**: begin holds an order of exactly the card's balance to the payee
``counter_carry``; the counter empties the card with a purchase citing it (its TAC
verified at ingest), so the carry is what the card proved it gave, never a GET
BALANCE; transfer then moves it payee -> the replacement's carry account.

**Old card lost**: it must be hotlisted for at least ``card_quarantine_s`` (which must
be at least the terminals' hotlist maximum age plus their maximum unsent-record age:
after that every offline debit it can have made has arrived, docs/sync.md "The oldest
unsent record"); loads still in suspense are settled first (409 ``loads_in_suspense``:
the card's proof or the void rule decides them). The carried amount is the card's
ledger (shadow) balance, which already holds every late debit that arrived
(``late_debits_fen``, shown on the receipt): card -> carry account.

Both: a negative shadow balance carries nothing (the debt stays on the old card's
account, flagged ``negative_carry`` for a supervisor); above the new card's maximum
balance the rest is paid out in cash from the drawer. The old card is TERMINATED (new
hotlist version), its deposit (and the deposits other services hold for it: a public
bike's) moved to the new card with the new card's issue. The new
card is issued with ``replaces`` = this operation: its opening load is the carry, a
real CREDIT FOR LOAD authorized by the central from the carry account. A debit of the
old card arriving after the transfer is suspended and flagged (``hotlisted_card``)
like any debit of a hotlisted card, never silently absorbed; ``lookup`` shows it.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from backend_sync.central import deposits, ledger, registry
from backend_sync.central.counter import drawer_account, open_shift_row
from backend_sync.central.counter_models import counter_ops
from backend_sync.central.models import (
    anomalies,
    cards,
    hotlist_events,
    load_auths,
    orders,
    terminal_records,
)
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import CARRY_PAYEE, ReplaceBegin, ReplaceState, ReplaceTransfer

__all__ = ["carry_account", "replace_begin", "replace_transfer"]


def carry_account(op_id: str) -> str:
    """The funding account a replacement's carried balance waits in for the new card."""
    return f"funding:deposit:carry-{op_id}"


def _blocked_since(conn: sa.Connection, asn: str) -> int | None:
    q = sa.select(hotlist_events.c.action, hotlist_events.c.at_ms).where(
        hotlist_events.c.asn == asn
    ).order_by(hotlist_events.c.version.desc())  # fmt: skip
    last = conn.execute(q).first()
    return int(last.at_ms) if last is not None and last.action == "block" else None


def _late_debits(conn: sa.Connection, asn: str, since_ms: int) -> int:
    t = terminal_records.c
    q = sa.select(sa.func.coalesce(sa.func.sum(t.amount), 0)).where(
        t.asn == asn, t.kind == "purchase", t.received_ms > since_ms,
        t.status.in_(("posted", "suspended")),
    )  # fmt: skip
    return int(conn.execute(q).scalar_one())


def _state(conn: sa.Connection, row: Any, **kw: Any) -> ReplaceState:
    order = conn.execute(
        sa.select(orders.c.id).where(orders.c.payee == CARRY_PAYEE, orders.c.reference == row.op_id)
    ).scalar()
    return ReplaceState(op_id=row.op_id, asn=row.asn, state=row.state,
                        present=row.funding == "present", order_id=order,
                        carried_fen=int(row.amount), **kw)  # fmt: skip


def replace_begin(central: Central, op: Operator, b: ReplaceBegin) -> ReplaceState:
    """Record the replacement (idempotent); see the module doc for the conditions."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        if row is not None:
            if (row.kind, row.asn, row.funding == "present") != ("replace", b.asn, b.present):
                raise Refused(409, "op_id_reused", b.op_id)
            return _state(conn, row)
        if open_shift_row(conn, b.drawer) is None:
            raise Refused(409, "no_open_shift", b.drawer)
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
        if status is None:
            raise Refused(404, "unknown_card", b.asn)
        if status == "terminated":
            raise Refused(409, "card_terminated", "replaced or refunded already")
        if b.present and status != "active":
            raise Refused(409, "card_blocked", "unblock it (card present) first")
        deposits.settled(conn, b.asn)
        if not b.present:
            since = _blocked_since(conn, b.asn)
            if since is None:
                raise Refused(409, "not_reported_lost", "report the loss first")
            until = since + central.card_quarantine_s * 1000
            if now < until:
                raise Refused(409, "in_quarantine", f"carry possible from {until} ms")
            pending = sa.select(load_auths.c.id).where(
                load_auths.c.asn == b.asn, load_auths.c.status == "authorized"
            )
            if conn.execute(pending).first():
                raise Refused(409, "loads_in_suspense", "settled by the card or the void rule")
        conn.execute(counter_ops.insert().values(
            op_id=b.op_id, kind="replace", terminal_id=op.terminal_id, operator_asn=op.asn,
            operator_number=op.number, asn=b.asn, amount=b.balance_fen if b.present else 0,
            drawer=b.drawer, state="begun", funding="present" if b.present else "lost",
            created_ms=now, updated_ms=now,
        ))  # fmt: skip
        if b.present and b.balance_fen:
            conn.execute(orders.insert().values(
                id=uuid.uuid4().hex, terminal_id=op.terminal_id, request_id=f"carry-{b.op_id}",
                asn=b.asn, payee=CARRY_PAYEE, reference=b.op_id, amount=b.balance_fen,
                status="held", created_ms=now,
            ))  # fmt: skip
        return _state(conn, _row(conn, b.op_id))


def _row(conn: sa.Connection, op_id: str) -> Any:
    row = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == op_id)).first()
    if row is None or row.kind != "replace":
        raise Refused(404, "unknown_op", op_id)
    return row


def replace_transfer(central: Central, op: Operator, b: ReplaceTransfer) -> ReplaceState:
    """Freeze and move the carry; the old card terminated (see the module doc)."""
    with central.engine.begin() as conn:
        row = _row(conn, b.op_id)
        if row.state != "begun":
            return _state(conn, row)
        deposits.settled(conn, row.asn)
        present = row.funding == "present"
        card = ledger.card_account(row.asn)
        carry, drawer = carry_account(row.op_id), drawer_account(row.drawer)
        source = ledger.payee_account(CARRY_PAYEE) if present else card
        if present:
            amount = int(row.amount)
            if amount and conn.execute(sa.select(orders.c.status).where(
                orders.c.payee == CARRY_PAYEE, orders.c.reference == row.op_id,
            )).scalar() != "paid":  # fmt: skip
                raise Refused(409, "carry_not_debited", "upload the emptying purchase first")
            shadow, late = amount, 0
        else:
            shadow = ledger.balance(conn, card)
            late = _late_debits(conn, row.asn, _blocked_since(conn, row.asn) or 0)
            amount = max(shadow, 0)
            if shadow < 0:
                conn.execute(anomalies.insert().values(
                    asn=row.asn, kind="negative_carry", detail=f"{row.op_id}: {shadow} fen",
                    at_ms=central.now_ms()))  # fmt: skip
        carried = min(amount, central.max_purse_balance)
        ids = ledger.account_ids(conn, [source, carry, drawer])
        postings = []
        if carried:
            postings.append(ledger.posting("replace_carry", row.op_id, (ids[source], -carried),
                                           (ids[carry], carried)))  # fmt: skip
        if amount > carried:  # above the new card's maximum: the rest in cash
            postings.append(ledger.posting("replace_cash", row.op_id,
                                           (ids[source], carried - amount),
                                           (ids[drawer], amount - carried)))  # fmt: skip
        ledger.post(conn, postings, central.now_ms())
        conn.execute(counter_ops.update().where(counter_ops.c.op_id == row.op_id).values(
            state="authorized", amount=carried, updated_ms=central.now_ms()))  # fmt: skip
        row = _row(conn, b.op_id)
        state = _state(conn, row, shadow_fen=shadow, late_debits_fen=late,
                       cash_out_fen=amount - carried,
                       deposit_fen=ledger.balance(conn, f"deposit:card:{row.asn}"))  # fmt: skip
    registry.set_card_status(central, asn=row.asn, status="terminated")
    return state
