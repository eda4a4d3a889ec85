"""The terminal machine and every journey's table, walked with a fake ops object.

No card, no central, no threads: the worker here runs a job only when the test says
so (so a card can be pulled while a job is in flight), and the clock is manual.
Every transition of every journey is walked; the whole file takes well under a
second. The end-to-end suites (test_session.py, test_flows.py) walk the same
tables against the simulators and a real central."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

import pytest

from cardlib.certs import Role
from kiosk.codes import FieldError, Notice, OutcomeCode, PrinterProblem, ReceiptState, Refusal
from kiosk.core.clock import ManualClock
from kiosk.core.controller import KioskController
from kiosk.core.forms import FieldSpec, ServiceForm
from kiosk.core.journey import HomeJourney, JourneyTable, timed
from kiosk.core.machine import TerminalMachine
from kiosk.core.timeouts import Timeouts
from kiosk.core.views import CardView, Language, MenuGroup, MenuItem, Screen, TimeoutWarning
from kiosk.core.worker import Job, JobContext, Worker
from kiosk.flows.base import Answer, CardGone, FormError, Outcome, Quote, QuoteKind
from kiosk.journeys import build_kiosk_machine
from kiosk.journeys.citizen_states import TABLE, State
from kiosk.journeys.maintenance import Maintenance
from kiosk.journeys.ports import CardCheck, KioskOps, PinOutcome, PrinterCheck

S = State
NAMES = {"zh-Hans": "服务", "zh-Hant": "服務", "en": "Service"}
PIN = "123456"


class StepWorker(Worker):
    """Jobs wait until :meth:`run_all`: the test decides when a job ends."""

    def __init__(self) -> None:
        super().__init__("fake")
        self.pending: list[Job] = []

    def submit(
        self,
        name: str,
        fn: Callable[[JobContext], Any],
        on_done: Callable[[Job, Any, BaseException | None], None],
        on_progress: Callable[[str, float | None], None],
    ) -> Job:
        job = Job(name, fn, on_done, on_progress)
        self.pending.append(job)
        return job

    def wait_idle(self, timeout: float | None = None) -> bool:
        return not self.pending

    def run_all(self) -> None:
        while self.pending:
            job = self.pending.pop(0)
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.fn(JobContext(job.cancel_event, job.on_progress))
            except Exception as exc:
                error = exc
            job.on_done(job, result, error)


class FakeOps:
    """KioskOps with knobs: what the card is, which PIN is right, what each service
    answers. Services: ``balance`` (an answer), ``bill`` (a form; account 42 is not
    found), ``pay`` (a quote, no form), ``offline`` (needs the network)."""

    def __init__(self) -> None:
        self.check = CardCheck(CardView("6217****0001", "张*", 10_000, dt.date(2030, 1, 1)),
                               pin_tries=3)  # fmt: skip
        self.tries = 3
        self.not_ready: Notice | None = None
        self.printer = PrinterCheck(True)
        self.lose_card: set[str] = set()
        self.released: list[str] = []
        self.executed: list[str] = []
        self.printed: list[str] = []
        self.diagnostics: Any = None  # tests/kiosk/test_maintenance_fast.py sets its tools
        self.support_dir: Any = None

    def _gone(self, what: str) -> None:
        if what in self.lose_card:
            raise CardGone(what)

    def ready(self) -> Notice | None:
        return self.not_ready

    def check_card(self, ctx: JobContext) -> CardCheck:
        self._gone("check_card")
        return self.check

    def verify_pin(self, pin: str, ctx: JobContext) -> PinOutcome:
        self._gone("verify_pin")
        if pin == PIN:
            return PinOutcome(True, 3)
        self.tries -= 1
        return PinOutcome(False, self.tries, blocked=self.tries == 0)

    def menu(self, language: Language, *, card: bool = True) -> tuple[MenuGroup, ...]:
        items = tuple(MenuItem(s, s, s != "offline", "needs_network" if s == "offline" else None)
                      for s in ("balance", "bill", "pay", "offline"))  # fmt: skip
        return (MenuGroup("all", "All", items),)

    def form(self, service_id: str) -> ServiceForm | None:
        if service_id != "bill":
            return None
        return ServiceForm("bill", NAMES, (FieldSpec("account", NAMES, "digits"),))

    def prepare(
        self, service_id: str, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | Answer:
        self._gone("prepare")
        if service_id == "balance":
            return Answer("balance", NAMES, balance_fen=10_000, printable=True)
        if values.get("account") == "42":
            raise FormError(FieldError.BILL_NOT_FOUND, "account")
        return Quote(service_id, NAMES, "fixed_price", QuoteKind.DEBIT, 1_000, "bike",
                     balance_fen=10_000)  # fmt: skip

    def release(self, quote: Quote) -> None:
        self.released.append(quote.service_id)

    def check_printer(self, ctx: JobContext) -> PrinterCheck:
        self._gone("check_printer")
        return self.printer

    def execute(
        self,
        quote: Quote,
        *,
        receipt: bool,
        pins: Mapping[str, str],
        language: Language,
        ctx: JobContext,
    ) -> Outcome:
        self._gone("execute")
        self.executed.append(quote.service_id)
        return Outcome(True, OutcomeCode.PAID, amount_fen=quote.amount_fen,
                       balance_after_fen=9_000, transaction_id="T1")  # fmt: skip

    def print_answer(self, answer: Answer, language: Language, ctx: JobContext) -> ReceiptState:
        self._gone("print_answer")
        self.printed.append(answer.service_id)
        return ReceiptState.PRINTED

    def end_card(self) -> None:
        pass


class Rig:
    """A machine on fake ops, its controller, the audit trail and the events."""

    def __init__(self, **kw: Any) -> None:
        self.ops = FakeOps()
        self.clock = ManualClock()
        self.worker = StepWorker()
        self.audit: list[tuple[str, dict[str, object]]] = []
        self.m: TerminalMachine = build_kiosk_machine(
            self.ops, clock=self.clock, worker=self.worker,
            audit=lambda e, f: self.audit.append((e, dict(f))), **kw,
        )  # fmt: skip
        self.c = KioskController(self.m)
        self.events: list[object] = []
        self.c.subscribe(self.events.append)
        self.c.start(thread=False)
        self.settle()
        assert self.state is S.ATTRACT

    @property
    def state(self) -> StrEnum:
        return self.m.state

    def screen(self) -> Screen:
        return self.m.screen()

    def pump(self) -> None:
        self.m.pump()

    def settle(self) -> None:
        for _ in range(20):
            self.m.pump()
            if not self.worker.pending:
                break
            self.worker.run_all()
        self.m.pump()

    def insert(self, role: Role = Role.CITIZEN, refusal: Refusal | None = None) -> None:
        self.ops.check = replace(self.ops.check, role=role, refusal=refusal)
        self.c.card_inserted()
        self.settle()

    def pin(self, digits: str = PIN) -> None:
        for d in digits:
            self.c.pin_digit(int(d))
        self.c.pin_submit()
        self.settle()

    def login(self) -> None:
        self.insert()
        self.pin()
        assert self.state is S.MENU

    def choose(self, service: str) -> None:
        self.c.choose_service(service)
        self.settle()

    def remove(self) -> None:
        self.c.card_removed()
        self.settle()

    def during(self, start: Callable[[], None]) -> None:
        """Pull the card while the job ``start`` began is still running."""
        start()
        self.pump()
        assert self.state in self.m.journey.table.busy, self.state
        self.c.card_removed()
        self.settle()
        assert self.state is S.ATTRACT

    def expire(self) -> None:
        seconds = self.m.seconds_for(self.state)
        assert seconds is not None
        self.clock.advance(seconds + 1)
        self.pump()

    def seen(self, table: JourneyTable) -> set[tuple[str, str]]:
        """(from, to) of ``table`` walked, from the audit trail."""
        names = {s.value for s in table.states}
        pairs = {(str(f["state"]), str(f["to"])) for e, f in self.audit
                 if e in ("transition", "journey")}  # fmt: skip
        return {p for p in pairs if p[0] in names and p[1] in names}


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_every_citizen_transition_is_walked(rig: Rig) -> None:
    r, c = rig, rig.c
    r.ops.not_ready = Notice.SALES_STOPPED  # out of service and back
    c.recheck_devices()
    r.settle()
    assert r.state is S.OUT_OF_SERVICE and r.screen().notices == ("sales_stopped",)
    r.ops.not_ready = None
    c.recheck_devices()
    r.settle()
    r.ops.not_ready = Notice.TAKEN_OUT_OF_SERVICE  # a technician's: a card is still read
    c.recheck_devices()
    r.settle()
    assert r.state is S.OUT_OF_SERVICE
    r.insert(refusal=Refusal.OUT_OF_SERVICE)  # a citizen's card is refused by the check
    assert (r.state, r.screen().refusal) == (S.CARD_REFUSED, "out_of_service")
    r.remove()
    r.ops.not_ready = None
    c.recheck_devices()
    r.settle()
    r.insert(refusal=Refusal.EXPIRED)  # refused: finished, timed out, pulled
    c.finish()
    r.settle()
    r.remove()
    r.insert(refusal=Refusal.EXPIRED)
    r.remove()
    r.during(c.card_inserted)  # pulled while checking
    r.insert()
    for d in PIN:
        c.pin_digit(int(d))
    r.during(c.pin_submit)  # pulled while verifying
    c.card_inserted()  # cancelled while checking
    r.pump()
    c.cancel()
    r.settle()
    assert r.state is S.CARD_REFUSED and r.screen().refusal == "cancelled"
    r.remove()
    r.insert()  # PIN: wrong, cancelled, pulled, blocked
    r.pin("000000")
    assert r.state is S.PIN_ENTRY and r.screen().pin is not None and r.screen().pin.wrong
    c.cancel()
    r.settle()
    r.remove()
    r.insert()
    r.remove()
    r.insert()
    r.pin("000000")
    r.pin("000000")
    assert r.state is S.CARD_REFUSED and r.screen().refusal == "pin_blocked"
    r.remove()
    r.ops.tries = 3
    r.login()  # menu: finish, pulled
    c.finish()
    r.settle()
    r.remove()
    r.login()
    r.remove()
    r.login()  # form: back, not found, timeout, pulled, submitted
    r.choose("bill")
    c.back()
    r.choose("bill")
    c.set_field("account", "42")
    c.submit_form()
    r.settle()
    assert r.state is S.FORM and r.screen().form is not None
    assert r.screen().form.error == "bill_not_found"  # type: ignore[union-attr]
    r.expire()
    assert r.state is S.TAKE_CARD and r.screen().notices == ("timed_out",)
    r.remove()
    r.login()
    r.choose("bill")
    r.remove()
    r.login()  # preparing: cancelled, failed, pulled; info: back, finish, pulled
    c.choose_service("balance")
    r.pump()
    c.cancel()
    r.settle()
    assert r.state is S.MENU and r.screen().notices == ("cancelled",)
    r.ops.lose_card.add("prepare")
    r.choose("balance")
    assert r.state is S.ATTRACT  # the job lost the card
    r.ops.lose_card.clear()
    r.login()
    r.during(lambda: c.choose_service("balance"))
    r.login()
    r.choose("balance")
    assert r.state is S.INFO and r.screen().info is not None and r.screen().info.printable
    c.print_answer()  # printed on a slip, back to the answer
    r.settle()
    assert r.state is S.INFO and r.ops.printed == ["balance"]
    assert r.screen().info.receipt == "printed"  # type: ignore[union-attr]
    r.during(c.print_answer)
    r.login()
    r.choose("balance")
    c.back()
    r.choose("balance")
    c.finish()
    r.settle()
    r.remove()
    r.login()
    r.choose("balance")
    r.remove()
    r.login()  # confirm: back (released), timeout, pulled; printer: cancelled, pulled
    r.choose("pay")
    c.back()
    r.settle()
    assert r.ops.released == ["pay"]
    r.choose("pay")
    c.confirm()
    r.pump()
    c.cancel()
    r.settle()
    assert r.state is S.MENU and r.ops.released == ["pay", "pay"]
    r.choose("pay")
    r.during(c.confirm)
    r.login()
    r.choose("pay")
    r.expire()
    r.remove()
    r.login()
    r.choose("pay")
    r.remove()
    assert r.ops.released == ["pay"] * 5 and r.ops.executed == []
    r.ops.printer = PrinterCheck(False, PrinterProblem.PAPER_OUT)  # no paper: back, go on...
    r.login()
    r.choose("pay")
    c.confirm()
    r.settle()
    assert r.state is S.NO_PAPER and r.screen().extra == {"printer_problem": "paper_out"}
    c.back()
    r.choose("pay")
    c.confirm()
    r.settle()
    c.continue_without_receipt()
    r.settle()
    assert r.state is S.DONE and r.ops.executed == ["pay"]
    c.back()
    r.choose("pay")
    c.confirm()
    r.settle()
    r.expire()
    r.remove()
    r.login()
    r.choose("pay")
    c.confirm()
    r.settle()
    r.remove()
    r.ops.printer = PrinterCheck(True)
    r.login()  # done: another service, finish, pulled; processing: pulled
    r.choose("pay")
    c.confirm()
    r.settle()
    c.back()
    r.choose("pay")
    c.confirm()
    r.settle()
    c.finish()
    r.settle()
    r.remove()
    r.login()
    r.choose("pay")
    c.confirm()
    r.settle()
    r.remove()
    r.login()
    r.choose("pay")
    c.confirm()
    r.pump()
    r.worker.run_all()  # the printer is ready: PROCESSING, the payment job under way
    r.pump()
    assert r.state is S.PROCESSING and not r.screen().cancellable
    c.card_removed()
    r.pump()
    assert r.state is S.ATTRACT and r.screen().notices == ("card_pulled_during_payment",)
    r.worker.run_all()  # the payment finished after all: still news at ATTRACT
    r.pump()
    assert r.screen().notices == ("last_payment_completed",)
    missing = {(a.value, b.value) for a, b in TABLE.transitions} - r.seen(TABLE)
    assert not missing, sorted(missing)
    assert not [e for e, _ in r.audit if e == "core_error"]


def test_the_maintenance_journey_opens_and_every_way_out_is_back_at_home(rig: Rig) -> None:
    # Its pages and every transition: tests/kiosk/test_maintenance_fast.py.
    r, c = rig, rig.c
    r.insert(Role.TECHNICIAN)
    scr = r.screen()
    assert (scr.journey, scr.state, scr.role) == ("maintenance", Maintenance.PIN_ENTRY,
                                                  "technician")  # fmt: skip
    r.pin("000000")
    assert r.state is Maintenance.PIN_ENTRY and r.screen().pin.wrong  # type: ignore[union-attr]
    r.pin()
    assert r.state is Maintenance.HOME  # no diagnostics on this fake: the page says so
    assert r.screen().maintenance.lines == ("no_diagnostics",)  # type: ignore[union-attr]
    c.finish()
    r.settle()
    assert (r.screen().journey, r.state) == ("maintenance", Maintenance.TAKE_CARD)
    r.remove()
    assert (r.m.journey.name, r.state, r.screen().notices) == ("citizen", S.ATTRACT, ())
    # every way out is back at home: timeout, card pulled, PIN blocked, pulled in a job
    r.insert(Role.TECHNICIAN)
    r.expire()
    assert (r.m.journey.name, r.state) == ("citizen", S.TAKE_CARD)
    r.remove()
    r.insert(Role.TECHNICIAN)
    r.pin()
    r.remove()
    assert (r.m.journey.name, r.state, r.screen().notices) == ("citizen", S.ATTRACT,
                                                               ("card_pulled",))  # fmt: skip
    r.ops.tries = 1
    r.insert(Role.TECHNICIAN)
    r.pin("000000")
    assert (r.state, r.screen().refusal) == (S.CARD_REFUSED, "pin_blocked")
    r.remove()
    r.ops.lose_card.add("verify_pin")
    r.insert(Role.TECHNICIAN)
    r.pin()
    assert (r.m.journey.name, r.state) == ("citizen", S.ATTRACT)
    assert not [e for e, _ in r.audit if e == "core_error"]


def test_the_card_role_picks_the_journey(rig: Rig) -> None:
    r = rig
    r.insert(Role.CLERK)
    assert (r.state, r.screen().refusal) == (S.CARD_REFUSED, "counter_card")
    r.remove()
    r.insert(Role.CITIZEN)
    assert (r.m.journey.name, r.state) == ("citizen", S.PIN_ENTRY)


def test_a_move_outside_the_table_is_refused_and_the_session_ends_safely(rig: Rig) -> None:
    r = rig
    r.login()
    r.m.post(lambda: r.m.go(S.PROCESSING))  # a bug: MENU -> PROCESSING is not in the table
    r.settle()
    assert r.state is S.TAKE_CARD and r.screen().notices == ("kiosk_error",)
    errors = [str(f["error"]) for e, f in r.audit if e == "core_error"]
    assert len(errors) == 1 and errors[0].startswith("IllegalTransition")


def test_an_input_the_journey_has_no_handler_for_is_ignored(rig: Rig) -> None:
    r = rig
    r.insert(Role.TECHNICIAN)
    r.c.choose_service("balance")  # the maintenance journey offers no services
    r.settle()
    assert r.state is Maintenance.PIN_ENTRY
    assert ("input_ignored", "choose_service") in [(e, f.get("input")) for e, f in r.audit]


def test_timers_warn_give_more_time_and_follow_the_mapping() -> None:
    r = Rig(timeouts=Timeouts(seconds={"menu": 15.0}, warning=5.0))
    r.login()
    assert r.screen().timeout_s == 15.0
    r.clock.advance(11)
    r.pump()
    assert isinstance(r.events[-1], TimeoutWarning)
    r.c.more_time()
    r.clock.advance(11)
    r.settle()
    assert r.state is S.MENU
    r.c.set_elder_mode(True)
    r.settle()
    assert r.screen().timeout_s == 30.0
    r.clock.advance(31)
    r.pump()
    assert r.state is S.TAKE_CARD
    r.remove()
    assert not r.screen().elder_mode


def test_busy_timed_and_cancellable_come_from_the_one_table() -> None:
    assert TABLE.busy == {S.CHECKING_CARD, S.VERIFYING_PIN, S.PREPARING, S.CHECKING_PRINTER,
                          S.PROCESSING, S.PRINTING}  # fmt: skip
    assert TABLE.cancellable == {S.CHECKING_CARD, S.PREPARING, S.CHECKING_PRINTER}
    assert S.PROCESSING not in TABLE.cancellable
    assert TABLE.timed.isdisjoint(TABLE.busy)
    with pytest.raises(ValueError, match="undeclared"):
        JourneyTable("broken", {S.ATTRACT: timed(5)}, {(S.ATTRACT, S.MENU): "nowhere"})


# -- a journey without a card, started from the attract screen --------------------------


class Queue(StrEnum):
    NUMBER = "queue_number_shown"


class QueueJourney:
    """Test only: a hall queue number taken without a card."""

    name = "queue"
    table = JourneyTable("queue", {Queue.NUMBER: timed(20)}, {})

    def __init__(self, ops: KioskOps, home: HomeJourney) -> None:
        self.home = home
        self.number = 0

    def begin(self, m: TerminalMachine, **details: Any) -> None:
        self.number += 1
        m.switch(self, Queue.NUMBER)

    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        return replace(base, extra={"queue_number": f"A{self.number:03d}"})

    def on_finish(self, m: TerminalMachine) -> None:
        self.home.idle(m)

    def on_timeout(self, m: TerminalMachine) -> None:
        self.home.idle(m)

    def recover(self, m: TerminalMachine) -> None:
        self.home.idle(m)


def test_a_card_less_journey_starts_from_the_attract_screen() -> None:
    r = Rig(card_less={"queue": QueueJourney})
    r.c.start_journey("queue")
    r.settle()
    scr = r.screen()
    assert (scr.journey, scr.state, scr.extra["queue_number"]) == ("queue", Queue.NUMBER, "A001")
    r.c.finish()
    r.settle()
    assert (r.m.journey.name, r.state) == ("citizen", S.ATTRACT)
    r.c.start_journey("queue")
    r.settle()
    r.expire()
    assert (r.m.journey.name, r.state) == ("citizen", S.ATTRACT)
    r.login()  # not during a card session, and not a journey that does not exist
    r.c.start_journey("queue")
    r.c.start_journey("nonsense")
    r.settle()
    assert r.state is S.MENU
    assert [f["journey"] for e, f in r.audit if e == "journey_refused"] == ["queue", "nonsense"]
