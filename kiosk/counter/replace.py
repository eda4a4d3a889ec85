"""Replacing a card with its balance carried (``backend_sync.central.counter_replace``).

Two steps, so that the clerk can swap the cards in the reader between them:

1. :func:`begin_replacement`: the old card present is emptied by a counter purchase
   citing the order the central held (the carry is what the card proved it gave) and
   blocked for good on the chip; or, for a lost card, the central checks the
   quarantine and freezes its ledger balance. Either way the carry is transferred
   and the old card TERMINATED. Returns the :class:`Replacement` with the calculation.
2. :func:`complete_replacement`: the new card issued from the blank one in the reader,
   its opening load the carry (a CREDIT FOR LOAD the central authorizes from the
   carry account), the receipt showing the calculation.

Each step is resumable from the journal (``CounterSession.resume``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend_sync.counter_wire import CARRY_PAYEE, ReplaceState
from backend_sync.terminal.counter_client import new_op_id
from backend_sync.terminal.outbox import IntentId
from backend_sync.terminal.settle import settle_unfinished
from cardlib import purse as cp
from cardlib.errors import ApduError, CardError, DeviceError
from kiosk.counter.issue import Application, holder_fields, issue_card
from kiosk.counter.journal import JournalEntry
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.station import CounterError

if TYPE_CHECKING:
    from kiosk.counter.session import CounterSession

__all__ = ["RENEW_ATC_FROM", "RENEW_WITHIN_DAYS", "Replacement", "begin_renewal",
           "begin_replacement", "complete_replacement"]  # fmt: skip

RENEW_WITHIN_DAYS = 90  # a card expiring this soon may be renewed
RENEW_ATC_FROM = 65_000  # a transaction counter this high: renew before 65535 stops it


@dataclass(frozen=True)
class Replacement:
    """A transferred replacement: its journal entry and the central's calculation."""

    entry: JournalEntry
    state: ReplaceState
    # False when the transfer was made before (a resumed replacement): the central's
    # answer then has the amount carried, not the calculation that led to it.
    calculated: bool = True

    @property
    def lines(self) -> tuple[tuple[str, str], ...]:
        st = self.state
        if not self.calculated:
            return (("replaces", st.asn), ("carried_fen", str(st.carried_fen)))
        return (("replaces", st.asn), ("shadow_fen", str(st.shadow_fen)),
                ("late_debits_fen", str(st.late_debits_fen)),
                ("carried_fen", str(st.carried_fen)), ("cash_out_fen", str(st.cash_out_fen)),
                ("deposit_fen", str(st.deposit_fen)))  # fmt: skip


def _empty(s: CounterSession, purse: cp.Purse, amount: int, order_id: str) -> None:
    outbox = s.station.outbox
    box: dict[str, IntentId] = {}

    def on_intent(it: cp.PurchaseIntent) -> None:
        box["id"] = outbox.begin_purchase(
            asn=it.asn.hex(), amount=it.amount, atc=it.offline_atc, ttc=it.ttc,
            date=it.date.hex(), time=it.time.hex(), key_version=it.key_version,
            algorithm=int(it.algorithm), balance_before=it.balance_before,
            payee=CARRY_PAYEE, order_id=order_id,
        )  # fmt: skip

    try:
        res = purse.purchase(s.station.psam(), amount, on_intent=on_intent,
                             now=dt.datetime.now(dt.UTC))  # fmt: skip
    except (cp.DebitOutcomeUnknown, DeviceError) as exc:
        raise CounterError("citizen_card_gone", "the card left during the purchase") from exc
    except ApduError as exc:
        raise CounterError("card_refused", str(exc)) from exc
    outbox.complete(box["id"], tac=res.tac.hex(), mac2=res.mac2.hex(),
                    balance_after=res.balance_after)  # fmt: skip


def begin_replacement(
    s: CounterSession,
    *,
    lost_asn: str | None = None,
    entry: JournalEntry | None = None,
    application: Application | None = None,
) -> Replacement:
    """Step 1 (see the module doc): the old card in the reader, or ``lost_asn``;
    ``application`` (the new card's holder data) is kept in the journal's entry so a
    restarted counter can finish step 2. Resumed (``entry``) after the transfer was
    made, the old card is not needed (it is blocked for good by then)."""
    s.check_active()
    st = s.station
    present = lost_asn is None and (entry is None or (entry.amount >= 0 and entry.ref != "lost"))
    purse = None
    balance = 0
    if present:
        try:
            purse = s._citizen(entry.asn if entry else None)
        except (CounterError, CardError):  # no card, a blank one, the old one closed
            if entry is None:
                raise
            purse = None  # resumed: the central says below whether the old card is needed
    if purse is not None:
        if purse.blocked:
            raise CounterError("card_blocked", "unblock it (card present) first")
        try:
            settle_unfinished(st.outbox, [purse])
            balance = purse.balance()
        except CardError as exc:
            raise CounterError("citizen_card_error", str(exc)) from exc
    asn = purse.asn.hex().upper() if purse is not None else str(lost_asn).upper()
    if entry is None:  # one refused before (a lost card in quarantine) goes on
        entry = next((e for e in st.journal.unfinished() if (e.kind, e.asn) == ("replace", asn)
                      and e.amount == balance), None)  # fmt: skip
    if entry is None:
        entry = JournalEntry(new_op_id(), "replace", asn, balance, st.drawer,
                             ref="" if present else "lost",
                             **holder_fields(application))  # fmt: skip
        st.journal.add(entry)
    elif application is not None and not entry.name:
        entry = dataclasses.replace(entry, **holder_fields(application))
        st.journal.add(entry)
    op_id, asn, amount = entry.op_id, entry.asn, entry.amount
    state: ReplaceState = s._call(lambda: s.client.replace_begin(
        op_id, drawer=entry.drawer, asn=asn, present=present, balance_fen=amount))  # fmt: skip
    st.upload()
    if state.state != "begun":
        return Replacement(entry, state, calculated=False)
    if present and purse is None:
        raise CounterError("old_card_needed", "the old card in the reader: not transferred yet")
    if state.state == "begun":
        try:
            state = s._call(lambda: s.client.replace_transfer(op_id))
        except CounterError as exc:
            if exc.reason != "carry_not_debited" or purse is None or state.order_id is None:
                raise
            if balance != amount:
                raise CounterError("balance_changed", "the card moved since") from exc
            _empty(s, purse, amount, state.order_id)
            st.upload()
            state = s._call(lambda: s.client.replace_transfer(op_id))
        if purse is not None:
            try:
                purse.block(st.psam(), permanent=True)
            except CardError as exc:
                raise CounterError("chip_block_failed", f"terminated; chip: {exc}") from exc
    return Replacement(entry, state)


def complete_replacement(
    s: CounterSession, replacement: Replacement, application: Application, pin: str
) -> CounterReceipt:
    """Step 2: the new card from the blank one now in the reader, the carry loaded."""
    return issue_card(s, application, replacement.state.carried_fen, pin,
                      replaces=replacement.entry.op_id, extra=replacement.lines)  # fmt: skip


def begin_renewal(
    s: CounterSession, today: dt.date | None = None
) -> tuple[Replacement, Application]:
    """Renew the card present — it expires within :data:`RENEW_WITHIN_DAYS` or its
    transaction counter reached :data:`RENEW_ATC_FROM` (else ``not_due``) — as a
    present-card replacement with the same carry; answers the holder data for the new
    card (:func:`complete_replacement` with the blank card in the reader)."""
    s.check_active()
    purse = s._citizen()
    try:
        info, holder = purse.public_info(), purse.holder()
        atc = max((r.atc for r in purse.log()), default=0)
    except CardError as exc:
        raise CounterError("citizen_card_error", str(exc)) from exc
    today = today or dt.datetime.now(dt.UTC).date()
    if (info.expiry - today).days > RENEW_WITHIN_DAYS and atc < RENEW_ATC_FROM:
        raise CounterError("not_due", f"expires {info.expiry}, counter at {atc}")
    application = Application(holder.name, holder.id_masked, holder.birth)
    return begin_replacement(s, application=application), application
