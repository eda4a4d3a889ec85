"""Refund and close a card at the counter (``backend_sync.central.counter_close``).

The balance is emptied by a counter purchase citing the order the central held for
it (in the counter's outbox like any purchase: the central verifies its TAC), so
the amount paid out is what the card proved it gave. Then the central pays the
balance and the deposit out of the drawer and terminates the card, and the counter
blocks it for good on the chip. Run again (a crash, a pulled card) it settles the
torn purchase with the card first and never pays twice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from backend_sync.counter_wire import REFUND_PAYEE, RefundState
from backend_sync.terminal.counter_client import new_op_id
from backend_sync.terminal.outbox import IntentId
from backend_sync.terminal.settle import settle_unfinished
from cardlib import purse as cp
from cardlib.errors import ApduError, CardError, DeviceError
from kiosk.counter.journal import JournalEntry
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.station import CounterError, OperatorCard

if TYPE_CHECKING:
    from kiosk.counter.session import CounterSession

__all__ = ["refund_and_close"]


def _empty(s: CounterSession, purse: cp.Purse, amount: int, order_id: str) -> None:
    outbox = s.station.outbox
    box: dict[str, IntentId] = {}

    def on_intent(it: cp.PurchaseIntent) -> None:
        box["id"] = outbox.begin_purchase(
            asn=it.asn.hex(), amount=it.amount, atc=it.offline_atc, ttc=it.ttc,
            date=it.date.hex(), time=it.time.hex(), key_version=it.key_version,
            algorithm=int(it.algorithm), balance_before=it.balance_before,
            payee=REFUND_PAYEE, order_id=order_id,
        )  # fmt: skip

    try:
        res = purse.purchase(s.station.psam(), amount, on_intent=on_intent,
                             now=dt.datetime.now(dt.UTC))  # fmt: skip
    except cp.DebitOutcomeUnknown as exc:
        raise CounterError("citizen_card_gone", "the card left during the purchase") from exc
    except DeviceError as exc:
        raise CounterError("citizen_card_gone", str(exc)) from exc
    except ApduError as exc:
        raise CounterError("card_refused", str(exc)) from exc
    outbox.complete(box["id"], tac=res.tac.hex(), mac2=res.mac2.hex(),
                    balance_after=res.balance_after)  # fmt: skip


def refund_and_close(
    s: CounterSession, supervisor: OperatorCard | None = None, entry: JournalEntry | None = None
) -> CounterReceipt:
    """Refund the card present and close it (or resume ``entry``)."""
    s.check_active()
    st = s.station
    purse = s._citizen(entry.asn if entry else None)
    if purse.blocked:
        raise CounterError("card_blocked", "unblock it first (card present), then refund")
    try:
        settle_unfinished(st.outbox, [purse])  # a torn emptying purchase: the card says
        balance = purse.balance()
    except CardError as exc:
        raise CounterError("citizen_card_error", str(exc)) from exc
    here = purse.asn.hex().upper()
    if entry is None:  # a refund of this card left unfinished (refused, torn) goes on
        entry = next((e for e in st.journal.unfinished() if (e.kind, e.asn) == ("refund", here)
                      and e.amount == balance), None)  # fmt: skip
    if entry is None:
        entry = JournalEntry(new_op_id(), "refund", here, balance, st.drawer)
        st.journal.add(entry)
    op_id, asn, drawer, amount = entry.op_id, entry.asn, entry.drawer, entry.amount
    state: RefundState = s._call(lambda: s.client.refund_begin(
        op_id, drawer=drawer, asn=asn, balance_fen=amount, supervisor=supervisor))  # fmt: skip
    st.upload()
    if state.state != "done":
        try:
            state = s._call(lambda: s.client.refund_finish(op_id))
        except CounterError as exc:
            if exc.reason != "refund_not_debited" or state.order_id is None:
                raise
            if balance != amount:
                raise CounterError("balance_changed", "the card moved since: refund anew") from exc
            _empty(s, purse, amount, state.order_id)
            st.upload()
            state = s._call(lambda: s.client.refund_finish(op_id))
    try:
        purse.block(st.psam(), permanent=True)
    except CardError as exc:
        raise CounterError("chip_block_failed", f"terminated and hotlisted; chip: {exc}") from exc
    st.journal.finish(op_id)
    total = amount + state.deposit_fen
    lines = (("balance_fen", str(amount)), ("deposit_fen", str(state.deposit_fen)),
             ("hotlist_version", str(state.hotlist_version or "")))  # fmt: skip
    return s._receipt("counter_refund", op_id, asn, total, 0, lines)
