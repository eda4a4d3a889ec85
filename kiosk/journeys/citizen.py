"""The citizen journey: the kiosk's home, from card in to card out.

Its states and table are :mod:`kiosk.journeys.citizen_states`. This module holds
the door (devices ready, card check, the role that picks the journey, card pulled,
take the card) and the PIN; the services (menu, form, quote, printer, execution)
are :class:`kiosk.journeys.citizen_services.ServiceSteps`. Everything one session
knows lives in a fresh :class:`CitizenSession`, dropped when the session ends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from cardlib.certs import Role
from kiosk.codes import Notice, Refusal, Step
from kiosk.core.journey import SubJourney
from kiosk.core.machine import TerminalMachine
from kiosk.core.views import PinView, Screen
from kiosk.flows.base import CardGone, Outcome
from kiosk.journeys.citizen_services import CitizenSession, ServiceSteps
from kiosk.journeys.citizen_states import TABLE, State
from kiosk.journeys.pin import PIN_LENGTH, PinEntry
from kiosk.journeys.ports import CardCheck, KioskOps, PinOutcome

__all__ = ["ROLE_REFUSALS", "CitizenJourney", "CitizenSession"]

log = logging.getLogger(__name__)
S = State

# Cards of these roles are refused at a kiosk, with the words of the refusal.
ROLE_REFUSALS: Mapping[Role, Refusal] = {
    Role.CLERK: Refusal.COUNTER_CARD,
    Role.SUPERVISOR: Refusal.COUNTER_CARD,
}


class CitizenJourney(ServiceSteps):
    """The kiosk's home journey. ``journeys`` maps a card role to the journey its
    cards go to after the card check (the citizen role stays here)."""

    name = "citizen"
    table = TABLE

    def __init__(
        self,
        ops: KioskOps,
        journeys: Mapping[Role, SubJourney] | None = None,
        card_less: Mapping[str, SubJourney] | None = None,
    ) -> None:
        self.ops = ops
        self.journeys: dict[Role, SubJourney] = dict(journeys or {})
        self.card_less: dict[str, SubJourney] = dict(card_less or {})  # from ATTRACT
        self.s = CitizenSession()
        self._started = False

    # ------------------------------------------------------------------ the door
    def on_start(self, m: TerminalMachine) -> None:
        """Check the devices; ATTRACT or OUT_OF_SERVICE (also the periodic recheck)."""
        if m.journey is not self or m.state not in (S.ATTRACT, S.OUT_OF_SERVICE):
            return  # a session is running; checked again after it ends
        if self._started and m.job is not None:
            return

        def result(why: Notice | None, error: BaseException | None) -> None:
            if m.journey is not self or m.state not in (S.ATTRACT, S.OUT_OF_SERVICE):
                return
            problem = Notice.DEVICE_ERROR if error is not None else why
            if problem:
                m.record("out_of_service", reason=str(problem) if error is None else repr(error))
                m.go(S.OUT_OF_SERVICE, notices=(problem,))
            else:
                m.go(S.ATTRACT)

        self._started = True
        m.start_job(Step.CHECKING_DEVICES, lambda _ctx: self.ops.ready(), result)

    on_recheck = on_start

    def on_card_inserted(self, m: TerminalMachine) -> None:
        # Taken out of service by a technician: a card is still read (a technician's
        # brings the kiosk back; a citizen's is refused by the card check).
        technician_off = m.state is S.OUT_OF_SERVICE and Notice.TAKEN_OUT_OF_SERVICE in m.notices
        if m.state is not S.ATTRACT and not technician_off:
            m.audit("card_ignored", {"state": m.state.value})
            return
        # The only job of ATTRACT is a periodic device check: the citizen comes first
        # (its answer is dropped; the card check itself needs the PSAM and outbox).
        m.forget_job()
        m.new_session()
        self.s = CitizenSession()
        m.record("card_inserted")
        m.go(S.CHECKING_CARD)
        m.start_job(Step.READING_CARD, self.ops.check_card,
                    lambda r, e: self._card_checked(m, r, e))  # fmt: skip

    def on_start_journey(self, m: TerminalMachine, name: str) -> None:
        """A card-less journey chosen at the attract screen (a queue number...)."""
        journey = self.card_less.get(name)
        if m.state is not S.ATTRACT or journey is None:
            m.record("journey_refused", journey=name)
            return
        m.forget_job()
        m.new_session()
        self.s = CitizenSession()
        journey.begin(m)

    def refuse(self, m: TerminalMachine, why: str, notices: tuple[str, ...] = ()) -> None:
        """CARD_REFUSED with ``why`` (any journey may end so, before its first screen)."""
        self.s.refusal = why
        m.record("card_refused", reason=str(why))
        if m.journey is self:
            m.go(S.CARD_REFUSED, notices=notices)
        else:
            m.switch(self, S.CARD_REFUSED, notices=notices)

    def _card_checked(
        self, m: TerminalMachine, check: CardCheck | None, error: BaseException | None
    ) -> None:
        if error is not None or check is None:
            if isinstance(error, CardGone):
                self.card_gone(m)
                return
            m.record("card_check_failed", error=type(error).__name__)
            self.refuse(m, Refusal.UNREADABLE)
            return
        self.s.card = check.card
        self.s.online = check.online
        notices = tuple(check.notices)
        if check.refusal is not None:
            self.refuse(m, check.refusal, notices)
            return
        if check.role is not Role.CITIZEN:
            journey = self.journeys.get(check.role)
            if journey is None:
                self.refuse(m, ROLE_REFUSALS.get(check.role, Refusal.NOT_CITIZEN_CARD), notices)
                return
            m.record("card_accepted", role=check.role.value)
            journey.begin(m, card=check.card, role=check.role, pin_tries=check.pin_tries,
                          number=check.operator_number)  # fmt: skip
            return
        self.s.pin = PinEntry(check.pin_tries)
        m.record("card_accepted", card=check.card.card_number_masked if check.card else "")
        m.go(S.PIN_ENTRY, notices=notices)

    def on_card_removed(self, m: TerminalMachine) -> None:
        self.card_left(m)

    def card_left(self, m: TerminalMachine) -> None:
        """The card left (the reader's event, or a job that lost it), in any journey:
        end the session, release what a quote holds, back to ATTRACT."""
        s, home = m.state, m.journey is self
        if home and s in (S.ATTRACT, S.OUT_OF_SERVICE):
            return
        paying = home and s is S.PROCESSING
        m.abandon_job((lambda r, e: self._late_outcome(m, r, e)) if paying else None)
        m.record("card_removed", during=s.value)
        if home:
            self.drop_quote(m, s)
        m.background("end_card", self.ops.end_card)
        self.s.wipe_pins()
        notices: tuple[str, ...] = ()
        # Taking the card out when asked to (TAKE_CARD, a refused card) is no news.
        if not (home and s in (S.TAKE_CARD, S.CARD_REFUSED)):
            notices = (Notice.CARD_PULLED_DURING_PAYMENT if paying else Notice.CARD_PULLED,)
        self.idle(m, notices)

    def idle(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        """The session is over: ATTRACT (from any journey)."""
        self.s = CitizenSession()
        m.end_session()
        if m.journey is self:
            m.go(S.ATTRACT, notices=notices)
        else:
            m.switch(self, S.ATTRACT, notices=notices)

    def _late_outcome(self, m: TerminalMachine, result: object, _e: BaseException | None) -> None:
        # A payment that finished after its card left is still news at the attract screen.
        if (
            isinstance(result, Outcome)
            and result.ok
            and m.journey is self
            and (m.state is S.ATTRACT)
        ):
            m.audit("late_outcome", {"code": result.code.value, "amount": result.amount_fen,
                                     "transaction": result.transaction_id})  # fmt: skip
            m.notices = (Notice.LAST_PAYMENT_COMPLETED,)
            m.show()

    def card_gone(self, m: TerminalMachine) -> None:
        """A job lost the card. The reader's removal event usually follows, but a
        session must not hang on it: end it now (a later removal is then ignored)."""
        m.record("card_lost_by_job")
        self.card_left(m)

    def on_timeout(self, m: TerminalMachine) -> None:
        if m.state is S.TAKE_CARD:
            # The card is still there: keep asking (a kiosk cannot swallow it).
            m.go(S.TAKE_CARD, notices=(Notice.CARD_FORGOTTEN,))
        elif m.state in TABLE.timed:
            self.take_card(m, (Notice.TIMED_OUT,))

    def recover(self, m: TerminalMachine) -> None:
        if m.journey is self and m.state in (S.ATTRACT, S.OUT_OF_SERVICE, S.TAKE_CARD):
            return
        self.s.wipe_pins()
        m.journey = self
        m.force(S.TAKE_CARD, notices=(Notice.KIOSK_ERROR,))

    # ------------------------------------------------------------------ the PIN
    def on_pin_digit(self, m: TerminalMachine, digit: int) -> None:
        if m.state is S.PIN_ENTRY:
            self.s.pin.digit(digit)
        elif m.state is S.FORM and self.s.focus in self.s.pins:
            buf = self.s.pins[self.s.focus]
            buf.add(digit)
            if buf.complete:
                self._focus_next_pin()
        else:
            return
        m.touch()
        m.show()

    def _pin_edit(self, m: TerminalMachine, *, clear: bool) -> None:
        if m.state is S.PIN_ENTRY:
            self.s.pin.edit(clear=clear)
        elif m.state is S.FORM and self.s.focus in self.s.pins:
            buf = self.s.pins[self.s.focus]
            buf.clear() if clear else buf.delete()
        else:
            return
        m.touch()
        m.show()

    def on_pin_delete(self, m: TerminalMachine) -> None:
        self._pin_edit(m, clear=False)

    def on_pin_clear(self, m: TerminalMachine) -> None:
        self._pin_edit(m, clear=True)

    def on_pin_submit(self, m: TerminalMachine) -> None:
        if m.state is S.FORM:
            self.on_submit_form(m)
            return
        if m.state is not S.PIN_ENTRY:
            return
        if not self.s.pin.buffer.complete:
            self.s.pin.wrong = False
            m.show()
            return
        m.go(S.VERIFYING_PIN)
        self.s.pin.submit(m, self.ops.verify_pin, lambda r, e: self._pin_checked(m, r, e))

    def _pin_checked(
        self, m: TerminalMachine, outcome: PinOutcome | None, error: BaseException | None
    ) -> None:
        if error is not None or outcome is None:
            if isinstance(error, CardGone):
                self.card_gone(m)
                return
            self.refuse(m, Refusal.UNREADABLE)
            return
        m.record("pin", ok=outcome.ok, tries_left=outcome.tries_left, blocked=outcome.blocked)
        self.s.pin.tries = outcome.tries_left
        if outcome.ok:
            m.go(S.MENU)
        elif outcome.blocked or outcome.tries_left == 0:
            self.refuse(m, Refusal.PIN_BLOCKED)
        else:
            self.s.pin.wrong = True
            m.go(S.PIN_ENTRY)

    # ------------------------------------------------------------------ the screen
    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        s, lang = m.state, m.language
        scr = replace(base, card=self.s.card, online=self.s.online)
        if s is S.ATTRACT and self.card_less:  # what the attract screen offers without a card
            scr = replace(scr, extra={**scr.extra, "card_less": ",".join(sorted(self.card_less))})
        if s is S.CARD_REFUSED:
            return replace(scr, refusal=self.s.refusal)
        if s is S.PIN_ENTRY:
            return replace(scr, pin=self.s.pin.view())
        if s is S.MENU:
            return replace(scr, menu=self.ops.menu(lang))
        if s is S.FORM and self.s.form is not None:
            scr = replace(scr, form=self.form_view(lang))
            focus = self.s.pins.get(self.s.focus or "")
            if focus is not None:
                pin = PinView(len(focus), PIN_LENGTH, None, label=self.s.focus or "pin")
                scr = replace(scr, pin=pin)
            return scr
        return self.service_screen(m, scr)
