"""The maintenance journey: a technician's card, its PIN, then the technician's pages.

Entered from the citizen journey's card check when the card's certificate names
the technician role. After the PIN: a home page (status, self-tests, force sync,
out of / back in service, config, APDU trace, support bundle, exit). Every action
is a worker job on the kiosk's diagnostics (:class:`~kiosk.journeys.ports.TechnicianTools`,
reached through the kiosk's ops), audited there with the technician's card number;
its page comes back as the job's result (:mod:`kiosk.journeys.maintenance_pages`).
Exit or a timeout asks for the card back (``maintenance_take_card``); when the card
leaves, the home journey's device check runs at once, so a kiosk the technician
left out of service shows so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import Any

from kiosk.codes import Notice, Refusal, Step
from kiosk.core.journey import HomeJourney, JourneyTable, busy, timed
from kiosk.core.machine import TerminalMachine
from kiosk.core.views import CardView, DiagRow, MaintenanceView, Screen
from kiosk.core.worker import JobContext
from kiosk.flows.base import CardGone
from kiosk.journeys import maintenance_pages as pages
from kiosk.journeys.maintenance_pages import REASONS, TESTS, Page, PageKind
from kiosk.journeys.pin import PinEntry
from kiosk.journeys.ports import KioskOps, PinOutcome, TechnicianTools

log = logging.getLogger(__name__)

__all__ = ["TABLE", "Action", "Maintenance", "MaintenanceJourney"]


class Maintenance(StrEnum):
    """Where a technician is."""

    PIN_ENTRY = "maintenance_pin"  # an operator role acts only after its PIN
    VERIFYING_PIN = "maintenance_verifying_pin"  # busy
    HOME = "maintenance"  # the technician's menu
    WORKING = "maintenance_working"  # busy: an action runs on the worker
    STATUS = "maintenance_status"  # every device: ok / warning / fault, next step
    TESTS = "maintenance_tests"  # self-tests: run one or all, their results
    REASON = "maintenance_reason"  # why the kiosk goes out of service
    RESULT = "maintenance_result"  # a forced sync's or a support bundle's result
    LINES = "maintenance_lines"  # the config (secrets redacted) or the APDU trace
    TAKE_CARD = "maintenance_take_card"  # done: the card back, then the device check


class Action(StrEnum):
    """``KioskController.maintenance_action(action, value)``."""

    HOME = "home"
    STATUS = "status"
    TESTS = "tests"  # open the self-tests page
    RUN_TEST = "run_test"  # value: a self-test name, or "all"
    FORCE_SYNC = "force_sync"
    OUT_OF_SERVICE = "out_of_service"  # no value: choose a reason; value: the reason
    BACK_IN_SERVICE = "back_in_service"
    CONFIG = "config"
    APDU_TRACE = "apdu_trace"
    SUPPORT_BUNDLE = "support_bundle"


M = Maintenance
PAGES = (M.HOME, M.STATUS, M.TESTS, M.REASON, M.RESULT, M.LINES)
STATES = {
    M.PIN_ENTRY: timed(30),
    M.VERIFYING_PIN: busy(),
    M.HOME: timed(120),
    M.WORKING: busy(),
    M.STATUS: timed(180),
    M.TESTS: timed(180),
    M.REASON: timed(60),
    M.RESULT: timed(120),
    M.LINES: timed(180),
    M.TAKE_CARD: timed(30),
}
TRANSITIONS: dict[tuple[Maintenance, Maintenance], str] = {
    (M.PIN_ENTRY, M.VERIFYING_PIN): "PIN submitted",
    (M.VERIFYING_PIN, M.PIN_ENTRY): "PIN wrong, tries left",
    (M.VERIFYING_PIN, M.WORKING): "PIN right: read the service state",
    (M.WORKING, M.HOME): "opened, or in / out of service saved",
    (M.WORKING, M.STATUS): "status read",
    (M.WORKING, M.TESTS): "self-tests run",
    (M.WORKING, M.RESULT): "sync or bundle done (or an action failed)",
    (M.WORKING, M.LINES): "config or trace read",
    (M.HOME, M.WORKING): "an action chosen",
    (M.HOME, M.TESTS): "self-tests page",
    (M.HOME, M.REASON): "out of service: choose a reason",
    (M.HOME, M.RESULT): "no directory for a support bundle",
    (M.STATUS, M.WORKING): "status again",
    (M.TESTS, M.WORKING): "run a self-test or all",
    (M.REASON, M.WORKING): "reason chosen",
    **{(p, M.HOME): "back to the menu" for p in PAGES if p is not M.HOME},
    **{(p, M.TAKE_CARD): "exit or timeout" for p in PAGES},
}
# Leaving (the card taken, PIN blocked, card pulled) hands back to the home journey.
TABLE = JourneyTable("maintenance", STATES, TRANSITIONS)


class MaintenanceJourney:
    """The technician's journey; ``home`` is the journey it hands back to. The
    diagnostics come from ``ops.diagnostics`` (None: the pages say it)."""

    name = "maintenance"
    table = TABLE

    def __init__(self, ops: KioskOps, home: HomeJourney) -> None:
        self.ops = ops
        self.home = home
        self._fresh()

    def _fresh(self) -> None:
        self.card: CardView | None = None
        self.role = ""
        self.number: str | None = None  # the technician's card number, for the audit
        self.pin = PinEntry()
        self.page = Page(PageKind.HOME)
        self.tests: dict[str, DiagRow] = {}
        self.out_of_service: str | None = None
        self.doing = "open"  # the action running (or last run)

    def begin(self, m: TerminalMachine, **details: Any) -> None:
        self._fresh()
        self.card = details.get("card")
        self.role = str(details.get("role", "technician"))
        self.number = details.get("number")
        self.pin = PinEntry(details.get("pin_tries"))
        m.switch(self, M.PIN_ENTRY)

    @property
    def tools(self) -> TechnicianTools | None:
        return self.ops.diagnostics

    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        scr = replace(base, card=self.card, role=self.role)
        if m.state is M.PIN_ENTRY:
            return replace(scr, pin=self.pin.view())
        if m.state in PAGES:
            return replace(scr, maintenance=self.view(m.state))
        return scr

    def view(self, state: StrEnum) -> MaintenanceView:
        p = self.page
        who = self.card.card_number_masked if self.card else ""
        base = MaintenanceView("home", who, out_of_service=self.out_of_service,
                               tests=TESTS, reasons=REASONS,
                               lines=("no_diagnostics",) if self.tools is None else ())  # fmt: skip
        if state is M.STATUS:
            return replace(base, page="status", health=p.health, rows=p.rows)
        if state is M.TESTS:
            rows = tuple(self.tests[n] for n in TESTS if n in self.tests)
            return replace(base, page="tests", rows=rows)
        if state is M.REASON:
            return replace(base, page="reason")
        if state in (M.RESULT, M.LINES):
            return replace(base, page=p.kind.value, action=p.action, ok=p.ok,
                           details=p.details, lines=p.lines)  # fmt: skip
        return replace(base, action=p.action)  # home (the action just done, if any)

    # -- the PIN -------------------------------------------------------------------
    def on_pin_digit(self, m: TerminalMachine, digit: int) -> None:
        if m.state is M.PIN_ENTRY:
            self.pin.digit(digit)
            m.touch()
            m.show()

    def on_pin_delete(self, m: TerminalMachine) -> None:
        if m.state is M.PIN_ENTRY:
            self.pin.edit(clear=False)
            m.touch()
            m.show()

    def on_pin_clear(self, m: TerminalMachine) -> None:
        if m.state is M.PIN_ENTRY:
            self.pin.edit(clear=True)
            m.touch()
            m.show()

    def on_pin_submit(self, m: TerminalMachine) -> None:
        if m.state is not M.PIN_ENTRY:
            return
        if not self.pin.buffer.complete:
            self.pin.wrong = False
            m.show()
            return
        m.go(M.VERIFYING_PIN)
        self.pin.submit(m, self.ops.verify_pin, lambda r, e: self._pin_checked(m, r, e))

    def _pin_checked(
        self, m: TerminalMachine, outcome: PinOutcome | None, error: BaseException | None
    ) -> None:
        if isinstance(error, CardGone):
            self._card_left(m)
            return
        if error is not None or outcome is None:
            self._leave(m, refusal=Refusal.UNREADABLE)
            return
        m.record("pin", ok=outcome.ok, tries_left=outcome.tries_left, blocked=outcome.blocked)
        self.pin.tries = outcome.tries_left
        if outcome.ok:
            m.record("maintenance_open", role=self.role)
            self._work(m, Step.CHECKING_STATUS, pages.open_job)
        elif outcome.blocked or outcome.tries_left == 0:
            self._leave(m, refusal=Refusal.PIN_BLOCKED)
        else:
            self.pin.wrong = True
            m.go(M.PIN_ENTRY)

    # -- the technician's actions ------------------------------------------------------
    def on_maintenance_action(self, m: TerminalMachine, action: str, value: str = "") -> None:
        if m.state not in PAGES:
            return  # busy, the PIN, or taking the card: nothing to choose
        try:
            act = Action(action)
        except ValueError:
            m.record("maintenance_unknown_action", action=str(action)[:40])
            return
        m.touch()
        n = self.number
        self.doing = act.value  # a failed job's result names it
        if act is Action.HOME:
            m.go(M.HOME)
        elif act is Action.TESTS:
            m.go(M.TESTS)
        elif self.tools is None:
            m.show()  # no diagnostics on this kiosk: the home page says so
        elif act is Action.STATUS:
            self._work(m, Step.CHECKING_STATUS, pages.status_job)
        elif act is Action.RUN_TEST:
            names = TESTS if value == "all" else (value,) if value in TESTS else ()
            if names and m.state is M.TESTS:
                done, lang = dict(self.tests), m.language.value
                run = lambda t, ctx: pages.tests_job(t, names, done, n, lang, ctx)  # noqa: E731
                self._work(m, pages.TEST_STEPS[names[0]], run)
        elif act is Action.OUT_OF_SERVICE:
            if m.state is M.HOME and not value:
                m.go(M.REASON)
            elif m.state is M.REASON and value in REASONS:
                self._work(m, Step.SAVING, lambda t, ctx: pages.service_job(t, value, n, ctx))
        elif act is Action.BACK_IN_SERVICE and m.state is M.HOME:
            self._work(m, Step.SAVING, lambda t, ctx: pages.service_job(t, None, n, ctx))
        elif m.state is not M.HOME:
            return  # the other actions are on the menu
        elif act is Action.FORCE_SYNC:
            self._work(m, Step.SYNCING, lambda t, ctx: pages.sync_job(t, n, ctx))
        elif act is Action.CONFIG:
            self._work(m, Step.PREPARING, lambda t, ctx: pages.config_job(t, n, ctx))
        elif act is Action.APDU_TRACE:
            self._work(m, Step.PREPARING, lambda t, ctx: pages.trace_job(t, n, ctx))
        elif act is Action.SUPPORT_BUNDLE:
            where = self.ops.support_dir  # the config's, else the data folder's "support"
            if where is None:
                self.page = Page(PageKind.RESULT, act.value, ok=False, lines=("no_support_dir",))
                m.go(M.RESULT)
                return
            self._work(m, Step.WRITING_BUNDLE,
                       lambda t, ctx: pages.bundle_job(t, where, n, ctx))  # fmt: skip

    def _work(
        self, m: TerminalMachine, step: str, job: Callable[[TechnicianTools, JobContext], Page]
    ) -> None:
        m.go(M.WORKING)
        tools = self.tools
        if tools is None:  # a kiosk built without diagnostics: the home page says so
            self.page = Page(PageKind.HOME)
            m.go(M.HOME)
            return
        m.start_job(step, lambda ctx: job(tools, ctx), lambda r, e: self._done(m, r, e))

    def _done(self, m: TerminalMachine, page: Page | None, error: BaseException | None) -> None:
        if isinstance(error, CardGone):
            self._card_left(m)
            return
        if error is not None or page is None:
            # A failed action is a result to show (and in the log), not the end of the visit.
            log.warning("maintenance action failed: %r", error)
            m.record("maintenance_failed", error=type(error).__name__)
            self.page = Page(PageKind.RESULT, self.doing, ok=False,
                             lines=(f"{type(error).__name__}: {error}"[:300],))  # fmt: skip
            m.go(M.RESULT)
            return
        self.page = page
        if page.kind is PageKind.HOME:
            self.out_of_service = page.out_of_service
        if page.kind is PageKind.TESTS:
            self.tests.update({r.name: r for r in page.rows})
        target = {PageKind.HOME: M.HOME, PageKind.STATUS: M.STATUS, PageKind.TESTS: M.TESTS,
                  PageKind.RESULT: M.RESULT, PageKind.LINES: M.LINES}[page.kind]  # fmt: skip
        m.go(target)

    # -- leaving -------------------------------------------------------------------
    def on_finish(self, m: TerminalMachine) -> None:
        if m.state in PAGES:
            self._exit(m)

    def on_cancel(self, m: TerminalMachine) -> None:
        if m.state is M.PIN_ENTRY:
            self._leave(m)
        elif m.state in PAGES:
            self._exit(m)

    def on_back(self, m: TerminalMachine) -> None:
        if m.state in PAGES and m.state is not M.HOME:
            m.touch()
            m.go(M.HOME)
        elif m.state in (M.HOME, M.PIN_ENTRY):
            self.on_cancel(m)

    def on_card_removed(self, m: TerminalMachine) -> None:
        self._card_left(m)

    def on_timeout(self, m: TerminalMachine) -> None:
        if m.state is M.TAKE_CARD:
            m.go(M.TAKE_CARD, notices=(Notice.CARD_FORGOTTEN,))
        elif m.state is M.PIN_ENTRY:
            self._leave(m, notices=(Notice.TIMED_OUT,))
        elif m.state in PAGES:
            self._exit(m, notices=(Notice.TIMED_OUT,))

    def recover(self, m: TerminalMachine) -> None:
        self.pin.wipe()
        self.home.recover(m)

    def _exit(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        m.record("maintenance_closed", role=self.role)
        m.go(M.TAKE_CARD, notices=notices)

    def _card_left(self, m: TerminalMachine) -> None:
        self.pin.wipe()
        left_out = self.out_of_service is not None
        if m.state is M.TAKE_CARD:
            m.record("card_removed", during=m.state.value)
            m.background("end_card", self.ops.end_card)
            self.home.idle(m)  # taken when asked: no notice
        else:
            self.home.card_left(m)
        if left_out:
            # The device check runs as soon as the home journey has the terminal again,
            # so a kiosk left out of service shows it at once.
            m.send("recheck")

    def _leave(
        self, m: TerminalMachine, *, refusal: Refusal | None = None, notices: tuple[str, ...] = ()
    ) -> None:
        self.pin.wipe()
        m.record("maintenance_closed", role=self.role)
        if refusal is not None:
            self.home.refuse(m, refusal)
        else:
            self.home.take_card(m, notices)
