"""The API a kiosk UI calls: :class:`KioskController`.

Every method returns at once, from any thread: it posts an input to the session
machine, which runs on the kiosk's core thread (:meth:`KioskController.start`
makes one) and answers with events. A UI subscribes with a ``deliver`` function
that hands each event to its own thread (Kivy: ``Clock.schedule_once``)::

    controller = KioskController(machine)
    controller.subscribe(on_event, deliver=lambda f: Clock.schedule_once(lambda _dt: f()))
    controller.start()
    ...
    controller.pin_digit(4)        # the PIN screen gets ScreenChanged(screen.pin.length == 1)

Screens are :class:`~kiosk.core.views.Screen` values: draw them, never reach into
the core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

from kiosk.core.machine import TerminalMachine
from kiosk.core.views import KioskEvent, Language, Screen

__all__ = ["KioskController"]

Deliver = Callable[[Callable[[], None]], None]


def _direct(fn: Callable[[], None]) -> None:
    fn()


class KioskController:
    """The terminal as a UI sees it: inputs in, events out, nothing blocking. This is
    the one surface for inputs: each method posts it to the current journey."""

    def __init__(self, machine: TerminalMachine) -> None:
        self.machine = machine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def subscribe(
        self, listener: Callable[[KioskEvent], None], *, deliver: Deliver = _direct
    ) -> Callable[[], None]:
        """Receive every event through ``deliver`` (default: on the core thread).
        Returns a function that unsubscribes."""
        return self.machine.subscribe(lambda event: deliver(lambda: listener(event)))

    def start(self, *, thread: bool = True, tick: float = 0.2) -> None:
        """Check the devices and show ATTRACT. With ``thread`` (the kiosk) a core
        thread pumps the machine every ``tick`` s; without it the owner calls
        :meth:`TerminalMachine.pump` (tests, scripted sessions)."""
        self.machine.send("start")
        if thread and self._thread is None:
            self._thread = threading.Thread(
                target=self.machine.run, args=(self._stop, tick), name="kiosk-core", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the core thread and the worker (after its running job)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.machine.worker.stop()

    @property
    def state(self) -> StrEnum:
        return self.machine.state

    def screen(self) -> Screen:
        """The current screen; only read it on the core thread or from an event."""
        return self.machine.screen()

    # -- devices (wired by the composition root, not the UI) ---------------------------
    def card_inserted(self) -> None:
        self.machine.send("card_inserted")

    def card_removed(self) -> None:
        self.machine.send("card_removed")

    def recheck_devices(self) -> None:
        """Ask again whether sales can run (after a sync, a PSAM swap, freed disk)."""
        self.machine.send("recheck")

    # -- the citizen -------------------------------------------------------------------
    def start_journey(self, name: str) -> None:
        """At the attract screen: a journey that needs no card (a queue number...)."""
        self.machine.send("start_journey", name)

    def pin_digit(self, digit: int) -> None:
        """One PIN pad key. The UI never stores digits: it shows ``screen.pin.length``."""
        self.machine.send("pin_digit", digit)

    def pin_delete(self) -> None:
        self.machine.send("pin_delete")

    def pin_clear(self) -> None:
        self.machine.send("pin_clear")

    def pin_submit(self) -> None:
        self.machine.send("pin_submit")

    def choose_service(self, service_id: str) -> None:
        self.machine.send("choose_service", service_id)

    def focus_field(self, name: str) -> None:
        self.machine.send("focus_field", name)

    def set_field(self, name: str, value: str) -> None:
        """Set a text, digits, amount or choice field (PIN fields take pin_digit)."""
        self.machine.send("set_field", name, value)

    def submit_form(self) -> None:
        self.machine.send("submit_form")

    def print_answer(self) -> None:
        """INFO: print the answer shown on a signed slip (when ``info.printable``)."""
        self.machine.send("print_answer")

    def confirm(self) -> None:
        self.machine.send("confirm")

    def continue_without_receipt(self) -> None:
        self.machine.send("continue_without_receipt")

    def back(self) -> None:
        """Back to the menu (form, info, confirm, no paper, done)."""
        self.machine.send("back")

    def cancel(self) -> None:
        """Stop what is running (if it still can stop) or end the session."""
        self.machine.send("cancel")

    def finish(self) -> None:
        """The citizen is done: "please take your card"."""
        self.machine.send("finish")

    def maintenance_action(self, action: str, value: str = "") -> None:
        """The technician's pages: ``action`` (a ``kiosk.journeys.maintenance.Action``)
        with its ``value`` (the self-test to run, the out-of-service reason)."""
        self.machine.send("maintenance_action", action, value)

    def more_time(self) -> None:
        self.machine.send("more_time")

    def set_language(self, language: Language | str) -> None:
        self.machine.send("set_language", language)

    def set_elder_mode(self, on: bool) -> None:
        """Larger text and longer timeouts (the UI draws; the core stretches time)."""
        self.machine.send("set_elder_mode", on)

    def set_audio_mode(self, on: bool) -> None:
        """Spoken guidance on or off (the headset key): the UI speaks every screen, the
        core lengthens every timeout (``Timeouts.audio_factor``)."""
        self.machine.send("set_audio_mode", on)
