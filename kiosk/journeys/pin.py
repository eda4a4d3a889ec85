"""The PIN step shared by journeys: digits typed into a wiped buffer, one VERIFY job.

The digits live only in a :class:`~kiosk.core.pinpad.PinBuffer` until the job that
sends them takes them; a screen gets only :class:`~kiosk.core.views.PinView`.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.codes import Step
from kiosk.core.machine import JobResult, TerminalMachine
from kiosk.core.pinpad import PinBuffer
from kiosk.core.views import PinView
from kiosk.core.worker import JobContext

__all__ = ["PIN_LENGTH", "PinEntry"]

PIN_LENGTH = 6


class PinEntry:
    """The card PIN being typed, its tries left and whether the last try was wrong."""

    def __init__(self, tries: int | None = None) -> None:
        self.buffer = PinBuffer(PIN_LENGTH)
        self.tries = tries
        self.wrong = False

    def view(self) -> PinView:
        return PinView(len(self.buffer), PIN_LENGTH, self.tries, self.wrong)

    def digit(self, d: int) -> None:
        self.buffer.add(d)
        self.wrong = False

    def edit(self, *, clear: bool) -> None:
        self.buffer.clear() if clear else self.buffer.delete()

    def submit(
        self,
        m: TerminalMachine,
        verify: Callable[[str, JobContext], object],
        on_result: JobResult,
    ) -> bool:
        """Start the VERIFY job with the digits (False, and nothing sent, while the
        PIN is incomplete). The caller moves to its verifying state first."""
        if not self.buffer.complete:
            self.wrong = False
            return False
        box = [self.buffer.take()]

        def job(ctx: JobContext) -> object:
            # The only copy of the digits leaves the box as it is sent.
            return verify(box.pop(), ctx)

        m.start_job(Step.VERIFYING_PIN, job, on_result)
        return True

    def wipe(self) -> None:
        self.buffer.clear()
