"""The counter station's view-model: pages, forms, the citizen's PIN, results. No Kivy.

The Kivy screens draw a :class:`StationView` and call :class:`Station`'s methods; the
station checks what the clerk typed (``kiosk.counter.holder``), collects the PIN on
the pad facing the citizen (into a :class:`~kiosk.core.pinpad.PinBuffer`: the clerk's
screen only ever learns how many digits were typed), and runs each operation on a
worker thread through :class:`CounterPorts`, the station core's operations, one
method each. Results come back through ``deliver`` (the Kivy clock in the app).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cardlib.idcard import DocumentType, IdentityDocument
from kiosk.core.pinpad import PinBuffer
from kiosk.counter.holder import (
    HolderData,
    HolderError,
    check_holder,
    check_number,
    holder_from_document,
)
from kiosk.counter.station_ports import (
    Clerk,
    CounterPorts,
    CounterRefused,
    Op,
    Outcome,
    Unfinished,
)
from kiosk.money import parse_yuan

__all__ = [
    "CASH_OPS",
    "OP_FIELDS",
    "Clerk",
    "CounterPorts",
    "CounterRefused",
    "FieldSpec",
    "Op",
    "Outcome",
    "Page",
    "Station",
    "StationView",
    "Unfinished",
]

log = logging.getLogger(__name__)


class Page(StrEnum):
    SIGN_IN = "sign_in"
    HOME = "home"
    FORM = "form"  # the current operation's fields
    CITIZEN_PIN = "citizen_pin"  # the pad facing the citizen is asking
    BUSY = "busy"
    RESULT = "result"
    RESUME = "resume"  # the journal's unfinished operations (after a restart)


@dataclass(frozen=True)
class FieldSpec:
    """One field of an operation's form. ``kind``: name, text, id_number, amount, digits,
    document (a choice of :class:`DocumentType`), date (YYYYMMDD), query (a card number,
    an ID number or a holder's name: number keys or the name keyboard)."""

    name: str
    kind: str
    optional: bool = False


_HOLDER = (
    FieldSpec("document", "document"),
    FieldSpec("number", "id_number"),
    FieldSpec("name", "name"),
    FieldSpec("birth", "date"),
    FieldSpec("opening", "amount", optional=True),
)
OP_FIELDS: Mapping[Op, tuple[FieldSpec, ...]] = {
    Op.ISSUE: _HOLDER,
    Op.TOP_UP: (FieldSpec("amount", "amount"),),
    Op.REPORT_LOSS: (FieldSpec("card_number", "digits"), FieldSpec("number", "id_number")),
    Op.BLOCK: (FieldSpec("card_number", "digits"),),
    Op.UNBLOCK: (FieldSpec("number", "id_number"),),
    Op.REPLACE: (FieldSpec("card_number", "digits"), FieldSpec("number", "id_number")),
    Op.RESET_PIN: (FieldSpec("puk", "digits", optional=True), FieldSpec("number", "id_number")),
    Op.REFUND: (FieldSpec("number", "id_number"),),
    Op.LOOKUP: (FieldSpec("query", "query"),),
    Op.RENEW: (FieldSpec("number", "id_number"),),
    Op.SHIFT_OPEN: (FieldSpec("float", "amount"),),
    Op.SHIFT_CLOSE: (FieldSpec("counted", "amount"),),
}
# Operations that take or give cash: only within an open shift (the drawer is counted).
CASH_OPS = frozenset({Op.ISSUE, Op.TOP_UP, Op.REFUND, Op.REPLACE, Op.RENEW})
# Operations for which the citizen types a PIN on the pad facing them, and why.
_PIN_FOR: Mapping[Op, str] = {
    Op.ISSUE: "new_pin",
    Op.TOP_UP: "card_pin",
    Op.RESET_PIN: "new_pin",
    Op.REPLACE: "new_pin",
    Op.RENEW: "new_pin",
}


@dataclass(frozen=True)
class StationView:
    """Everything a screen draws; the only thing the station lets out."""

    page: Page
    clerk: Clerk | None = None
    op: Op | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    field_errors: Mapping[str, str] = field(default_factory=dict)  # field -> code
    pin_length: int = 0
    pin_for: str = ""  # "clerk", "new_pin", "card_pin"
    message: str = ""  # a code: the last refusal or notice
    detail: str = ""
    outcome: Outcome | None = None
    shift_open: bool = False
    unfinished: tuple[Unfinished, ...] = ()  # the journal's, shown after sign-in
    resuming: str = ""  # the operation id being resumed (its PIN on the pad)


class Station:
    """The station's state; every method is called on the UI thread."""

    def __init__(
        self,
        ports: CounterPorts,
        *,
        deliver: Callable[[Callable[[], None]], None] = lambda fn: fn(),
        today: Callable[[], object] | None = None,
    ) -> None:
        import datetime as dt

        self._ports = ports
        self._deliver = deliver
        self._today = today or dt.date.today
        self._pin = PinBuffer(6)
        self._listeners: list[Callable[[StationView], None]] = []
        self.view = StationView(Page.SIGN_IN, pin_for="clerk")
        self._holder: HolderData | None = None
        self._worker: threading.Thread | None = None

    # -- listeners ---------------------------------------------------------------------
    def set_deliver(self, deliver: Callable[[Callable[[], None]], None]) -> None:
        """How the worker's results reach the UI thread (the app's clock)."""
        self._deliver = deliver

    def subscribe(self, fn: Callable[[StationView], None]) -> Callable[[], None]:
        self._listeners.append(fn)
        fn(self.view)
        return lambda: self._listeners.remove(fn)

    def _show(self, **changes: object) -> None:
        self.view = dataclasses.replace(self.view, **changes)  # type: ignore[arg-type]
        for fn in list(self._listeners):
            fn(self.view)

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    # -- the PIN pads (the clerk's at sign-in, the citizen's for an operation) ----------
    def pin_digit(self, digit: int) -> None:
        if self.view.page in (Page.SIGN_IN, Page.CITIZEN_PIN):
            self._pin.add(digit)
            self._show(pin_length=len(self._pin), message="")

    def pin_delete(self) -> None:
        self._pin.delete()
        self._show(pin_length=len(self._pin))

    def pin_clear(self) -> None:
        self._pin.clear()
        self._show(pin_length=0)

    def pin_submit(self) -> None:
        if not self._pin.complete or self.busy:
            return
        pin = self._pin.take()
        self._show(pin_length=0)
        if self.view.page is Page.SIGN_IN:
            self._run(lambda: self._ports.sign_in(pin), self._signed_in, Page.SIGN_IN)
        elif self.view.page is Page.CITIZEN_PIN and self.view.resuming:
            op_id = self.view.resuming
            self._run(lambda: self._ports.resume(op_id, pin), self._done, Page.RESUME)
        elif self.view.page is Page.CITIZEN_PIN and self.view.op is not None:
            self._execute(self.view.op, pin)

    def pin_cancel(self) -> None:
        """The citizen or the clerk gives up the PIN entry: back to the form."""
        self._pin.clear()
        back = Page.RESUME if self.view.resuming else Page.FORM
        self._show(page=back, pin_length=0, pin_for="", resuming="")

    def _signed_in(self, clerk: object) -> None:
        assert isinstance(clerk, Clerk)
        pending = self._unfinished()
        # Operations a restart left unfinished come first: the money is already moved.
        page = Page.RESUME if pending else Page.HOME
        self._show(page=page, clerk=clerk, pin_for="", message="", unfinished=pending)

    def _unfinished(self) -> tuple[Unfinished, ...]:
        try:
            return self._ports.unfinished()
        except Exception:  # a damaged journal: said on the page, never a crash
            log.exception("counter journal")
            return ()

    # -- unfinished operations (after a restart) ---------------------------------------
    def show_unfinished(self) -> None:
        """The journal's unfinished operations (the home page's button)."""
        if self.view.clerk is None or self.busy:
            return
        self._show(page=Page.RESUME, op=None, unfinished=self._unfinished(), message="",
                   outcome=None, resuming="")  # fmt: skip

    def resume(self, op_id: str) -> None:
        """Resume one: the citizen's PIN on the pad first when it asks for one."""
        item = next((u for u in self.view.unfinished if u.op_id == op_id), None)
        if self.view.page is not Page.RESUME or item is None or self.busy:
            return
        if item.needs in ("new_pin", "card_pin"):
            self._pin.clear()
            self._show(page=Page.CITIZEN_PIN, pin_for=item.needs, pin_length=0, message="",
                       resuming=op_id, op=None)  # fmt: skip
            return
        self._show(resuming=op_id)
        self._run(lambda: self._ports.resume(op_id, ""), self._done, Page.RESUME)

    def reverse(self, op_id: str) -> None:
        """Hand the cash of a top-up back instead (where the core allows it)."""
        item = next((u for u in self.view.unfinished if u.op_id == op_id), None)
        if self.view.page is not Page.RESUME or item is None or not item.reversible:
            return
        if self.busy:
            return
        self._show(resuming=op_id)
        self._run(lambda: self._ports.reverse(op_id), self._done, Page.RESUME)

    def sign_out(self) -> None:
        """The clerk's card removed, or Sign out: everything forgotten."""
        self._pin.clear()
        self._holder = None
        try:
            self._ports.sign_out()
        except CounterRefused as exc:
            log.info("sign out: %s", exc)
        self.view = StationView(Page.SIGN_IN, pin_for="clerk", shift_open=self.view.shift_open)
        self._show()

    # -- operations ----------------------------------------------------------------------
    def open_op(self, op: Op) -> None:
        if self.view.clerk is None or self.busy:
            return
        if op in CASH_OPS and not self.view.shift_open:
            self._show(message="shift_needed")
            return
        if op is Op.SHIFT_CLOSE and not self.view.shift_open:
            self._show(message="no_shift")
            return
        self._holder = None
        fields = {"document": DocumentType.RESIDENT.value} if op is Op.ISSUE else {}
        self._show(page=Page.FORM, op=op, fields=fields, field_errors={}, message="",
                   outcome=None)  # fmt: skip

    def home(self) -> None:
        if self.busy:
            return
        self._pin.clear()
        self._show(page=Page.HOME, op=None, fields={}, field_errors={}, message="",
                   pin_length=0, pin_for="", resuming="",
                   unfinished=self._unfinished() if self.view.clerk else ())  # fmt: skip

    def set_field(self, name: str, value: str) -> None:
        if self.view.page is not Page.FORM:
            return
        self._holder = None  # typed data is checked afresh
        errors = {k: v for k, v in self.view.field_errors.items() if k != name}
        self._show(fields={**self.view.fields, name: value}, field_errors=errors, message="")

    def read_id_card(self) -> None:
        """Fill the holder fields from the identity card on the reader."""
        if self.view.page is not Page.FORM or self.busy:
            return
        self._run(self._ports.read_id_card, self._document_read, Page.FORM)

    def _document_read(self, doc: object) -> None:
        assert isinstance(doc, IdentityDocument)
        fields = {**self.view.fields, "document": doc.document_type.value,
                  "number": doc.number, "name": doc.name or doc.english_name,
                  "birth": doc.birth}  # fmt: skip
        try:
            self._holder = holder_from_document(doc, today=self._today())  # type: ignore[arg-type]
        except HolderError as exc:
            self._show(page=Page.FORM, fields=fields, message=exc.code.value)
            return
        self._show(page=Page.FORM, fields=fields, field_errors={}, message="id_card_read")

    def submit(self) -> None:
        """The clerk confirms the form: checked, then the citizen's PIN or the work."""
        op = self.view.op
        if self.view.page is not Page.FORM or op is None or self.busy:
            return
        errors = self._check(op)
        if errors:
            # A field's own mistake says more than "fill in every field".
            first = next((c for c in errors.values() if c != "field_missing"), "field_missing")
            self._show(field_errors=errors, message=first)
            return
        if op in _PIN_FOR:
            self._pin.clear()
            self._show(page=Page.CITIZEN_PIN, pin_for=_PIN_FOR[op], pin_length=0, message="")
            return
        self._execute(op, "")

    def _check(self, op: Op) -> dict[str, str]:
        import datetime as dt

        errors: dict[str, str] = {}
        values = self.view.fields
        for spec in OP_FIELDS[op]:
            value = values.get(spec.name, "").strip()
            if not value:
                if not spec.optional:
                    errors[spec.name] = "field_missing"
                continue
            if spec.kind == "amount":
                try:
                    fen = parse_yuan(value)
                except ValueError:
                    errors[spec.name] = "amount_format"
                    continue
                if fen < 0 or (fen == 0 and spec.name not in ("opening", "counted", "float")):
                    errors[spec.name] = "amount_format"
            elif spec.kind == "digits" and not (value.isascii() and value.isdigit()):
                errors[spec.name] = "digits_only"
        if op is Op.ISSUE and self._holder is None and not {"number", "birth"} & set(errors):
            # The number is checked as soon as it and the birth date are there, so a
            # typing mistake shows before the other fields are filled.
            try:
                kind = DocumentType(values.get("document", DocumentType.RESIDENT.value))
                birth = dt.datetime.strptime(values["birth"].strip(), "%Y%m%d").date()
                check_number(kind, values["number"], birth=birth, today=self._today())  # type: ignore[arg-type]
            except HolderError as exc:
                errors["number"] = exc.code.value
            except ValueError:
                errors["birth"] = "date_format"
        if op is Op.ISSUE and not errors and self._holder is None:
            try:
                self._holder = self._typed_holder(values)
            except HolderError as exc:
                where = "name" if exc.code.value.startswith("name") else "number"
                errors[where] = exc.code.value
            except ValueError:
                errors["birth"] = "date_format"
        return errors

    def _typed_holder(self, values: Mapping[str, str]) -> HolderData:
        import datetime as dt

        kind = DocumentType(values.get("document", DocumentType.RESIDENT.value))
        birth = dt.datetime.strptime(values["birth"].strip(), "%Y%m%d").date()
        foreign = kind in (DocumentType.FOREIGNER, DocumentType.FOREIGNER_2023)
        name = values["name"].strip()
        latin = foreign and name.isascii()
        data = HolderData(kind, values["number"], "" if latin else name, birth,
                          english_name=name if latin else "")  # fmt: skip
        return check_holder(data, today=self._today())  # type: ignore[arg-type]

    def _execute(self, op: Op, pin: str) -> None:
        v = self.view.fields
        p = self._ports

        def fen(name: str) -> int:
            text = v.get(name, "").strip()
            return parse_yuan(text) if text else 0

        calls: dict[Op, Callable[[], Outcome]] = {
            Op.ISSUE: lambda: p.issue_card(self._holder_or_fail(), pin, fen("opening")),
            Op.TOP_UP: lambda: p.top_up(fen("amount"), pin),
            Op.REPORT_LOSS: lambda: p.report_loss(v["card_number"], v["number"]),
            Op.BLOCK: lambda: p.block(v["card_number"]),
            Op.UNBLOCK: lambda: p.unblock(v["number"]),
            Op.REPLACE: lambda: p.replace(v["card_number"], v["number"], pin),
            Op.RESET_PIN: lambda: p.reset_pin(v.get("puk", ""), v["number"], pin),
            Op.REFUND: lambda: p.refund(v["number"], pin),
            Op.LOOKUP: lambda: p.lookup(v["query"]),
            Op.RENEW: lambda: p.renew(v["number"], pin),
            Op.SHIFT_OPEN: lambda: p.open_shift(fen("float")),
            Op.SHIFT_CLOSE: lambda: p.close_shift(fen("counted")),
        }
        self._run(calls[op], self._done, Page.FORM)

    def _holder_or_fail(self) -> HolderData:
        if self._holder is None:
            raise CounterRefused("holder_unchecked")
        return self._holder

    def _done(self, outcome: object) -> None:
        assert isinstance(outcome, Outcome)
        shift = self.view.shift_open
        if outcome.op is Op.SHIFT_OPEN:
            shift = True
        elif outcome.op is Op.SHIFT_CLOSE:
            shift = False
        self._holder = None
        self._show(page=Page.RESULT, outcome=outcome, pin_for="", shift_open=shift,
                   message=outcome.warning, resuming="",
                   unfinished=self._unfinished())  # fmt: skip

    # -- the worker ----------------------------------------------------------------------
    def _run(self, work: Callable[[], object], then: Callable[[object], None], back: Page) -> None:
        """Run ``work`` off the UI thread; ``then(result)`` or a refusal on ``back``."""
        self._show(page=Page.BUSY, message="")

        def job() -> None:
            try:
                result = work()
            except CounterRefused as exc:
                code, detail = exc.code, exc.detail
                self._deliver(lambda: self._refused(back, code, detail))
                return
            except HolderError as exc:
                code = exc.code.value
                self._deliver(lambda: self._refused(back, code, ""))
                return
            except Exception as exc:  # a device or network failure: shown, never a crash
                log.exception("counter operation failed")
                detail = f"{type(exc).__name__}: {exc}"
                self._deliver(lambda: self._refused(back, "device_error", detail))
                return
            self._deliver(lambda: then(result))

        self._worker = threading.Thread(target=job, name="counter-op", daemon=True)
        self._worker.start()

    def _refused(self, back: Page, code: str, detail: str) -> None:
        if code == "supervisor_required" and self.view.op is Op.REFUND and back is Page.FORM:
            # Above the limit: the supervisor's card in its slot, their PIN on the pad.
            self._pin.clear()
            self._show(page=Page.CITIZEN_PIN, pin_for="supervisor", pin_length=0,
                       message=code, detail=detail)  # fmt: skip
            return
        if back is Page.RESUME:  # the list again, as the journal has it now
            self._show(page=back, message=code, detail=detail, pin_length=0, pin_for="",
                       resuming="", unfinished=self._unfinished())  # fmt: skip
            return
        self._show(page=back, message=code, detail=detail, pin_length=0,
                   pin_for="clerk" if back is Page.SIGN_IN else "")  # fmt: skip

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Tests: wait for the worker to finish (with the app's deliver, its result is then
        still on the Kivy clock)."""
        w = self._worker
        if w is not None:
            w.join(timeout)
        return not self.busy
