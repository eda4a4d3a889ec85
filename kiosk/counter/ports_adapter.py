"""The station's ports (:class:`~kiosk.counter.station_ports.CounterPorts`) on the station
core: every operation the screens offer goes through :class:`CounterSession`, so through
the central's lifecycle endpoints signed by the clerk's card. No Kivy, no words of its
own beyond the message ids the screens translate.

Two operations take two steps at one reader, the old card out and a blank one in between:
replacement and renewal. The first call transfers the old card's balance (the central's
calculation comes back as the outcome, with ``insert_new_card``); the clerk puts the
blank card in and runs the same operation again, which issues the new card with the
carry. A refund above the central's limit is refused with ``supervisor_required``; the
screens then ask for the supervisor's PIN (their card in the supervisor slot) and call
``refund`` again with it. Each finished operation prints its receipt from the core's
:class:`CounterReceipt` (its signed QR included); a printer problem never undoes one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ
from cardlib.errors import CardError
from cardlib.idcard import IdentityDocument
from cardlib.layout import CARD_AID, Ins
from kiosk.counter.holder import HolderData, holder_from_document, mask
from kiosk.counter.issue import Application, _lifecycle, application_of
from kiosk.counter.journal import JournalEntry
from kiosk.counter.receipt_paper import (
    LINE_LABELS,
    OP_NAMES,
    ReceiptPrinter,
    receipt_document,
)
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.replace import Replacement, begin_replacement
from kiosk.counter.session import CounterSession
from kiosk.counter.station import CounterError, CounterStation
from kiosk.counter.station_ports import Clerk, CounterRefused, Op, Outcome, Unfinished
from kiosk.money import format_fen

__all__ = ["LINE_LABELS", "OP_NAMES", "CounterPortsAdapter"]

log = logging.getLogger(__name__)


# What resuming each kind of journal entry asks for, and the screen its result is on.
_NEEDS = {"topup": "card_pin", "recredit": "card_pin", "issue": "new_pin",
          "replace": "new_pin", "refund": "card"}  # fmt: skip
_OPS = {"topup": Op.TOP_UP, "recredit": Op.TOP_UP, "issue": Op.ISSUE,
        "replace": Op.REPLACE, "refund": Op.REFUND}  # fmt: skip


class IdReader(Protocol):
    """The identity card reader (``drivers.idcard.IdCardReader``)."""

    def read_card(self) -> IdentityDocument: ...


class CounterPortsAdapter:
    """:class:`CounterPorts` over a :class:`CounterStation` (one clerk at a time)."""

    def __init__(
        self,
        station: CounterStation,
        *,
        id_reader: IdReader | None = None,
        printer: ReceiptPrinter | None = None,
        translate: Callable[[str], str] = lambda s: s,
        header: str = "张家港市民卡 · 服务窗口",
        language: str = "zh-Hans",
        today: Callable[[], dt.date] = lambda: dt.datetime.now(CARD_TZ).date(),
    ) -> None:
        self.station = station
        self.id_reader = id_reader
        self.printer = printer
        self._t = translate
        self._header = header
        self._language = language
        self._today = today
        self._session: CounterSession | None = None
        self._pending: dict[Op, tuple[Replacement, Application]] = {}
        self._lock = threading.Lock()  # one operation at a time (the UI's worker)

    # -- plumbing ------------------------------------------------------------------------
    def _s(self) -> CounterSession:
        s = self._session
        if s is None or s.locked:
            self._session = None
            raise CounterRefused("signed_out")
        return s

    def _do(self, fn: Callable[[], Outcome]) -> Outcome:
        """Run one operation; the core's refusal as the screens' :class:`CounterRefused`."""
        with self._lock:
            try:
                return fn()
            except CounterError as exc:
                if exc.reason == "session_locked":
                    self._session = None
                    raise CounterRefused("signed_out", exc.detail) from exc
                detail = exc.detail if exc.tries_left is None else str(exc.tries_left)
                raise CounterRefused(exc.reason, detail) from exc

    def _rows(self, receipt: CounterReceipt) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        for code, value in receipt.lines:
            shown = format_fen(int(value)) if code.endswith("_fen") and value else value
            # A replacement's own deposit line follows the new card's: the one carried.
            label = "Deposit carried" if code in seen and code == "deposit_fen" else code
            seen.add(code)
            rows.append((LINE_LABELS.get(label, label), shown))
        return rows

    def _outcome(self, op: Op, rows: list[tuple[str, str]], receipt: CounterReceipt | None,
                 warning: str = "", reference: str = "",
                 paper: bool = True) -> Outcome:  # fmt: skip
        """The screen's outcome; its receipt printed (``paper``: also without the core's
        receipt, as a shift's report, which has no signed QR)."""
        ref = receipt.op_id if receipt is not None else reference
        printed = self._print(op, rows, receipt, ref) if paper else False
        return Outcome(op, tuple(rows), printed, ref, warning)

    def _print(self, op: Op, rows: list[tuple[str, str]], receipt: CounterReceipt | None,
               reference: str) -> bool:  # fmt: skip
        if self.printer is None:
            return False
        card = self._session.operator if self._session is not None else None
        doc = receipt_document(op, rows, receipt, reference, operator=card,
                               translate=self._t, header=self._header,
                               language=self._language)  # fmt: skip
        try:
            self.printer.print_document(doc)
        except Exception as exc:  # a printer problem never undoes the operation
            log.warning("counter receipt not printed: %s", exc)
            return False
        return True

    def _holder_check(self, s: CounterSession, id_number: str) -> tuple[str, Application]:
        """The card present's ASN and holder; refused unless ``id_number`` is its holder's."""
        purse = s._citizen()
        try:
            holder = purse.holder()
        except CardError as exc:
            raise CounterError("citizen_card_error", str(exc)) from exc
        if holder.id_masked != mask(id_number.strip().upper()):
            raise CounterRefused("identity_mismatch")
        return purse.asn.hex().upper(), Application(holder.name, holder.id_masked, holder.birth)

    def _card_state(self) -> str:
        """``none``, ``blank`` (or staged) or ``issued``: what is in the citizen reader."""
        try:
            apdu = ApduSession(self.station.devices.open_citizen_card())
            apdu.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, CARD_AID, le=256)
            state = _lifecycle(apdu)
        except CardError:
            return "none"
        return "blank" if state in ("blank", "personalized") else "issued"

    # -- the clerk -----------------------------------------------------------------------
    def sign_in(self, pin: str) -> Clerk:
        def go() -> Outcome:
            self._session = self.station.login(pin)
            return Outcome(Op.SHIFT_OPEN, (), False)

        try:
            self._do(go)
        except CounterRefused as exc:
            if exc.code == "no_operator_card":
                raise CounterRefused("no_clerk_card", exc.detail) from exc
            raise
        op = self._s().operator
        return Clerk(op.name, op.number, op.role.value)

    def sign_out(self) -> None:
        if self._session is not None:
            self._session.lock()
        self._session = None
        # A transfer waiting for its blank card stays: it is the counter's, not the
        # clerk's (the next sign-in finishes it), and the money is already moved.

    def read_id_card(self) -> IdentityDocument:
        self._s()
        if self.id_reader is None:
            raise CounterRefused("id_reader_fault", "no identity card reader")
        try:
            return self.id_reader.read_card()
        except Exception as exc:  # the driver's NoIdCardError / IdReaderError
            code = "no_id_card" if type(exc).__name__ == "NoIdCardError" else "id_reader_fault"
            raise CounterRefused(code, str(exc)) from exc

    # -- operations ----------------------------------------------------------------------
    def issue_card(self, holder: HolderData, pin: str, opening_fen: int) -> Outcome:
        def go() -> Outcome:
            s = self._s()
            app = Application(holder.name or holder.english_name, holder.masked, holder.birth)
            receipt = s.issue_card(app, opening_fen, pin)
            rows = [("Holder", app.name), ("ID number", app.id_masked), *self._rows(receipt)]
            if opening_fen:
                rows.append(("Cash received", format_fen(opening_fen)))
            rows.append(("Balance", format_fen(receipt.balance_after_fen)))
            return self._outcome(Op.ISSUE, rows, receipt)

        return self._do(go)

    def top_up(self, amount_fen: int, pin: str) -> Outcome:
        def go() -> Outcome:
            s = self._s()
            before = s.read_citizen_card()
            receipt = s.top_up(amount_fen, pin)
            rows = [("Card number", receipt.card_asn),
                    ("Balance before", format_fen(before.balance_fen or 0)),
                    ("Cash received", format_fen(amount_fen)),
                    ("Balance", format_fen(receipt.balance_after_fen))]  # fmt: skip
            return self._outcome(Op.TOP_UP, rows, receipt)

        return self._do(go)

    def report_loss(self, card_number: str, id_number: str) -> Outcome:
        def go() -> Outcome:
            receipt = self._s().report_loss(card_number.strip().upper())
            rows = [("Card number", receipt.card_asn), ("ID number", mask(id_number.upper())),
                    ("Card status", "blocked"), *self._rows(receipt)]  # fmt: skip
            return self._outcome(Op.REPORT_LOSS, rows, receipt)

        return self._do(go)

    def block(self, card_number: str) -> Outcome:
        def go() -> Outcome:
            s = self._s()
            s._citizen(card_number.strip().upper())  # wrong_card unless it is this one
            receipt = s.block()
            rows = [("Card number", receipt.card_asn), ("Card status", "blocked"),
                    *self._rows(receipt)]  # fmt: skip
            return self._outcome(Op.BLOCK, rows, receipt)

        return self._do(go)

    def unblock(self, id_number: str) -> Outcome:
        def go() -> Outcome:
            s = self._s()
            self._holder_check(s, id_number)
            receipt = s.unblock()
            rows = [
                ("Card number", receipt.card_asn),
                ("Card status", "active"),
                *self._rows(receipt),
                ("Balance", format_fen(receipt.balance_after_fen)),
            ]
            return self._outcome(Op.UNBLOCK, rows, receipt)

        return self._do(go)

    def reset_pin(self, puk: str, id_number: str, pin: str) -> Outcome:
        def go() -> Outcome:
            s = self._s()
            self._holder_check(s, id_number)
            receipt = s.reset_pin(pin, puk=puk.strip() or None)
            how = "reset with the PUK" if puk.strip() else "reloaded by the central"
            rows = [("Card number", receipt.card_asn), ("PIN", how)]
            return self._outcome(Op.RESET_PIN, rows, receipt)

        return self._do(go)

    def _carry(self, op: Op, begin: Callable[[CounterSession], tuple[Replacement, Application]],
               pin: str) -> Outcome:  # fmt: skip
        """Replacement and renewal: transfer (old card in), then issue (blank card in)."""
        s = self._s()
        pending = self._pending.get(op)
        state = self._card_state()
        if pending is None:
            if state == "blank" and op is Op.RENEW:
                raise CounterRefused("no_citizen_card", "the card to renew first")
            repl, app = begin(s)
            self._pending[op] = (repl, app)
            rows = [(LINE_LABELS.get(c, c), format_fen(int(v)) if c.endswith("_fen") else v)
                    for c, v in repl.lines]  # fmt: skip
            # A slip for the transfer (no signed QR: the new card's receipt has it).
            return self._outcome(op, rows, None, "insert_new_card", repl.entry.op_id)
        if state != "blank":
            raise CounterRefused("insert_new_card")
        repl, app = pending
        receipt = s.complete_replacement(repl, app, pin)
        del self._pending[op]
        rows = [("Holder", app.name), *self._rows(receipt),
                ("Balance", format_fen(receipt.balance_after_fen))]  # fmt: skip
        return self._outcome(op, rows, receipt)

    def replace(self, card_number: str, id_number: str, pin: str) -> Outcome:
        number = card_number.strip().upper()

        def begin(s: CounterSession) -> tuple[Replacement, Application]:
            if self._card_state() == "issued":  # the old card present
                asn, app = self._holder_check(s, id_number)
                if number and asn != number:
                    raise CounterError("wrong_card", "another card is in the reader")
                return s.begin_replacement(application=app), app
            # Lost: the holder data from the identity document on its reader.
            doc = self.read_id_card()
            holder = holder_from_document(doc, today=self._today())
            if holder.masked != mask(id_number.strip().upper()):
                raise CounterRefused("identity_mismatch")
            app = Application(holder.name or holder.english_name, holder.masked, holder.birth)
            return s.begin_replacement(lost_asn=number, application=app), app

        return self._do(lambda: self._carry(Op.REPLACE, begin, pin))

    def renew(self, id_number: str, pin: str = "") -> Outcome:
        def begin(s: CounterSession) -> tuple[Replacement, Application]:
            self._holder_check(s, id_number)
            return s.begin_renewal()

        return self._do(lambda: self._carry(Op.RENEW, begin, pin))

    def refund(self, id_number: str, supervisor_pin: str = "") -> Outcome:
        def go() -> Outcome:
            s = self._s()
            self._holder_check(s, id_number)
            sup = self.station.supervisor(supervisor_pin) if supervisor_pin else None
            receipt = s.refund_and_close(sup)
            rows = [("Card number", receipt.card_asn), *self._rows(receipt),
                    ("Cash out", format_fen(receipt.amount_fen)),
                    ("Card status", "terminated")]  # fmt: skip
            if sup is not None:
                rows.append(("Supervisor", sup.name or sup.number))
            return self._outcome(Op.REFUND, rows, receipt)

        return self._do(go)

    def recredit(self, voided_load: str, amount_fen: int, pin: str) -> Outcome:
        """Credit the card present again with a voided load's money (``lookup`` lists them)."""

        def go() -> Outcome:
            receipt = self._s().recredit(voided_load, amount_fen, pin)
            rows = [("Card number", receipt.card_asn),
                    ("Cash received", format_fen(receipt.amount_fen)),
                    ("Balance", format_fen(receipt.balance_after_fen))]  # fmt: skip
            return self._outcome(Op.TOP_UP, rows, receipt)

        return self._do(go)

    def lookup(self, query: str) -> Outcome:
        def go() -> Outcome:
            q, head = query.strip(), []
            if len(q) != 20 or any(c not in "0123456789ABCDEF" for c in q.upper()):
                # A citizen by name or masked ID number: their cards, or the one card.
                if len(q) < 2:
                    raise CounterRefused("lookup_card_number")
                # An ID number typed in full is masked here: the central keeps and
                # sees only the masked form written at issue.
                ident = q.upper()
                is_id = len(ident) in (15, 18) and ident[:-1].isdigit()
                found = self._s().find(mask(ident) if is_id else q).cards
                if not found:
                    raise CounterRefused("lookup_not_found")
                if len(found) > 1:
                    rows = [("Card number", f"{c.asn} · {c.name} · {c.id_masked} · {c.status}")
                            for c in found]  # fmt: skip
                    return self._outcome(Op.LOOKUP, rows, None, paper=False)
                q, head = found[0].asn, [("Name", found[0].name),
                                         ("ID number", found[0].id_masked)]  # fmt: skip
            r = self._s().lookup(q.upper())
            rows = [*head, ("Card number", r.asn.upper()), ("Card status", r.status),
                    ("Ledger balance", format_fen(r.balance_fen)),
                    ("Hotlist version", str(r.hotlist_version)),
                    ("Loads in suspense", str(len(r.loads_in_suspense)))]  # fmt: skip
            for v in r.voided_loads[:4]:  # the clerk may re-credit these (card present)
                rows.append(("Voided load", f"{v.get('load_id', '')} "
                             f"{format_fen(int(v.get('amount', 0)))}"))  # fmt: skip
            return self._outcome(Op.LOOKUP, rows, None, paper=False)

        return self._do(go)

    def open_shift(self, float_fen: int) -> Outcome:
        def go() -> Outcome:
            r = self._s().open_shift(float_fen)
            return self._outcome(Op.SHIFT_OPEN, [("Float", format_fen(r.float_fen))], None,
                                 reference=r.shift_id)  # fmt: skip

        return self._do(go)

    def close_shift(self, counted_fen: int) -> Outcome:
        def go() -> Outcome:
            r = self._s().close_shift(counted_fen)
            diff = r.mismatch_fen or 0
            rows = [("Float", format_fen(r.float_fen)), ("Cash in", format_fen(r.cash_in_fen)),
                    ("Cash out", format_fen(r.cash_out_fen)),
                    ("Expected in drawer", format_fen(r.expected_fen)),
                    ("Counted", format_fen(counted_fen)),
                    ("Difference", format_fen(diff))]  # fmt: skip
            return self._outcome(Op.SHIFT_CLOSE, rows, None, "drawer_mismatch" if diff else "",
                                 r.shift_id)  # fmt: skip

        return self._do(go)

    # -- unfinished operations (after a restart) ------------------------------------
    def unfinished(self) -> tuple[Unfinished, ...]:
        """The journal's unfinished operations, oldest first. A replacement whose new
        card is begun shows as that issue (resuming it finishes both)."""
        entries = self.station.unfinished_ops()
        continued = {e.ref for e in entries if e.kind == "issue" and e.ref}
        by_id = {e.op_id: e for e in entries}
        out = []
        for e in sorted(entries, key=lambda e: e.at):
            if e.op_id in continued or e.kind not in _NEEDS:
                continue
            old = by_id.get(e.ref)
            replaces = old.asn if e.kind == "issue" and old is not None else ""
            out.append(Unfinished(e.op_id, e.kind, e.asn, e.amount, e.at, _NEEDS[e.kind],
                                  e.kind in ("topup", "recredit"), replaces))  # fmt: skip
        return tuple(out)

    def _entry(self, op_id: str) -> JournalEntry:
        entry = next((e for e in self.station.unfinished_ops() if e.op_id == op_id), None)
        if entry is None:
            raise CounterRefused("nothing_to_resume", op_id)
        return entry

    def resume(self, op_id: str, pin: str = "") -> Outcome:
        """Finish an unfinished operation (the citizen's ``pin`` when it asks for one)."""

        def go() -> Outcome:
            s = self._s()
            entry = self._entry(op_id)
            op = _OPS.get(entry.kind, Op.TOP_UP)
            if entry.kind == "issue" and entry.ref:
                op = Op.REPLACE
            pending = next(((k, v) for k, v in self._pending.items()
                            if v[0].entry.op_id == op_id), None)  # fmt: skip
            if entry.kind == "replace" and (pending is not None or self._card_state() == "issued"):
                if pending is None:  # not transferred yet: the old card is in, step 1 again
                    repl = begin_replacement(s, entry=entry)
                    app = application_of(repl.entry)
                    if app is None:
                        raise CounterRefused("application_needed")
                    self._pending[Op.REPLACE] = (repl, app)
                    rows = [(LINE_LABELS.get(c, c),
                             format_fen(int(v)) if c.endswith("_fen") else v)
                            for c, v in repl.lines]  # fmt: skip
                    return self._outcome(op, rows, None, "insert_new_card", op_id)
                key, (repl, app) = pending
                if self._card_state() != "blank":
                    raise CounterRefused("insert_new_card")
                receipt = s.complete_replacement(repl, app, pin)
                del self._pending[key]
            else:
                if entry.kind in ("issue", "replace") and application_of(entry) is None:
                    raise CounterRefused("application_needed", "an entry without holder data")
                if entry.kind in ("issue", "replace", "topup", "recredit") and not pin:
                    raise CounterRefused("pin_needed")
                got = s.resume(entry, pin or None)
                if got is None:
                    raise CounterRefused("already_finished")
                receipt = got
            rows = [*self._rows(receipt), ("Balance", format_fen(receipt.balance_after_fen))]
            return self._outcome(op, rows, receipt)

        return self._do(go)

    def reverse(self, op_id: str) -> Outcome:
        """Hand a top-up's cash back (the central refuses once any of it is loaded)."""

        def go() -> Outcome:
            s = self._s()
            entry = self._entry(op_id)
            if entry.kind not in ("topup", "recredit"):
                raise CounterRefused("not_reversible", entry.kind)
            s.reverse(entry)
            rows = [("Card number", entry.asn), ("Cash out", format_fen(entry.amount)),
                    ("Operation", "reversed")]  # fmt: skip
            return self._outcome(Op.TOP_UP, rows, None, reference=op_id)

        return self._do(go)
