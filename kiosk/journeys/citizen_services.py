"""The citizen journey's services: menu → form → prepare → confirm → printer → execute.

What a service does is its flow's (:mod:`kiosk.flows`, reached through
:class:`~kiosk.journeys.ports.KioskOps`); this is only the journey around it. The
rule for releasing a quote is written once (:meth:`ServiceSteps.drop_quote`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from enum import StrEnum

from kiosk.codes import Notice, OutcomeCode, PrinterProblem, ReceiptState, Refusal, Step
from kiosk.core.forms import ServiceForm, check_form, next_step
from kiosk.core.machine import TerminalMachine
from kiosk.core.pinpad import PinBuffer
from kiosk.core.views import (
    CardView,
    ConfirmView,
    FieldView,
    FormView,
    InfoView,
    Language,
    ResultView,
    Screen,
    pick,
)
from kiosk.core.worker import Cancelled, JobContext
from kiosk.flows.base import (
    Answer,
    CardGone,
    FormError,
    MoreFields,
    Outcome,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)
from kiosk.journeys.citizen_states import QUOTE_STATES, State
from kiosk.journeys.pin import PIN_LENGTH, PinEntry
from kiosk.journeys.ports import KioskOps, PrinterCheck

__all__ = ["CitizenSession", "ServiceSteps"]

log = logging.getLogger(__name__)
S = State


@dataclass
class CitizenSession:
    """What one session knows; a new one per card, so nothing is reset by hand."""

    card: CardView | None = None
    online: bool = True
    refusal: str | None = None
    pin: PinEntry = field(default_factory=PinEntry)
    service: str | None = None
    form: ServiceForm | None = None
    values: dict[str, str] = field(default_factory=dict)
    pins: dict[str, PinBuffer] = field(default_factory=dict)  # a form's PIN fields
    focus: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    form_error: str | None = None
    quote: Quote | None = None
    info: Answer | None = None
    info_receipt: str = "none"
    outcome: Outcome | None = None
    printer_problem: str | None = None

    def wipe_form_pins(self) -> None:
        for buf in self.pins.values():
            buf.clear()
        self.pins = {}
        self.focus = None

    def wipe_pins(self) -> None:
        self.wipe_form_pins()
        self.pin.wipe()


class ServiceSteps:
    """Handlers from MENU to DONE (mixed into the citizen journey)."""

    ops: KioskOps
    s: CitizenSession

    def card_gone(self, m: TerminalMachine) -> None:
        raise NotImplementedError  # the journey's: a job lost the card

    def _current(self, m: TerminalMachine) -> bool:
        """This journey has the terminal."""
        me: object = self
        return m.journey is me

    # ------------------------------------------------------------------ leaving
    def drop_quote(self, m: TerminalMachine, leaving: StrEnum) -> None:
        """The one rule for releasing a quote: leaving its states any way but into
        PROCESSING lets its flow let go of what it holds (on the worker)."""
        quote = self.s.quote
        if quote is not None and leaving in QUOTE_STATES:
            m.background("release", lambda: self.ops.release(quote))
        self.s.quote = None

    def take_card(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        """ "Please take your card" (any journey may end so)."""
        if self._current(m):
            self.drop_quote(m, m.state)
        self.s.wipe_pins()
        if self._current(m):
            m.go(S.TAKE_CARD, notices=notices)
        else:
            m.switch(self, S.TAKE_CARD, notices=notices)  # type: ignore[arg-type]

    def _back_to_menu(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        self.drop_quote(m, m.state)
        self.s.info = self.s.outcome = None
        self.s.info_receipt = ReceiptState.NONE
        self.s.printer_problem = None
        self.s.form = None
        self.s.wipe_form_pins()
        m.go(S.MENU, notices=notices)

    def on_back(self, m: TerminalMachine) -> None:
        if m.state in (S.FORM, S.INFO, S.CONFIRM, S.NO_PAPER, S.DONE):
            self._back_to_menu(m)

    def on_cancel(self, m: TerminalMachine) -> None:
        s = m.state
        if s in m.journey.table.cancellable:
            if not m.cancel_job():
                return
            m.record("cancelled")
            if s is S.CHECKING_CARD:
                self.s.refusal = Refusal.CANCELLED
                m.go(S.CARD_REFUSED)
            else:
                self._back_to_menu(m, (Notice.CANCELLED,))
        elif s in (S.FORM, S.CONFIRM, S.NO_PAPER):
            self._back_to_menu(m, (Notice.CANCELLED,))
        elif s in (S.PIN_ENTRY, S.MENU, S.INFO, S.DONE, S.CARD_REFUSED):
            self.take_card(m)

    def on_finish(self, m: TerminalMachine) -> None:
        if m.state in (S.MENU, S.INFO, S.DONE, S.CARD_REFUSED):
            self.take_card(m)

    # ------------------------------------------------------------------ menu and form
    def on_choose_service(self, m: TerminalMachine, service_id: str) -> None:
        if m.state is not S.MENU:
            return
        item = next((i for g in self.ops.menu(m.language) for i in g.items
                     if i.service_id == service_id), None)  # fmt: skip
        if item is None or not item.available:
            # Say why (it needs the network...), not only that it is not available.
            m.notices = (
                (item.why_not or Notice.SERVICE_UNAVAILABLE) if item else Notice.UNKNOWN_SERVICE,
            )
            m.show()
            return
        m.record("service", service=service_id)
        self.s.service = service_id
        self.s.form = form = self.ops.form(service_id)
        self.s.values, self.s.field_errors, self.s.form_error = {}, {}, None
        self.s.wipe_form_pins()
        if form is None or not form.fields:
            self._prepare(m, {})
            return
        self.s.pins = {f.name: PinBuffer(PIN_LENGTH) for f in form.fields if f.kind == "pin"}
        self.s.focus = form.fields[0].name
        m.go(S.FORM)

    def on_focus_field(self, m: TerminalMachine, name: str) -> None:
        form = self.s.form
        if m.state is S.FORM and form and any(f.name == name for f in form.fields):
            self.s.focus = name
            m.touch()
            m.show()

    def _focus_next_pin(self) -> None:
        for name, buf in self.s.pins.items():
            if not buf.complete:
                self.s.focus = name
                return

    def on_set_field(self, m: TerminalMachine, name: str, value: str) -> None:
        if m.state is not S.FORM or self.s.form is None:
            return
        spec = next((f for f in self.s.form.fields if f.name == name), None)
        if spec is None or spec.kind == "pin":
            return
        self.s.values[name] = value
        self.s.field_errors.pop(name, None)
        if spec.kind == "choice":
            # A choice is made with one tap: move on to the next field (a long form,
            # feedback's, is filled top to bottom without hunting for the next row).
            names = [f.name for f in self.s.form.fields]
            at = names.index(name)
            if at + 1 < len(names):
                self.s.focus = names[at + 1]
        m.touch()
        m.show()

    def on_submit_form(self, m: TerminalMachine) -> None:
        if m.state is not S.FORM or self.s.form is None:
            return
        errors, values = check_form(self.s.form, self.s.values, self.s.pins)
        self.s.field_errors = errors  # FieldError values (tests/ui/test_texts.py holds it)
        m.touch()
        if errors:
            m.record("form_invalid", fields=sorted(errors))
            m.show()
            return
        self._prepare(m, values)

    # ------------------------------------------------------------------ prepare
    def _prepare(self, m: TerminalMachine, values: dict[str, str]) -> None:
        service = self.s.service or ""
        self.s.form_error = None
        m.go(S.PREPARING)

        def prepare(ctx: JobContext) -> Quote | Answer:
            return self.ops.prepare(service, values, ctx)

        m.start_job(Step.PREPARING, prepare, lambda r, e: self._prepared(m, r, e))

    def _prepared(
        self, m: TerminalMachine, result: Quote | Answer | None, error: BaseException | None
    ) -> None:
        if isinstance(error, CardGone):
            self.card_gone(m)
            return
        if isinstance(error, MoreFields) and error.fields:
            self._more_fields(m, error)
            return
        if isinstance(error, FormError) and self.s.form is not None and self.s.form.fields:
            m.record("service_refused", code=error.code.value)
            self.s.form_error = error.code
            if error.field_name:
                self.s.field_errors[error.field_name] = error.code
            m.go(S.FORM)
            return
        if error is not None or result is None:
            code = Notice.SERVICE_FAILED
            if isinstance(error, ServiceUnavailable):
                code = error.code
            elif isinstance(error, Cancelled):
                code = Notice.CANCELLED
            else:
                log.error("service %s failed", self.s.service, exc_info=error)
            m.record("service_failed", code=code.value)
            m.go(S.MENU, notices=(code,))
            return
        if isinstance(result, Answer):
            self.s.info, self.s.info_receipt = result, ReceiptState.NONE
            m.record("info", service=result.service_id)
            m.go(S.INFO)
        else:
            self.s.quote = result
            m.record("quote", service=result.service_id, kind=result.kind.value,
                     amount=result.amount_fen)  # fmt: skip
            m.go(S.CONFIRM)

    def _more_fields(self, m: TerminalMachine, more: MoreFields) -> None:
        """The flow's next step of the form (choices found live)."""
        self.s.form = ServiceForm(self.s.service or "", more.titles, more.fields)
        self.s.focus = next_step(more.fields, self.s.values)
        self.s.field_errors = {}
        m.record("form_step", fields=",".join(f.name for f in more.fields))
        m.go(S.FORM)

    # ------------------------------------------------------------------ info
    def on_print_answer(self, m: TerminalMachine) -> None:
        info = self.s.info
        if m.state is not S.INFO or info is None or not info.printable:
            return
        language = m.language
        m.record("print_answer", service=info.service_id)
        m.go(S.PRINTING)

        def job(ctx: JobContext) -> ReceiptState:
            return self.ops.print_answer(info, language, ctx)

        m.start_job(Step.PRINTING, job, lambda r, e: self._answer_printed(m, r, e))

    def _answer_printed(
        self, m: TerminalMachine, state: ReceiptState | None, error: BaseException | None
    ) -> None:
        if error is not None:
            log.error("printing the answer of %s failed", self.s.service, exc_info=error)
        self.s.info_receipt = state if state is not None else ReceiptState.NONE
        m.record("answer_printed", receipt=str(self.s.info_receipt))
        m.go(S.INFO, notices=() if error is None else (Notice.SERVICE_FAILED,))

    # ------------------------------------------------------------------ confirm → done
    def on_confirm(self, m: TerminalMachine) -> None:
        quote = self.s.quote
        if m.state is not S.CONFIRM or quote is None:
            return
        m.record("confirmed", amount=quote.amount_fen)
        m.go(S.CHECKING_PRINTER)
        if not quote.needs_receipt:
            self._execute(m, receipt=False)
            return
        m.start_job(Step.CHECKING_PRINTER, self.ops.check_printer,
                    lambda r, e: self._printer_checked(m, r, e))  # fmt: skip

    def _printer_checked(
        self, m: TerminalMachine, check: PrinterCheck | None, _error: BaseException | None
    ) -> None:
        if self.s.quote is None:
            return
        if check is not None and check.ready:
            self._execute(m, receipt=True)
        else:
            self.s.printer_problem = PrinterProblem.of(check.problem if check else None)
            m.record("printer_problem", problem=self.s.printer_problem)
            m.go(S.NO_PAPER)

    def on_continue_without_receipt(self, m: TerminalMachine) -> None:
        if m.state is S.NO_PAPER:
            m.record("without_receipt")
            self._execute(m, receipt=False)

    def _execute(self, m: TerminalMachine, *, receipt: bool) -> None:
        quote = self.s.quote
        if quote is None:
            return
        pins = {name: buf.take() for name, buf in self.s.pins.items()}
        language = m.language
        m.go(S.PROCESSING)

        def execute(ctx: JobContext) -> Outcome:
            try:
                return self.ops.execute(quote, receipt=receipt, pins=pins, language=language,
                                        ctx=ctx)  # fmt: skip
            finally:
                pins.clear()

        m.start_job(Step.PROCESSING, execute, lambda r, e: self._executed(m, r, e))

    def _executed(
        self, m: TerminalMachine, outcome: Outcome | None, error: BaseException | None
    ) -> None:
        if isinstance(error, CardGone):
            self.card_gone(m)
            return
        if error is not None or outcome is None:
            log.error("service %s failed while executing", self.s.service, exc_info=error)
            outcome = Outcome(ok=False, code=OutcomeCode.FAILED)
        self.s.outcome = outcome
        m.record("outcome", ok=outcome.ok, code=outcome.code.value, amount=outcome.amount_fen,
                 transaction=outcome.transaction_id, receipt=outcome.receipt.value)  # fmt: skip
        if outcome.balance_after_fen is not None and self.s.card is not None:
            self.s.card = replace(self.s.card, balance_fen=outcome.balance_after_fen)
        m.go(S.DONE)

    # ------------------------------------------------------------------ screens
    def service_screen(self, m: TerminalMachine, scr: Screen) -> Screen:
        s, lang = m.state, m.language
        if s in (S.INFO, S.PRINTING) and self.s.info is not None:
            i = self.s.info
            return replace(scr, info=InfoView(i.service_id, pick(i.titles, lang), i.balance_fen,
                                              i.history, i.details, i.printable,
                                              self.s.info_receipt))  # fmt: skip
        if s in (S.CONFIRM, S.NO_PAPER, S.CHECKING_PRINTER, S.PROCESSING):
            scr = replace(scr, confirm=self._confirm_view(lang))
            if self.s.printer_problem:
                scr = replace(scr, extra={"printer_problem": self.s.printer_problem})
            return scr
        if s is S.DONE and self.s.outcome is not None:
            o, q = self.s.outcome, self.s.quote
            title = pick(q.titles, lang) if q else ""
            return replace(scr, result=ResultView(
                self.s.service or "", title, o.ok, o.code, o.amount_fen, o.balance_after_fen,
                o.transaction_id, o.receipt, o.kind, o.reference))  # fmt: skip
        return scr

    def form_view(self, lang: Language) -> FormView:
        form = self.s.form
        assert form is not None
        fields = []
        for f in form.fields:
            pin = self.s.pins.get(f.name)
            value = "*" * len(pin) if pin is not None else self.s.values.get(f.name, "")
            fields.append(FieldView(
                name=f.name, label=pick(f.labels, lang), kind=f.kind, value=value,
                required=f.required,
                choices=tuple((v, pick(labels, lang)) for v, labels in f.choices),
                error=self.s.field_errors.get(f.name), focused=f.name == self.s.focus,
                min_fen=f.min_value, max_fen=f.max_value,
            ))  # fmt: skip
        return FormView(form.service_id, pick(form.titles, lang), tuple(fields),
                        self.s.form_error)  # fmt: skip

    def _confirm_view(self, lang: Language) -> ConfirmView | None:
        q = self.s.quote
        if q is None:
            return None
        after = None
        if q.balance_fen is not None:
            sign = {QuoteKind.DEBIT: -1, QuoteKind.LOAD: 1}.get(q.kind, 0)
            after = q.balance_fen + sign * q.amount_fen
        details = q.details_by_language.get(lang.value, q.details)
        return ConfirmView(q.service_id, pick(q.titles, lang), q.kind, q.amount_fen, q.payee,
                           details, q.balance_fen, after)  # fmt: skip
