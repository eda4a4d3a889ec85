"""The maintenance journey: a technician's card, its PIN, then the technician's menu.

Entered from the citizen journey's card check when the card's certificate names
the technician role. Today it opens, shows the role and exits cleanly; the
diagnostics (device status, self-tests, test print, outbox, force sync...) add
their steps here: a state in :data:`STATES` (with its kind), its transitions in
:data:`TRANSITIONS`, and ``on_<input>`` handlers that start jobs on the worker.
Any card pull or timeout hands back to the home journey.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any

from kiosk.codes import Notice, Refusal
from kiosk.core.journey import HomeJourney, JourneyTable, busy, timed
from kiosk.core.machine import TerminalMachine
from kiosk.core.views import CardView, Screen
from kiosk.flows.base import CardGone
from kiosk.journeys.pin import PinEntry
from kiosk.journeys.ports import KioskOps, PinOutcome

__all__ = ["TABLE", "Maintenance", "MaintenanceJourney"]


class Maintenance(StrEnum):
    """Where a technician is."""

    PIN_ENTRY = "maintenance_pin"  # an operator role acts only after its PIN
    VERIFYING_PIN = "maintenance_verifying_pin"  # busy
    HOME = "maintenance"  # the technician's menu: role shown, exit


M = Maintenance
STATES = {
    M.PIN_ENTRY: timed(30),
    M.VERIFYING_PIN: busy(),
    M.HOME: timed(120),
}
TRANSITIONS = {
    (M.PIN_ENTRY, M.VERIFYING_PIN): "PIN submitted",
    (M.VERIFYING_PIN, M.PIN_ENTRY): "PIN wrong, tries left",
    (M.VERIFYING_PIN, M.HOME): "PIN right",
}
# Leaving (exit, timeout, PIN blocked, card pulled) hands back to the home journey.
TABLE = JourneyTable("maintenance", STATES, TRANSITIONS)


class MaintenanceJourney:
    """The technician's journey; ``home`` is the journey it hands back to."""

    name = "maintenance"
    table = TABLE

    def __init__(self, ops: KioskOps, home: HomeJourney) -> None:
        self.ops = ops
        self.home = home
        self.card: CardView | None = None
        self.role = ""
        self.pin = PinEntry()

    def begin(self, m: TerminalMachine, **details: Any) -> None:
        self.card = details.get("card")
        self.role = str(details.get("role", "technician"))
        self.pin = PinEntry(details.get("pin_tries"))
        m.switch(self, M.PIN_ENTRY)

    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        scr = replace(base, card=self.card, role=self.role)
        if m.state is M.PIN_ENTRY:
            scr = replace(scr, pin=self.pin.view())
        return scr

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
            self.home.card_left(m)
            return
        if error is not None or outcome is None:
            self._leave(m, refusal=Refusal.UNREADABLE)
            return
        m.record("pin", ok=outcome.ok, tries_left=outcome.tries_left, blocked=outcome.blocked)
        self.pin.tries = outcome.tries_left
        if outcome.ok:
            m.record("maintenance_open", role=self.role)
            m.go(M.HOME)
        elif outcome.blocked or outcome.tries_left == 0:
            self._leave(m, refusal=Refusal.PIN_BLOCKED)
        else:
            self.pin.wrong = True
            m.go(M.PIN_ENTRY)

    # -- leaving -------------------------------------------------------------------
    def on_finish(self, m: TerminalMachine) -> None:
        self._leave(m)

    def on_cancel(self, m: TerminalMachine) -> None:
        if m.state is not M.VERIFYING_PIN:
            self._leave(m)

    def on_back(self, m: TerminalMachine) -> None:
        self.on_cancel(m)

    def on_card_removed(self, m: TerminalMachine) -> None:
        self.pin.wipe()
        self.home.card_left(m)

    def on_timeout(self, m: TerminalMachine) -> None:
        self._leave(m, notices=(Notice.TIMED_OUT,))

    def recover(self, m: TerminalMachine) -> None:
        self.pin.wipe()
        self.home.recover(m)

    def _leave(
        self, m: TerminalMachine, *, refusal: Refusal | None = None, notices: tuple[str, ...] = ()
    ) -> None:
        self.pin.wipe()
        m.record("maintenance_closed", role=self.role)
        if refusal is not None:
            self.home.refuse(m, refusal)
        else:
            self.home.take_card(m, notices)
