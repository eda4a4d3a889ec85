"""The session state machine: one citizen at a time, from card in to card out.

Everything the machine does happens on the thread that calls :meth:`pump` (the
kiosk's core thread, or a test). Public methods only *post* an input and return at
once, from any thread; blocking work (card, network, printer) goes to the
:class:`~kiosk.core.worker.Worker` and its result comes back as another input, so
no caller ever waits on a device. Timeouts are read from the injected clock each
time the machine is pumped.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.forms import check_form
from kiosk.core.pinpad import PinBuffer
from kiosk.core.ports import (
    Cancelled,
    CardCheck,
    CardGone,
    FormError,
    InfoResult,
    JobContext,
    KioskOps,
    Outcome,
    PinOutcome,
    PrinterCheck,
    Quote,
    ServiceForm,
    ServiceUnavailable,
)
from kiosk.core.states import BUSY_STATES, TRANSITIONS, State
from kiosk.core.timeouts import Timeouts
from kiosk.core.views import (
    CardView,
    ConfirmView,
    FieldView,
    FormView,
    InfoView,
    KioskEvent,
    Language,
    PinView,
    Progress,
    ResultView,
    Screen,
    ScreenChanged,
    TimeoutCleared,
    TimeoutWarning,
    pick,
)
from kiosk.core.worker import Job, Worker

__all__ = ["AuditSink", "IllegalTransition", "SessionMachine"]

log = logging.getLogger(__name__)

AuditSink = Callable[[str, Mapping[str, object]], None]
PIN_LENGTH = 6


class IllegalTransition(RuntimeError):
    """A move not in :data:`kiosk.core.states.TRANSITIONS` (a bug, never a citizen's)."""


def _no_audit(_event: str, _fields: Mapping[str, object]) -> None:
    pass


class SessionMachine:
    """The kiosk session. Build it, :meth:`start` it, then :meth:`pump` it (or
    :meth:`run` it on a thread); subscribe to get :data:`KioskEvent`s."""

    def __init__(
        self,
        ops: KioskOps,
        *,
        clock: Clock,
        timeouts: Timeouts | None = None,
        languages: tuple[Language, ...] = (Language.ZH_HANS, Language.ZH_HANT, Language.EN),
        audit: AuditSink = _no_audit,
        worker: Worker | None = None,
    ) -> None:
        if not languages:
            raise ValueError("at least one language")
        self.ops = ops
        self.clock = clock
        self.timeouts = timeouts or Timeouts()
        self.languages = languages
        self.audit = audit
        self.worker = worker or Worker()
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._listeners: list[Callable[[KioskEvent], None]] = []
        self._session_ids = itertools.count(1)
        self._orphan_payment: Job | None = None
        self.errors: list[Exception] = []
        self._state = State.ATTRACT
        self._started = False
        self._reset_session()
        self.transitions_seen: set[tuple[State, State]] = set()

    # ------------------------------------------------------------------ plumbing
    def _reset_session(self) -> None:
        self.session_id: int | None = None
        self.language = self.languages[0]
        self.elder_mode = False
        self._job: Job | None = None
        self._busy: str | None = None
        self._notice: str | None = None
        self._card: CardView | None = None
        self._online = True
        self._refusal: str | None = None
        self._pin = PinBuffer(PIN_LENGTH)
        self._pin_tries: int | None = None
        self._pin_wrong = False
        self._service: str | None = None
        self._form: ServiceForm | None = None
        self._values: dict[str, str] = {}
        self._pins: dict[str, PinBuffer] = {}
        self._focus: str | None = None
        self._field_errors: dict[str, str] = {}
        self._form_error: str | None = None
        self._quote: Quote | None = None
        self._info: InfoResult | None = None
        self._outcome: Outcome | None = None
        self._printer_problem: str | None = None
        self._deadline: float | None = None
        self._warned = False

    @property
    def state(self) -> State:
        return self._state

    def subscribe(self, listener: Callable[[KioskEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every event (on the pumping thread); returns an
        unsubscribe function. A UI hands events to its own thread from here."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def post(self, fn: Callable[[], None]) -> None:
        """Queue an input; it runs at the next :meth:`pump`. Safe from any thread."""
        self._inbox.put(fn)

    def pump(self, timeout: float = 0.0) -> int:
        """Handle queued inputs (waiting up to ``timeout`` s for the first) and the
        clock's timeouts; returns how many inputs were handled."""
        n = 0
        try:
            fn = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
            while True:
                self._guarded(fn)
                n += 1
                fn = self._inbox.get_nowait()
        except queue.Empty:
            pass
        self._guarded(self._check_timers)
        return n

    def _guarded(self, fn: Callable[[], None]) -> None:
        # A bug in one input must not stop the kiosk's core thread: it is logged,
        # audited and kept in ``errors`` (tests assert it stays empty), and the
        # session is ended safely so the next citizen starts clean.
        try:
            fn()
        except Exception as exc:
            log.exception("kiosk core: input failed in %s", self._state.value)
            self.errors.append(exc)
            self.audit("core_error", {"state": self._state.value, "error": repr(exc)[:200]})
            self._recover()

    def _recover(self) -> None:
        if self._job is not None:
            self._job.cancel()
        self._job = None
        if self._state not in (State.ATTRACT, State.OUT_OF_SERVICE, State.TAKE_CARD):
            self._wipe_pins()
            self._pin.clear()
            self._state = State.TAKE_CARD  # direct: the table describes correct runs
            self._notice = "kiosk_error"
            self._deadline = None
            try:
                self._show()
            except Exception:
                log.exception("kiosk core: cannot show the recovery screen")

    def quiet(self) -> bool:
        """No input waiting and no job queued or running (tests, scripted sessions)."""
        return self._inbox.empty() and self.worker.wait_idle(0)

    def run(self, stop: threading.Event, tick: float = 0.2) -> None:
        """Pump until ``stop`` is set (the kiosk's core thread)."""
        while not stop.is_set():
            self.pump(timeout=tick)

    def _emit(self, event: KioskEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken screen must not stop the kiosk
                log.exception("kiosk listener failed on %s", type(event).__name__)

    def _record(self, event: str, **fields: object) -> None:
        self.audit(event, {"session": self.session_id, "state": self._state.value, **fields})

    def _go(self, to: State, *, notice: str | None = None) -> None:
        frm = self._state
        if frm != to and (frm, to) not in TRANSITIONS:
            raise IllegalTransition(f"{frm.value} -> {to.value}")
        if frm != to:
            self.transitions_seen.add((frm, to))
            self._record("transition", to=to.value)
        self._state = to
        self._notice = notice
        if self._warned:
            self._warned = False
            self._emit(TimeoutCleared())
        seconds = self.timeouts.for_state(to, self.elder_mode)
        self._deadline = None if seconds is None else self.clock.monotonic() + seconds
        if to not in BUSY_STATES:
            self._busy = None
        self._show()

    def _touch(self) -> None:
        """The citizen did something: the state's timer starts over."""
        seconds = self.timeouts.for_state(self._state, self.elder_mode)
        if seconds is not None:
            self._deadline = self.clock.monotonic() + seconds
        if self._warned:
            self._warned = False
            self._emit(TimeoutCleared())

    def _check_timers(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - self.clock.monotonic()
        if left <= 0:
            self._warned = False
            self._emit(TimeoutCleared())
            self._on_timeout()
        elif left <= self.timeouts.warning and not self._warned:
            self._warned = True
            self._emit(TimeoutWarning(seconds_left=left))

    def _start_job(
        self,
        busy: str,
        fn: Callable[[JobContext], Any],
        on_result: Callable[[Any, BaseException | None], None],
    ) -> None:
        self._busy = busy

        def done(job: Job, result: Any, error: BaseException | None) -> None:
            self.post(lambda: self._job_done(job, result, error, on_result))

        def progress(step: str, fraction: float | None) -> None:
            self.post(lambda: self._emit(Progress(step, fraction)))

        self._job = self.worker.submit(busy, fn, done, progress)

    def _job_done(
        self,
        job: Job,
        result: Any,
        error: BaseException | None,
        on_result: Callable[[Any, BaseException | None], None],
    ) -> None:
        if job is not self._job:
            # A job of a session that already ended (card pulled, cancelled). A payment
            # that finished anyway is still news for the citizen at the attract screen.
            if job is self._orphan_payment:
                self._orphan_payment = None
                if isinstance(result, Outcome) and result.ok and self._state is State.ATTRACT:
                    self.audit("late_outcome", {"code": result.code, "amount": result.amount_fen,
                                                "transaction": result.transaction_id})  # fmt: skip
                    self._notice = "last_payment_completed"
                    self._show()
            return
        self._job = None
        on_result(result, error)

    def _background(self, name: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the worker, after whatever runs there now; no result."""

        def run(_ctx: JobContext) -> None:
            fn()

        self.worker.submit(name, run, lambda *_: None, lambda *_: None)

    # ------------------------------------------------------------------ screen
    def screen(self) -> Screen:
        """The current screen (also sent as :class:`ScreenChanged` on every change)."""
        s = self._state
        lang = self.language
        seconds = self.timeouts.for_state(s, self.elder_mode)
        scr = Screen(
            state=s,
            language=lang,
            elder_mode=self.elder_mode,
            timeout_s=seconds,
            notice=self._notice,
            busy=self._busy if s in BUSY_STATES else None,
            cancellable=s in (State.CHECKING_CARD, State.PREPARING, State.CHECKING_PRINTER),
            card=self._card,
            online=self._online,
        )
        if s is State.CARD_REFUSED:
            scr = replace(scr, refusal=self._refusal)
        elif s is State.PIN_ENTRY:
            scr = replace(scr, pin=PinView(len(self._pin), PIN_LENGTH, self._pin_tries,
                                           self._pin_wrong))  # fmt: skip
        elif s is State.MENU:
            scr = replace(scr, menu=self.ops.menu(lang))
        elif s is State.FORM and self._form is not None:
            scr = replace(scr, form=self._form_view(self._form))
            focus = self._pins.get(self._focus or "")
            if focus is not None:
                pin = PinView(len(focus), PIN_LENGTH, None, label=self._focus or "pin")
                scr = replace(scr, pin=pin)
        elif s is State.INFO and self._info is not None:
            i = self._info
            scr = replace(scr, info=InfoView(i.service_id, pick(i.titles, lang), i.balance_fen,
                                             i.history, i.details))  # fmt: skip
        elif s in (State.CONFIRM, State.NO_PAPER, State.CHECKING_PRINTER, State.PROCESSING):
            scr = replace(scr, confirm=self._confirm_view())
            if self._printer_problem:
                scr = replace(scr, extra={"printer_problem": self._printer_problem})
        elif s is State.DONE and self._outcome is not None:
            o = self._outcome
            title = pick(self._quote.titles, lang) if self._quote else ""
            scr = replace(scr, result=ResultView(
                self._service or "", title, o.ok, o.code, o.amount_fen, o.balance_after_fen,
                o.transaction_id, o.receipt))  # fmt: skip
        return scr

    def _show(self) -> None:
        self._emit(ScreenChanged(self.screen()))

    def _form_view(self, form: ServiceForm) -> FormView:
        lang = self.language
        fields = []
        for f in form.fields:
            pin = self._pins.get(f.name)
            value = "*" * len(pin) if pin is not None else self._values.get(f.name, "")
            fields.append(FieldView(
                name=f.name, label=pick(f.labels, lang), kind=f.kind, value=value,
                required=f.required,
                choices=tuple((v, pick(labels, lang)) for v, labels in f.choices),
                error=self._field_errors.get(f.name), focused=f.name == self._focus,
                min_fen=f.min_value, max_fen=f.max_value,
            ))  # fmt: skip
        return FormView(form.service_id, pick(form.titles, lang), tuple(fields), self._form_error)

    def _confirm_view(self) -> ConfirmView | None:
        q = self._quote
        if q is None:
            return None
        after = None
        if q.balance_fen is not None:
            sign = {"debit": -1, "load": 1}.get(q.kind, 0)
            after = q.balance_fen + sign * q.amount_fen
        return ConfirmView(q.service_id, pick(q.titles, self.language), q.kind, q.amount_fen,
                           q.payee, q.details, q.balance_fen, after)  # fmt: skip

    # ------------------------------------------------------------------ public inputs
    def start(self) -> None:
        """Check the devices and show ATTRACT (or OUT_OF_SERVICE)."""
        self.post(self._on_start)

    def recheck(self) -> None:
        """Ask again whether sales can run (after a sync, a PSAM swap, freed disk)."""
        self.post(self._on_start)

    def card_inserted(self) -> None:
        """A card arrived in the citizen slot (from the reader monitor)."""
        self.post(self._on_card_inserted)

    def card_removed(self) -> None:
        """The card left the citizen slot, at any moment."""
        self.post(self._on_card_removed)

    def pin_digit(self, digit: int) -> None:
        """One digit from the PIN pad (PIN screen, or a focused PIN field)."""
        self.post(lambda: self._on_pin_digit(digit))

    def pin_delete(self) -> None:
        self.post(lambda: self._on_pin_edit(clear=False))

    def pin_clear(self) -> None:
        self.post(lambda: self._on_pin_edit(clear=True))

    def pin_submit(self) -> None:
        self.post(self._on_pin_submit)

    def choose_service(self, service_id: str) -> None:
        self.post(lambda: self._on_choose(service_id))

    def focus_field(self, name: str) -> None:
        self.post(lambda: self._on_focus(name))

    def set_field(self, name: str, value: str) -> None:
        """Set a text, digits, amount or choice field (PIN fields take pin_digit)."""
        self.post(lambda: self._on_set_field(name, value))

    def submit_form(self) -> None:
        self.post(self._on_submit_form)

    def confirm(self) -> None:
        self.post(self._on_confirm)

    def continue_without_receipt(self) -> None:
        self.post(self._on_without_receipt)

    def back(self) -> None:
        """Back to the menu (form, info, confirm, no paper, done)."""
        self.post(self._on_back)

    def cancel(self) -> None:
        """Stop what is running (if it still can stop) or end the session."""
        self.post(self._on_cancel)

    def finish(self) -> None:
        """The citizen is done: "please take your card"."""
        self.post(self._on_finish)

    def more_time(self) -> None:
        self.post(self._on_more_time)

    def set_language(self, language: Language | str) -> None:
        self.post(lambda: self._on_language(Language(language)))

    def set_elder_mode(self, on: bool) -> None:
        """Larger text and longer timeouts (the UI draws; the core stretches time)."""
        self.post(lambda: self._on_elder(on))

    # ------------------------------------------------------------------ handlers
    def _on_start(self) -> None:
        if self._state not in (State.ATTRACT, State.OUT_OF_SERVICE):
            return  # a session is running; checked again after it ends
        if self._started and self._job is not None:
            return

        def result(why: str | None, error: BaseException | None) -> None:
            problem = why if error is None else f"error: {error}"
            if self._state not in (State.ATTRACT, State.OUT_OF_SERVICE):
                return
            if problem:
                self._record("out_of_service", reason=problem)
                self._go(State.OUT_OF_SERVICE, notice=str(problem).split(":")[0])
            else:
                self._go(State.ATTRACT)

        self._started = True
        self._start_job("checking_devices", lambda _ctx: self.ops.ready(), result)

    def _on_card_inserted(self) -> None:
        if self._state is not State.ATTRACT:
            self.audit("card_ignored", {"state": self._state.value})
            return
        # The only job of ATTRACT is a periodic device check: the citizen comes first
        # (its answer is dropped; the card check itself needs the PSAM and outbox).
        self._job = None
        self.session_id = next(self._session_ids)
        self._record("card_inserted")
        self._go(State.CHECKING_CARD)
        self._start_job("reading_card", self.ops.check_card, self._card_checked)

    def _card_checked(self, check: CardCheck | None, error: BaseException | None) -> None:
        if error is not None or check is None:
            if isinstance(error, CardGone):
                self._card_gone()
                return
            self._record("card_check_failed", error=type(error).__name__)
            self._refusal = "unreadable"
            self._go(State.CARD_REFUSED)
            return
        self._card = check.card
        self._online = check.online
        notice = ",".join(check.notices) or None
        if check.refusal is not None:
            self._refusal = check.refusal
            self._record("card_refused", reason=check.refusal)
            self._go(State.CARD_REFUSED, notice=notice)
            return
        self._pin_tries = check.pin_tries
        self._pin.clear()
        self._record("card_accepted", card=check.card.card_number_masked if check.card else "")
        self._go(State.PIN_ENTRY, notice=notice)

    def _on_card_removed(self) -> None:
        s = self._state
        if s in (State.ATTRACT, State.OUT_OF_SERVICE):
            return
        paying = s is State.PROCESSING
        if self._job is not None:
            self._job.cancel()
            if paying:
                self._orphan_payment = self._job
            self._job = None
        self._record("card_removed", during=s.value)
        if self._quote is not None and s in (State.CONFIRM, State.CHECKING_PRINTER, State.NO_PAPER):
            quote = self._quote
            self._background("release", lambda: self.ops.release(quote))
        self._background("end_card", self.ops.end_card)
        self._wipe_pins()
        # Taking the card out when asked to (TAKE_CARD, a refused card) is no news.
        expected = s in (State.TAKE_CARD, State.CARD_REFUSED)
        notice = None if expected else ("card_pulled_during_payment" if paying
                                        else "card_pulled")  # fmt: skip
        self._reset_session()
        self._go(State.ATTRACT, notice=notice)

    def _card_gone(self) -> None:
        """A job lost the card. The reader's removal event usually follows, but a
        session must not hang on it: end it now (a later removal is then ignored; a
        card still in the slot is asked for again by taking it out)."""
        self._record("card_lost_by_job")
        self._on_card_removed()

    def _on_pin_digit(self, digit: int) -> None:
        if self._state is State.PIN_ENTRY:
            self._pin.add(digit)
            self._pin_wrong = False
        elif self._state is State.FORM and self._focus in self._pins:
            self._pins[self._focus].add(digit)
            if self._pins[self._focus].complete:
                self._focus_next_pin()
        else:
            return
        self._touch()
        self._show()

    def _on_pin_edit(self, *, clear: bool) -> None:
        buf = self._pin if self._state is State.PIN_ENTRY else self._pins.get(self._focus or "")
        if buf is None or self._state not in (State.PIN_ENTRY, State.FORM):
            return
        buf.clear() if clear else buf.delete()
        self._touch()
        self._show()

    def _on_pin_submit(self) -> None:
        if self._state is not State.PIN_ENTRY:
            if self._state is State.FORM:
                self._on_submit_form()
            return
        if not self._pin.complete:
            self._pin_wrong = False
            self._show()
            return
        box = [self._pin.take()]
        self._go(State.VERIFYING_PIN)

        def verify(ctx: JobContext) -> PinOutcome:
            # The only copy of the digits leaves the box as it is sent.
            return self.ops.verify_pin(box.pop(), ctx)

        self._start_job("verifying_pin", verify, self._pin_checked)

    def _pin_checked(self, outcome: PinOutcome | None, error: BaseException | None) -> None:
        if error is not None or outcome is None:
            if isinstance(error, CardGone):
                self._card_gone()
                return
            self._refusal = "unreadable"
            self._go(State.CARD_REFUSED)
            return
        self._record("pin", ok=outcome.ok, tries_left=outcome.tries_left, blocked=outcome.blocked)
        self._pin_tries = outcome.tries_left
        if outcome.ok:
            self._go(State.MENU)
        elif outcome.blocked or outcome.tries_left == 0:
            self._refusal = "pin_blocked"
            self._go(State.CARD_REFUSED)
        else:
            self._pin_wrong = True
            self._go(State.PIN_ENTRY)

    def _on_choose(self, service_id: str) -> None:
        if self._state is not State.MENU:
            return
        item = next((i for g in self.ops.menu(self.language) for i in g.items
                     if i.service_id == service_id), None)  # fmt: skip
        if item is None or not item.available:
            # Say why (it needs the network...), not only that it is not available.
            self._notice = (item.why_not or "service_unavailable") if item else "unknown_service"
            self._show()
            return
        self._record("service", service=service_id)
        self._service = service_id
        self._form = self.ops.form(service_id)
        self._values, self._field_errors, self._form_error = {}, {}, None
        self._wipe_pins()
        if self._form is None or not self._form.fields:
            self._prepare({})
            return
        self._pins = {f.name: PinBuffer(PIN_LENGTH) for f in self._form.fields if f.kind == "pin"}
        self._focus = self._form.fields[0].name
        self._go(State.FORM)

    def _on_focus(self, name: str) -> None:
        form = self._form
        if self._state is State.FORM and form and any(f.name == name for f in form.fields):
            self._focus = name
            self._touch()
            self._show()

    def _focus_next_pin(self) -> None:
        for name, buf in self._pins.items():
            if not buf.complete:
                self._focus = name
                return

    def _on_set_field(self, name: str, value: str) -> None:
        if self._state is not State.FORM or self._form is None:
            return
        spec = next((f for f in self._form.fields if f.name == name), None)
        if spec is None or spec.kind == "pin":
            return
        self._values[name] = value
        self._field_errors.pop(name, None)
        self._touch()
        self._show()

    def _on_submit_form(self) -> None:
        if self._state is not State.FORM or self._form is None:
            return
        errors, values = check_form(self._form, self._values, self._pins)
        self._field_errors = errors
        self._touch()
        if errors:
            self._record("form_invalid", fields=sorted(errors))
            self._show()
            return
        self._prepare(values)

    def _prepare(self, values: dict[str, str]) -> None:
        service = self._service or ""
        self._form_error = None
        self._go(State.PREPARING)

        def prepare(ctx: JobContext) -> Quote | InfoResult:
            return self.ops.prepare(service, values, ctx)

        self._start_job("preparing", prepare, self._prepared)

    def _prepared(self, result: Quote | InfoResult | None, error: BaseException | None) -> None:
        if isinstance(error, CardGone):
            self._card_gone()
            return
        if isinstance(error, FormError) and self._form is not None and self._form.fields:
            self._record("service_refused", code=error.code)
            self._form_error = error.code
            if error.field_name:
                self._field_errors[error.field_name] = error.code
            self._go(State.FORM)
            return
        if error is not None or result is None:
            code = error.code if isinstance(error, (ServiceUnavailable, FormError)) else (
                "cancelled" if isinstance(error, Cancelled) else "service_failed")  # fmt: skip
            if code == "service_failed":
                log.error("service %s failed", self._service, exc_info=error)
            self._record("service_failed", code=code)
            self._go(State.MENU, notice=code)
            return
        if isinstance(result, InfoResult):
            self._info = result
            self._record("info", service=result.service_id)
            self._go(State.INFO)
        else:
            self._quote = result
            self._record("quote", service=result.service_id, kind=result.kind,
                         amount=result.amount_fen)  # fmt: skip
            self._go(State.CONFIRM)

    def _on_confirm(self) -> None:
        if self._state is not State.CONFIRM or self._quote is None:
            return
        quote = self._quote
        self._record("confirmed", amount=quote.amount_fen)
        self._go(State.CHECKING_PRINTER)
        if not quote.needs_receipt:
            self._printer_checked(PrinterCheck(ready=False, problem=None), None)
            return
        self._start_job("checking_printer", self.ops.check_printer, self._printer_checked)

    def _printer_checked(self, check: PrinterCheck | None, error: BaseException | None) -> None:
        quote = self._quote
        if quote is None:
            return
        if not quote.needs_receipt:
            self._execute(receipt=False)
        elif check is not None and check.ready:
            self._execute(receipt=True)
        else:
            self._printer_problem = (check.problem if check else None) or "no_answer"
            self._record("printer_problem", problem=self._printer_problem)
            self._go(State.NO_PAPER)

    def _on_without_receipt(self) -> None:
        if self._state is State.NO_PAPER:
            self._record("without_receipt")
            self._execute(receipt=False)

    def _execute(self, *, receipt: bool) -> None:
        quote = self._quote
        if quote is None:
            return
        pins = {name: buf.take() for name, buf in self._pins.items()}
        language = self.language
        self._go(State.PROCESSING)

        def execute(ctx: JobContext) -> Outcome:
            try:
                return self.ops.execute(
                    quote, receipt=receipt, pins=pins, language=language, ctx=ctx
                )
            finally:
                pins.clear()

        self._start_job("processing", execute, self._executed)

    def _executed(self, outcome: Outcome | None, error: BaseException | None) -> None:
        if isinstance(error, CardGone):
            self._card_gone()
            return
        if error is not None or outcome is None:
            log.error("service %s failed while executing", self._service, exc_info=error)
            outcome = Outcome(ok=False, code="failed")
        self._outcome = outcome
        self._record("outcome", ok=outcome.ok, code=outcome.code, amount=outcome.amount_fen,
                     transaction=outcome.transaction_id, receipt=outcome.receipt)  # fmt: skip
        if outcome.balance_after_fen is not None and self._card is not None:
            self._card = replace(self._card, balance_fen=outcome.balance_after_fen)
        self._go(State.DONE)

    def _back_to_menu(self, notice: str | None = None) -> None:
        if self._quote is not None and self._state in (State.CONFIRM, State.NO_PAPER):
            quote = self._quote
            self._background("release", lambda: self.ops.release(quote))
        self._quote = self._info = self._outcome = None
        self._printer_problem = None
        self._form = None
        self._wipe_pins()
        self._go(State.MENU, notice=notice)

    def _on_back(self) -> None:
        if self._state in (State.FORM, State.INFO, State.CONFIRM, State.NO_PAPER, State.DONE):
            self._back_to_menu()

    def _on_cancel(self) -> None:
        s = self._state
        if s in (State.CHECKING_CARD, State.PREPARING, State.CHECKING_PRINTER) and self._job:
            self._job.cancel()
            self._job = None
            self._record("cancelled")
            if s is State.CHECKING_CARD:
                self._refusal = "cancelled"
                self._go(State.CARD_REFUSED)
            else:
                self._back_to_menu("cancelled")
        elif s in (State.FORM, State.CONFIRM, State.NO_PAPER):
            self._back_to_menu("cancelled")
        elif s in (State.PIN_ENTRY, State.MENU, State.INFO, State.DONE, State.CARD_REFUSED):
            self._take_card()

    def _on_finish(self) -> None:
        if self._state in (State.MENU, State.INFO, State.DONE, State.CARD_REFUSED):
            self._take_card()

    def _take_card(self, notice: str | None = None) -> None:
        if self._quote is not None and self._state in (State.CONFIRM, State.NO_PAPER):
            quote = self._quote
            self._background("release", lambda: self.ops.release(quote))
        self._wipe_pins()
        self._pin.clear()
        self._go(State.TAKE_CARD, notice=notice)

    def _on_more_time(self) -> None:
        if self._deadline is not None:
            self._record("more_time")
            self._touch()

    def _on_language(self, language: Language) -> None:
        if language not in self.languages:
            return
        self.language = language
        self._show()

    def _on_elder(self, on: bool) -> None:
        self.elder_mode = on
        self._touch()
        self._show()

    def _on_timeout(self) -> None:
        s = self._state
        self._record("timeout")
        if s is State.TAKE_CARD:
            # The card is still there: keep asking (a kiosk cannot swallow it).
            self._go(State.TAKE_CARD, notice="card_forgotten")
        elif s in (State.CARD_REFUSED, State.PIN_ENTRY, State.MENU, State.FORM, State.INFO,
                   State.CONFIRM, State.NO_PAPER, State.DONE):  # fmt: skip
            self._take_card("timed_out")

    def _wipe_pins(self) -> None:
        for buf in self._pins.values():
            buf.clear()
        self._pins = {}
        self._focus = None
