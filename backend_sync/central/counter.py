"""The counter station's operations at the central (docs/sync.md, "Counter operations").

Each function takes a request already proven by :mod:`backend_sync.central.operators`
(terminal and operator signatures, nonce spent). Money moves only through the
ledger's append-only postings and the load path (:mod:`backend_sync.central.loads`);
a drawer is a funding account ``funding:cash:<drawer>`` (funding.py).

- **Shifts**: a drawer has at most one open shift; its report counts the drawer
  account's entries since the shift opened (cash in: negative legs, the drawer took
  money from outside; cash out: positive legs), so expected = float + in - out and the
  clerk's count is set against it: a mismatch is reported, never hidden.
- **Operations** (a cash top-up): ``begin`` records the operation id before cash is
  taken; the load step authorizes the card's load into suspense from the drawer;
  ``finish`` closes it done, or reversed (cash handed back) while no load of it is
  still in suspense. A counter that crashed reads the record back (``get_op``) and
  resumes or reverses, never repeats.
- **Block / report loss / unblock**: the registry status and a new hotlist version
  at once; unblock only with the citizen's card present (its signature of this very
  request) and never for a terminated card.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel

from backend_sync.central import ledger, loads, registry
from backend_sync.central.counter_models import counter_ops, counter_shifts
from backend_sync.central.funding import FundingAccount, UnknownFunding
from backend_sync.central.models import (
    accounts,
    cards,
    hotlist_events,
    ledger_entries,
    ledger_txns,
    load_auths,
)
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import (
    BlockCard,
    CardLookup,
    CardProof,
    CardReport,
    CounterOp,
    CounterTopUp,
    OpBegin,
    OpFinish,
    ShiftClose,
    ShiftOpen,
    ShiftReport,
    operator_digest,
)
from backend_sync.wire import AuthorizeLoad, LoadAuthorization
from cardlib.certs import Role, validate_card_certificate
from cardlib.errors import AuthenticationError

__all__ = [
    "begin_op",
    "block_card",
    "close_shift",
    "drawer_account",
    "finish_op",
    "get_op",
    "lookup_card",
    "open_shift",
    "open_shift_row",
    "topup_load",
]


def drawer_account(drawer: str) -> str:
    """The ledger account of a counter's cash drawer."""
    return f"funding:cash:{drawer}"


# -- shifts -------------------------------------------------------------------------------


def _report(conn: sa.Connection, row: Any) -> ShiftReport:
    q = (
        sa.select(ledger_txns.c.kind, ledger_entries.c.amount)
        .select_from(
            ledger_entries.join(accounts, accounts.c.id == ledger_entries.c.account_id).join(
                ledger_txns, ledger_txns.c.id == ledger_entries.c.txn_id
            )
        )
        .where(accounts.c.code == drawer_account(row.drawer), ledger_entries.c.id > row.ledger_mark)
    )
    rows = [(str(k), int(a)) for k, a in conn.execute(q)]
    legs = [a for _k, a in rows]
    by_kind: dict[str, int] = {}
    for kind, a in rows:  # cash in (+) and out (-) by what moved it
        by_kind[kind] = by_kind.get(kind, 0) - a
    cash_in, cash_out = -sum(a for a in legs if a < 0), sum(a for a in legs if a > 0)
    expected = int(row.float_fen) + cash_in - cash_out
    counted = None if row.counted_fen is None else int(row.counted_fen)
    return ShiftReport(
        shift_id=row.shift_id, drawer=row.drawer, status=row.status, float_fen=int(row.float_fen),
        cash_in_fen=cash_in, cash_out_fen=cash_out, expected_fen=expected, counted_fen=counted,
        mismatch_fen=None if counted is None else counted - expected, by_kind=by_kind,
    )  # fmt: skip


def open_shift(central: Central, op: Operator, b: ShiftOpen) -> ShiftReport:
    """Open a shift on ``b.drawer`` with its float (409 ``shift_open`` if one is)."""
    with central.engine.begin() as conn:
        if open_shift_row(conn, b.drawer) is not None:
            raise Refused(409, "shift_open", b.drawer)
        mark = conn.execute(sa.select(sa.func.coalesce(sa.func.max(ledger_entries.c.id), 0)))
        conn.execute(
            counter_shifts.insert().values(
                shift_id=uuid.uuid4().hex, drawer=b.drawer, terminal_id=op.terminal_id,
                operator_asn=op.asn, status="open", float_fen=b.float_fen,
                ledger_mark=int(mark.scalar_one()), opened_ms=central.now_ms(),
            )
        )  # fmt: skip
        row = open_shift_row(conn, b.drawer)
        return _report(conn, row)


def open_shift_row(conn: sa.Connection, drawer: str) -> Any:
    """The drawer's open shift, or None."""
    return conn.execute(
        sa.select(counter_shifts).where(
            counter_shifts.c.drawer == drawer, counter_shifts.c.status == "open"
        )
    ).first()


def close_shift(central: Central, op: Operator, b: ShiftClose) -> ShiftReport:
    """Close the drawer's open shift with the clerk's count (409 ``no_open_shift``);
    the report shows any mismatch."""
    with central.engine.begin() as conn:
        row = open_shift_row(conn, b.drawer)
        if row is None:
            raise Refused(409, "no_open_shift", b.drawer)
        conn.execute(
            counter_shifts.update()
            .where(counter_shifts.c.shift_id == row.shift_id)
            .values(status="closed", counted_fen=b.counted_fen, closed_ms=central.now_ms())
        )
        row = conn.execute(
            sa.select(counter_shifts).where(counter_shifts.c.shift_id == row.shift_id)
        ).first()
        return _report(conn, row)


# -- operations ---------------------------------------------------------------------------


def _load_statuses(conn: sa.Connection, row: Any) -> set[str]:
    """The statuses of this operation's load authorizations (one per card attempt)."""
    return set(
        conn.execute(
            sa.select(load_auths.c.status).where(
                load_auths.c.request_id.like(f"{row.op_id}-%"),
                load_auths.c.terminal_id == row.terminal_id,
            )
        ).scalars()
    )


def _op(conn: sa.Connection, row: Any) -> CounterOp:
    statuses = _load_statuses(conn, row)
    return CounterOp(
        op_id=row.op_id, kind=row.kind, state=row.state, asn=row.asn, amount=int(row.amount),
        drawer=row.drawer, operator=row.operator_number, load_id=row.load_id,
        loaded="confirmed" in statuses, in_suspense="authorized" in statuses,
    )  # fmt: skip


def _op_row(conn: sa.Connection, op_id: str) -> Any:
    return conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == op_id)).first()


def get_op(central: Central, op_id: str) -> CounterOp:
    """The record of one operation (404 ``unknown_op``)."""
    with central.engine.connect() as conn:
        row = _op_row(conn, op_id)
    if row is None:
        raise Refused(404, "unknown_op", op_id)
    return _op(conn, row)


def begin_op(central: Central, op: Operator, b: OpBegin) -> CounterOp:
    """Record an operation before anything irreversible. Idempotent: the same id with
    the same content answers the record as it is now; other content is 409."""
    with central.engine.begin() as conn:
        row = _op_row(conn, b.op_id)
        if row is not None:
            if (row.kind, row.asn, int(row.amount), row.drawer, row.ref_op) != (
                b.kind, b.asn, b.amount, b.drawer, b.ref,
            ):  # fmt: skip
                raise Refused(409, "op_id_reused", b.op_id)
            return _op(conn, row)
        if open_shift_row(conn, b.drawer) is None:
            raise Refused(409, "no_open_shift", b.drawer)
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
        if status is None:
            raise Refused(404, "unknown_card", b.asn)
        if status != "active":
            raise Refused(403, "card_not_active", b.asn)
        if b.amount <= 0 or b.amount > central.max_purse_balance:
            raise Refused(422, "amount_out_of_range")
        funding = _recredit_source(conn, b) if b.kind == "recredit" else None
        if b.kind not in ("topup", "recredit"):
            raise Refused(409, "wrong_kind", f"{b.kind} operations have their own steps")
        now = central.now_ms()
        conn.execute(
            counter_ops.insert().values(
                op_id=b.op_id, kind=b.kind, terminal_id=op.terminal_id, operator_asn=op.asn,
                operator_number=op.number, asn=b.asn, amount=b.amount, drawer=b.drawer,
                state="begun", funding=funding, ref_op=b.ref, created_ms=now,
                updated_ms=now,
            )
        )  # fmt: skip
        return _op(conn, _op_row(conn, b.op_id))


def _recredit_source(conn: sa.Connection, b: OpBegin) -> str:
    """A voided load of this card and amount, not re-credited before: its funding
    source (where the void put the money back) pays the new load."""
    if b.ref is None:
        raise Refused(422, "voided_load_required", "ref names the voided load")
    auth = conn.execute(sa.select(load_auths).where(load_auths.c.id == b.ref)).first()
    if auth is None or auth.asn != b.asn or int(auth.amount) != b.amount:
        raise Refused(404, "unknown_voided_load", "not a load of this card and amount")
    if auth.status != "voided":
        raise Refused(409, "load_not_voided", f"the load is {auth.status}")
    owner = conn.execute(
        sa.select(counter_ops.c.op_id, counter_ops.c.state).where(
            counter_ops.c.op_id == auth.request_id.split("-")[0],
            counter_ops.c.terminal_id == auth.terminal_id,
        )
    ).first()
    if owner is not None and owner.state not in ("done", "reversed"):
        raise Refused(409, "resume_the_operation", owner.op_id)  # its own resume decides
    again = conn.execute(
        sa.select(counter_ops.c.op_id).where(
            counter_ops.c.kind == "recredit", counter_ops.c.ref_op == b.ref,
            counter_ops.c.state != "reversed",
        )
    ).first()  # fmt: skip
    if again is not None:
        raise Refused(409, "recredited_already", again.op_id)
    try:  # named in full: a bare "cash" was the drawer of the terminal that loaded
        fa = FundingAccount.parse(auth.funding, terminal_id=auth.terminal_id)
    except UnknownFunding as exc:
        raise Refused(409, "unknown_funding", str(exc)) from exc
    return f"{fa.kind.value}:{fa.holder}"


def topup_load(central: Central, op: Operator, b: CounterTopUp) -> LoadAuthorization:
    """The load step of a cash top-up: the card's MAC1 checked, the amount into
    suspense from the operation's drawer, MAC2 for CREDIT FOR LOAD. Asked again for
    the same card attempt it answers the same MAC2; a new attempt (the card was not
    credited: the same online ATC) voids the earlier authorization first."""
    with central.engine.begin() as conn:
        row = _op_row(conn, b.op_id)
        if row is None:
            raise Refused(404, "unknown_op", b.op_id)
        if row.kind not in ("topup", "issue", "recredit") or (row.asn, int(row.amount)) != (
            b.asn,
            b.amount,
        ):
            raise Refused(409, "op_mismatch", "not this operation's card or amount")
        if row.kind == "issue" and row.state == "begun":
            raise Refused(409, "not_personalized", "the card is not issued yet")
        if row.state not in ("begun", "personalized", "authorized"):
            raise Refused(409, "op_finished", row.state)
        load = AuthorizeLoad(
            terminal_id=op.terminal_id, request_id=f"{b.op_id}-{b.card_random}", asn=b.asn,
            amount=b.amount, balance_before=b.balance_before, atc=b.atc,
            card_random=b.card_random, key_version=b.key_version, algorithm=b.algorithm,
            mac1=b.mac1, date=b.date, time=b.time, funding=row.funding or f"cash:{row.drawer}",
            ts=b.ts,
        )  # fmt: skip
        auth = loads.authorize_checked(central, conn, load)
        conn.execute(
            counter_ops.update()
            .where(counter_ops.c.op_id == b.op_id)
            .values(state="authorized", load_id=auth.load_id, updated_ms=central.now_ms())
        )
        return auth


def finish_op(central: Central, op: Operator, b: OpFinish) -> CounterOp:
    """Close an operation: ``done`` once its load was authorized; ``reversed`` (the
    cash handed back) only while none of its money is in suspense or on the card —
    a load still ``authorized`` must first be settled with the card (409
    ``load_in_suspense``), a ``confirmed`` one cannot be reversed here."""
    with central.engine.begin() as conn:
        row = _op_row(conn, b.op_id)
        if row is None:
            raise Refused(404, "unknown_op", b.op_id)
        if row.state in ("done", "reversed"):
            if row.state != b.outcome:
                raise Refused(409, "op_finished", row.state)
            return _op(conn, row)
        statuses = _load_statuses(conn, row)
        if row.kind == "issue" and (row.state == "begun") is (b.outcome == "done"):
            # Done once personalized; reversed only before (no card was issued).
            raise Refused(409, "card_issued" if b.outcome == "reversed" else "not_personalized")
        nothing_to_load = row.kind == "issue" and int(row.amount) == 0
        if (
            b.outcome == "done"
            and not nothing_to_load
            and not statuses & {"authorized", "confirmed"}
        ):
            raise Refused(409, "op_not_loaded", b.op_id)
        if b.outcome == "reversed":
            if "authorized" in statuses:
                raise Refused(409, "load_in_suspense", "settle the load with the card first")
            if "confirmed" in statuses:
                raise Refused(409, "load_confirmed", "the money is on the card")
        conn.execute(
            counter_ops.update()
            .where(counter_ops.c.op_id == b.op_id)
            .values(state=b.outcome, updated_ms=central.now_ms())
        )
        if row.ref_op is not None and b.outcome == "done":  # the replacement is complete
            conn.execute(
                counter_ops.update()
                .where(counter_ops.c.op_id == row.ref_op)
                .values(state="done", updated_ms=central.now_ms())
            )
        return _op(conn, _op_row(conn, b.op_id))


# -- blocking and looking up --------------------------------------------------------------


def check_card_present(central: Central, body: BaseModel, nonce: str, proof: CardProof | None,
                       asn: str) -> None:  # fmt: skip
    """The citizen's card signed this request's digest (it was in the reader): 403
    ``card_not_present`` otherwise."""
    if proof is None:
        raise Refused(403, "card_not_present", "the card must be in the counter's reader")
    try:
        card = validate_card_certificate(
            bytes.fromhex(proof.certificate), trusted=list(central.card_cas),
            asn=bytes.fromhex(asn), now=central.now_utc(), role=Role.CITIZEN,
        )  # fmt: skip
        card.public_key.verify(
            bytes.fromhex(proof.signature), operator_digest(nonce, body), ec.ECDSA(hashes.SHA256())
        )
    except (AuthenticationError, InvalidSignature, ValueError) as exc:
        raise Refused(403, "card_not_present", str(exc)[:200]) from exc


def block_card(
    central: Central, op: Operator, b: BlockCard, nonce: str, card: CardProof | None
) -> int:
    """Report loss / block (hotlisted at once) or unblock; returns the hotlist version."""
    with central.engine.connect() as conn:
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
    if status is None:
        raise Refused(404, "unknown_card", b.asn)
    if b.action == "unblock":
        if status == "terminated":
            raise Refused(409, "card_terminated", b.asn)
        check_card_present(central, b, nonce, card, b.asn)
        return registry.set_card_status(central, asn=b.asn, status="active")
    return registry.set_card_status(central, asn=b.asn, status="blocked")


def lookup_card(central: Central, b: CardLookup) -> CardReport:
    """Status, ledger balance and history, loads in suspense and voided loads."""
    code = ledger.card_account(b.asn)
    with central.engine.connect() as conn:
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == b.asn)).scalar()
        if status is None:
            raise Refused(404, "unknown_card", b.asn)
        rows = conn.execute(
            sa.select(
                ledger_txns.c.kind,
                ledger_txns.c.ref,
                ledger_txns.c.created_ms,
                ledger_entries.c.amount,
            )
            .select_from(
                ledger_entries.join(accounts, accounts.c.id == ledger_entries.c.account_id).join(
                    ledger_txns, ledger_txns.c.id == ledger_entries.c.txn_id
                )
            )
            .where(accounts.c.code == code)
            .order_by(ledger_entries.c.id.desc())
            .limit(50)
        ).all()
        auths = conn.execute(
            sa.select(
                load_auths.c.id, load_auths.c.amount, load_auths.c.status, load_auths.c.created_ms
            )
            .where(load_auths.c.asn == b.asn, load_auths.c.status.in_(("authorized", "voided")))
            .order_by(load_auths.c.created_ms)
        ).all()
        version = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(hotlist_events.c.version), 0))
        ).scalar_one()
        bal = ledger.balance(conn, code)
    return CardReport(
        asn=b.asn, status=str(status), balance_fen=bal, hotlist_version=int(version),
        history=[{"kind": k, "ref": r, "at_ms": int(t), "amount": int(a)} for k, r, t, a in rows],
        loads_in_suspense=[_auth(a) for a in auths if a.status == "authorized"],
        voided_loads=[_auth(a) for a in auths if a.status == "voided"],
    )  # fmt: skip


def _auth(a: Any) -> dict[str, int | str]:
    when = dt.datetime.fromtimestamp(a.created_ms / 1000, dt.UTC).isoformat(timespec="seconds")
    return {"load_id": a.id, "amount": int(a.amount), "at": when}
