"""One logged-in clerk's session at the counter: the operations (``kiosk.counter``).

Every operation checks the session lock first, drives the citizen's card through
the citizen reader and the central through a :class:`CounterClient` signed by the
clerk's card, and returns the receipt data. Money only ever moves through the
central: a top-up is a load the central authorizes from the drawer's account,
recorded in the counter's outbox like a kiosk's and uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backend_sync.counter_wire import CardMatches, CardReport, CounterOp, ShiftReport
from backend_sync.terminal.counter_client import CounterClient, new_op_id
from backend_sync.terminal.outbox import IntentId
from backend_sync.terminal.settle import settle_unfinished
from cardlib import purse as cp
from cardlib.bcd import card_now
from cardlib.errors import ApduError, CardError, DeviceError, InvalidPinError, PinBlockedError
from cardlib.identity import Identity
from kiosk.counter.issue import Application, application_of, issue_card
from kiosk.counter.journal import JournalEntry
from kiosk.counter.receipts import CounterReceipt, make_receipt
from kiosk.counter.refund import refund_and_close
from kiosk.counter.replace import (
    Replacement,
    begin_renewal,
    begin_replacement,
    complete_replacement,
)
from kiosk.counter.station import CitizenCard, CounterError, OperatorCard, central_call

if TYPE_CHECKING:
    from kiosk.counter.station import CounterStation

__all__ = ["CounterSession"]


class CounterSession:
    """A clerk's session; see the package docstring for each operation."""

    def __init__(self, station: CounterStation, operator: OperatorCard) -> None:
        self.station = station
        self.operator = operator
        self.client = CounterClient(station.central, operator)
        self.shift_id: str | None = None
        self._locked = False
        self._last = station.clock()

    # -- the lock -------------------------------------------------------------------------
    def lock(self) -> None:
        """Lock now (the clerk logs in again with card and PIN)."""
        self._locked = True

    @property
    def locked(self) -> bool:
        return self._locked

    def check_active(self) -> None:
        """Raise ``session_locked`` once the clerk's card left or the session sat idle."""
        st = self.station
        why = None
        if not self._locked and not st.devices.clerk_present():
            why = "session_locked_removed"
        elif not self._locked and st.clock() - self._last > st.idle_timeout_s:
            why = "session_locked_idle"
        if why is not None:  # locked here alone: for the central's audit
            self._locked = True
            st.note_refusal(why, asn=self.operator.asn, role=self.operator.role.value)
        if self._locked:
            raise CounterError("session_locked")
        self._last = st.clock()

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return central_call(fn)
        except CounterError as exc:
            if exc.reason == "session_locked":
                self._locked = True
            raise

    # -- shifts ---------------------------------------------------------------------------
    def open_shift(self, float_fen: int) -> ShiftReport:
        self.check_active()
        report: ShiftReport = self._call(
            lambda: self.client.open_shift(self.station.drawer, float_fen)
        )
        self.shift_id = report.shift_id
        return report

    def close_shift(self, counted_fen: int) -> ShiftReport:
        self.check_active()
        drawer = self.station.drawer
        report: ShiftReport = self._call(lambda: self.client.close_shift(drawer, counted_fen))
        self.shift_id = None
        return report

    # -- the citizen's card ---------------------------------------------------------------
    def read_citizen_card(self) -> CitizenCard:
        self.check_active()
        purse = self.station.open_citizen()
        try:
            info, holder = purse.public_info(), purse.holder()
            balance = None if purse.blocked else purse.balance()  # a blocked purse answers 6A81
            return CitizenCard(purse.asn.hex().upper(), holder.card_number, holder.name,
                               balance, purse.blocked, info.expiry)  # fmt: skip
        except CardError as exc:
            raise CounterError("citizen_card_error", str(exc)) from exc

    def _citizen(self, asn: str | None = None) -> cp.Purse:
        purse = self.station.open_citizen()
        if asn is not None and purse.asn.hex().upper() != asn.upper():
            raise CounterError("wrong_card", "another card is in the reader")
        return purse

    def _card_signer(self, purse: cp.Purse) -> object:
        identity = Identity.of(purse)

        def sign(digest: bytes) -> tuple[bytes, bytes]:
            try:
                return identity.read_certificate(), identity.internal_authenticate(digest)
            except CardError as exc:
                raise CounterError("citizen_card_error", str(exc)) from exc

        return sign

    def _receipt(self, kind: str, op_id: str, asn: str, amount: int, balance: int,
                 lines: tuple[tuple[str, str], ...] = ()) -> CounterReceipt:  # fmt: skip
        st = self.station
        return make_receipt(kind=kind, op_id=op_id, terminal_id=st.terminal_id, card_asn=asn,
                            amount_fen=amount, balance_after_fen=balance,
                            operator_number=self.operator.number, key=st.receipt_key,
                            lines=lines, at=st.now())  # fmt: skip

    # -- cash top-up ----------------------------------------------------------------------
    def _begin(self, e: JournalEntry) -> CounterOp:
        """Record the journal's operation at the central, or read its state back."""
        op: CounterOp = self._call(
            lambda: self.client.begin_op(e.op_id, e.kind, e.asn, e.amount, e.drawer, e.ref)
        )
        return op

    def begin_top_up(self, amount: int) -> JournalEntry:
        """Record a top-up of the card present before the cash is taken."""
        self.check_active()
        purse = self._citizen()
        entry = JournalEntry(new_op_id(), "topup", purse.asn.hex().upper(), amount,
                             self.station.drawer)  # fmt: skip
        self.station.journal.add(entry)
        self._begin(entry)
        return entry

    def complete_top_up(self, entry: JournalEntry, pin: str) -> CounterReceipt:
        """Load the recorded amount onto the card (the citizen's PIN verified on it)."""
        self.check_active()
        purse = self._citizen(entry.asn)
        settle_unfinished(self.station.outbox, [purse])
        if not self._loaded(entry):
            self._verify_citizen_pin(purse, pin)
            self._credit(purse, entry)
        return self._finish_top_up(purse, entry)

    def load_opening(self, purse: cp.Purse, entry: JournalEntry, pin: str) -> None:
        """Credit an issued card's opening balance (once: the card's word decides)."""
        settle_unfinished(self.station.outbox, [purse])
        if not self._loaded(entry):
            self._verify_citizen_pin(purse, pin)
            self._credit(purse, entry)
            self.station.upload()

    def issue_card(self, application: Application, opening_fen: int, pin: str) -> CounterReceipt:
        """Issue the blank card in the citizen reader (``kiosk.counter.issue``)."""
        return issue_card(self, application, opening_fen, pin)

    def refund_and_close(self, supervisor: OperatorCard | None = None) -> CounterReceipt:
        """Refund the card present (balance and deposit in cash) and close it for good
        (``kiosk.counter.refund``); above the central's limit with a supervisor's card."""
        return refund_and_close(self, supervisor)

    def begin_replacement(
        self, lost_asn: str | None = None, application: Application | None = None
    ) -> Replacement:
        """Replace the card in the reader (or the lost ``lost_asn``): its balance
        transferred, the old card terminated (``kiosk.counter.replace``); the new card's
        ``application`` kept in the journal for a restarted counter."""
        return begin_replacement(self, lost_asn=lost_asn, application=application)

    def begin_renewal(self) -> tuple[Replacement, Application]:
        """Renew the card present (expiring, or its counter near 65535): a replacement
        with the same carry; then :meth:`complete_replacement` with the holder data."""
        return begin_renewal(self)

    def complete_replacement(
        self, replacement: Replacement, application: Application, pin: str
    ) -> CounterReceipt:
        """The new card issued from the blank one now in the reader, the carry loaded."""
        return complete_replacement(self, replacement, application, pin)

    def recredit(self, voided_load: str, amount: int, pin: str) -> CounterReceipt:
        """Credit the card present again with a voided load's money (``lookup`` lists
        them): a load from the account the void returned it to; once per voided load."""
        self.check_active()
        purse = self._citizen()
        entry = JournalEntry(new_op_id(), "recredit", purse.asn.hex().upper(), amount,
                             self.station.drawer, ref=voided_load)  # fmt: skip
        self.station.journal.add(entry)
        self._begin(entry)
        return self.complete_top_up(entry, pin)

    def top_up(self, amount: int, pin: str) -> CounterReceipt:
        """:meth:`begin_top_up` then :meth:`complete_top_up` (cash taken in between)."""
        return self.complete_top_up(self.begin_top_up(amount), pin)

    def _verify_citizen_pin(self, purse: cp.Purse, pin: str) -> None:
        try:
            Identity.of(purse).verify_pin(pin)
        except InvalidPinError as exc:
            raise CounterError("wrong_pin", tries_left=exc.tries_left) from exc
        except PinBlockedError as exc:
            raise CounterError("pin_blocked") from exc

    def _loaded(self, entry: JournalEntry) -> bool:
        """Whether this operation's money is on the card, in the central's record: the
        counter's outbox (a torn load just settled with the card, which answers GET
        TRANSACTION PROVE) is uploaded first, so the card's word has reached it."""
        self.station.upload()
        op = self._begin(entry)
        return bool(op.loaded)

    def _credit(self, purse: cp.Purse, entry: JournalEntry) -> None:
        outbox = self.station.outbox
        box: dict[str, IntentId] = {}
        date, time = card_now()

        def authorize(req: cp.LoadRequest) -> cp.LoadAuthorization:
            auth = self._call(lambda: self.client.topup_load(entry.op_id, {
                "asn": req.asn.hex().upper(), "amount": req.amount,
                "balance_before": req.balance_before, "atc": req.online_atc,
                "card_random": req.card_random.hex().upper(), "key_version": req.key_version,
                "algorithm": int(req.algorithm), "mac1": req.mac1.hex().upper(),
                "date": date.hex(), "time": time.hex(),
            }))  # fmt: skip
            box["id"] = outbox.begin_load(
                asn=req.asn.hex(), amount=req.amount, atc=req.online_atc, date=date.hex(),
                time=time.hex(), key_version=req.key_version, algorithm=int(req.algorithm),
                balance_before=req.balance_before, load_id=auth.load_id,
            )  # fmt: skip
            return cp.LoadAuthorization(date=date, time=time, mac2=bytes.fromhex(auth.mac2))

        try:
            res = purse.load(bytes.fromhex(outbox.terminal_id), entry.amount, authorize=authorize)
        except DeviceError as exc:
            raise CounterError("citizen_card_gone", str(exc)) from exc
        except ApduError as exc:
            raise CounterError("card_refused_load", str(exc)) from exc
        outbox.complete(box["id"], tac=res.tac.hex(), balance_after=res.balance_after)

    def _finish_top_up(self, purse: cp.Purse, entry: JournalEntry) -> CounterReceipt:
        self.station.upload()  # the load record: suspense -> card at the central
        self._call(lambda: self.client.finish_op(entry.op_id, "done"))
        self.station.journal.finish(entry.op_id)
        balance = purse.balance()
        return self._receipt(f"counter_{entry.kind}", entry.op_id, entry.asn, entry.amount,
                             balance)  # fmt: skip

    def resume(
        self, entry: JournalEntry, pin: str | None = None, application: Application | None = None
    ) -> CounterReceipt | None:
        """Resume an operation left unfinished (a crash): see the package docstring."""
        self.check_active()
        if entry.kind == "refund":
            return refund_and_close(self, entry=entry)
        if entry.kind == "replace":
            # Its new card begun already: that issue goes on (it finishes this one too),
            # never a second card for the same carry.
            issue = next((e for e in self.station.journal.unfinished()
                          if e.kind == "issue" and e.ref == entry.op_id), None)  # fmt: skip
            if issue is not None:
                return self.resume(issue, pin, application)
        if entry.kind in ("issue", "replace"):
            application = application or application_of(entry)
            if application is None or pin is None:
                raise CounterError("application_needed", "resume an issue with its data")
            if entry.kind == "replace":  # transferred (again: idempotent), then the new card
                return complete_replacement(self, begin_replacement(self, entry=entry),
                                            application, pin)  # fmt: skip
            return issue_card(self, application, entry.amount, pin, entry=entry)
        op = self._begin(entry)
        if op.state in ("done", "reversed"):
            self.station.journal.finish(entry.op_id)
            return None
        if op.state == "begun" and pin is None:
            self.reverse(entry)
            return None
        purse = self._citizen(entry.asn)
        settle_unfinished(self.station.outbox, [purse])  # a torn load: the card decides
        if not self._loaded(entry):
            if pin is None:
                raise CounterError("pin_needed", "the load was not made: the citizen's PIN")
            self._verify_citizen_pin(purse, pin)
            self._credit(purse, entry)
        return self._finish_top_up(purse, entry)

    def reverse(self, entry: JournalEntry) -> None:
        """Hand the cash back: the central closes the operation reversed (refused while
        any of it is in suspense or on the card)."""
        self.check_active()
        self._call(lambda: self.client.finish_op(entry.op_id, "reversed"))
        self.station.journal.finish(entry.op_id)

    # -- loss, block, unblock -------------------------------------------------------------
    def report_loss(self, asn: str, reason: str = "") -> CounterReceipt:
        """Hotlist a card that is not here (lost or stolen)."""
        self.check_active()
        version: int = self._call(lambda: self.client.card_status(asn, "report_loss",
                                                                  reason=reason))  # fmt: skip
        return self._receipt("counter_report_loss", new_op_id(), asn.upper(), 0, 0,
                             (("hotlist_version", str(version)),))  # fmt: skip

    def block(self, reason: str = "") -> CounterReceipt:
        """Hotlist the card present, then block it on the chip."""
        self.check_active()
        purse = self._citizen()
        asn = purse.asn.hex().upper()
        version: int = self._call(lambda: self.client.card_status(asn, "block", reason=reason))
        try:
            if not purse.blocked:
                purse.block(self.station.psam())
        except CardError as exc:
            raise CounterError("chip_block_failed", f"hotlisted; chip: {exc}") from exc
        return self._receipt("counter_block", new_op_id(), asn, 0, 0,
                             (("hotlist_version", str(version)),))  # fmt: skip

    def unblock(self) -> CounterReceipt:
        """Unblock the card present (it signs the request), at the central and on the
        chip; the central refuses a terminated (replaced or refunded) card."""
        self.check_active()
        purse = self._citizen()
        asn = purse.asn.hex().upper()
        signer = self._card_signer(purse)
        version: int = self._call(
            lambda: self.client.card_status(asn, "unblock", card=signer)  # type: ignore[arg-type]
        )
        try:
            if purse.blocked:
                purse.unblock(self.station.psam())
        except CardError as exc:
            raise CounterError("chip_unblock_failed", str(exc)) from exc
        return self._receipt("counter_unblock", new_op_id(), asn, 0, purse.balance(),
                             (("hotlist_version", str(version)),))  # fmt: skip

    def reset_pin(self, new_pin: str, *, puk: str | None = None) -> CounterReceipt:
        """Reset the PIN of the card present to ``new_pin`` (the citizen types both):
        with the citizen's ``puk`` at the card, or — the clerk having verified the
        holder's identity — with RELOAD PIN authorized by the central."""
        self.check_active()
        purse = self._citizen()
        asn = purse.asn.hex().upper()
        identity = Identity.of(purse)
        try:
            if puk is not None:
                identity.unblock_pin(puk, new_pin)
                self._call(lambda: self.client.reset_pin(asn, "puk"))
            else:
                answer = self._call(lambda: self.client.reset_pin(asn, "reload", new_pin))
                identity.reload_pin(bytes.fromhex(answer.reload_data))
        except InvalidPinError as exc:
            raise CounterError("wrong_puk", tries_left=exc.tries_left) from exc
        except PinBlockedError as exc:
            raise CounterError("puk_blocked") from exc
        except CardError as exc:
            raise CounterError("citizen_card_error", str(exc)) from exc
        return self._receipt(f"counter_pin_{'puk' if puk else 'reload'}", new_op_id(), asn, 0,
                             purse.balance())  # fmt: skip

    def lookup(self, asn: str) -> CardReport:
        """The central's picture of a card (no card needed)."""
        self.check_active()
        report: CardReport = self._call(lambda: self.client.lookup(asn))
        return report

    def find(self, query: str) -> CardMatches:
        """A citizen's cards by the holder's name or masked ID number (no card needed)."""
        self.check_active()
        found: CardMatches = self._call(lambda: self.client.find(query))
        return found
