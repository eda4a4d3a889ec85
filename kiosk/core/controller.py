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

from kiosk.core.session import SessionMachine
from kiosk.core.states import State
from kiosk.core.views import KioskEvent, Language, Screen

__all__ = ["KioskController"]

Deliver = Callable[[Callable[[], None]], None]


def _direct(fn: Callable[[], None]) -> None:
    fn()


class KioskController:
    """The session as a UI sees it: inputs in, events out, nothing blocking."""

    def __init__(self, machine: SessionMachine) -> None:
        self._m = machine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def subscribe(
        self, listener: Callable[[KioskEvent], None], *, deliver: Deliver = _direct
    ) -> Callable[[], None]:
        """Receive every event through ``deliver`` (default: on the core thread).
        Returns a function that unsubscribes."""
        return self._m.subscribe(lambda event: deliver(lambda: listener(event)))

    def start(self, *, thread: bool = True, tick: float = 0.2) -> None:
        """Check the devices and show ATTRACT. With ``thread`` (the kiosk) a core
        thread pumps the machine every ``tick`` s; without it the owner calls
        :meth:`SessionMachine.pump` (tests, scripted sessions)."""
        self._m.start()
        if thread and self._thread is None:
            self._thread = threading.Thread(
                target=self._m.run, args=(self._stop, tick), name="kiosk-core", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the core thread and the worker (after its running job)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._m.worker.stop()

    @property
    def state(self) -> State:
        return self._m.state

    def screen(self) -> Screen:
        """The current screen; only read it on the core thread or from an event."""
        return self._m.screen()

    # -- devices (wired by the composition root, not the UI) ---------------------------
    def card_inserted(self) -> None:
        self._m.card_inserted()

    def card_removed(self) -> None:
        self._m.card_removed()

    def recheck_devices(self) -> None:
        self._m.recheck()

    # -- the citizen -------------------------------------------------------------------
    def pin_digit(self, digit: int) -> None:
        """One PIN pad key. The UI never stores digits: it shows ``screen.pin.length``."""
        self._m.pin_digit(digit)

    def pin_delete(self) -> None:
        self._m.pin_delete()

    def pin_clear(self) -> None:
        self._m.pin_clear()

    def pin_submit(self) -> None:
        self._m.pin_submit()

    def choose_service(self, service_id: str) -> None:
        self._m.choose_service(service_id)

    def focus_field(self, name: str) -> None:
        self._m.focus_field(name)

    def set_field(self, name: str, value: str) -> None:
        self._m.set_field(name, value)

    def submit_form(self) -> None:
        self._m.submit_form()

    def confirm(self) -> None:
        self._m.confirm()

    def continue_without_receipt(self) -> None:
        self._m.continue_without_receipt()

    def back(self) -> None:
        self._m.back()

    def cancel(self) -> None:
        self._m.cancel()

    def finish(self) -> None:
        self._m.finish()

    def more_time(self) -> None:
        self._m.more_time()

    def set_language(self, language: Language | str) -> None:
        self._m.set_language(language)

    def set_elder_mode(self, on: bool) -> None:
        self._m.set_elder_mode(on)
