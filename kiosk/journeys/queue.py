"""The hall queue journey: a queue number taken at the kiosk without a card.

Started from the attract screen (``controller.start_journey("queue")``): the hall's
services are asked of the central, the citizen taps one, the central takes a number
from the hall's queue system (the department) and says how many people are ahead;
the number is shown and printed on a slip naming no card. Every way out goes back
to the attract screen (:meth:`HomeJourney.idle`).

```
queue_loading ─► queue_choose ─submit─► queue_taking ─► queue_number ─finish/timeout─► ATTRACT
     └ try later ─► ATTRACT        ▲            └ try later ┘
```
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from kiosk.codes import Notice, OutcomeCode, ReceiptState, Step
from kiosk.core.journey import HomeJourney, JourneyTable, busy, timed
from kiosk.core.machine import TerminalMachine
from kiosk.core.views import FieldView, FormView, Language, ResultView, Screen, pick
from kiosk.core.worker import JobContext

__all__ = ["TABLE", "HallQueuePort", "Queue", "QueueJourney", "QueueTicket"]

_TITLE = {"zh-Hans": "大厅取号", "zh-Hant": "大廳取號", "en": "Queue number"}
_LABEL = {"zh-Hans": "办理事项", "zh-Hant": "辦理事項", "en": "What for"}


class Queue(StrEnum):
    LOADING = "queue_loading"  # busy: the hall's services from the central
    CHOOSE = "queue_choose"
    TAKING = "queue_taking"  # busy: the number from the hall, then its slip
    NUMBER = "queue_number"


TABLE = JourneyTable(
    "queue",
    {Queue.LOADING: busy(cancellable=True), Queue.CHOOSE: timed(45), Queue.TAKING: busy(),
     Queue.NUMBER: timed(30)},
    {(Queue.LOADING, Queue.CHOOSE): "the hall's services",
     (Queue.CHOOSE, Queue.TAKING): "a service chosen",
     (Queue.TAKING, Queue.NUMBER): "number taken (and printed)",
     (Queue.TAKING, Queue.CHOOSE): "the hall did not answer: try later"},
)  # fmt: skip


@dataclass(frozen=True)
class QueueTicket:
    """A number taken: what to show and what became of its slip."""

    service: str
    number: str
    ahead: int
    receipt: ReceiptState = ReceiptState.NONE


class HallQueuePort(Protocol):
    """What the journey asks of the kiosk (``kiosk.services.hall_queue.HallQueue``)."""

    def services(self) -> tuple[tuple[str, Mapping[str, str]], ...]:
        """(code, names) of the hall's services. Raises on "try later"."""
        ...

    def take(self, service: str, title: str, language: Language, request_id: str) -> QueueTicket:
        """A number for ``service`` (retried with ``request_id``: the same number)."""
        ...


class QueueJourney:
    """Card-less: choose the hall service, take a number, show and print it."""

    name = "queue"
    table = TABLE

    def __init__(self, port: HallQueuePort, home: HomeJourney) -> None:
        self.port = port
        self.home = home
        self.choices: tuple[tuple[str, Mapping[str, str]], ...] = ()
        self.chosen = ""
        self.ticket: QueueTicket | None = None

    def begin(self, m: TerminalMachine, **details: Any) -> None:
        self.choices, self.chosen, self.ticket = (), "", None
        m.record("queue_started")
        m.switch(self, Queue.LOADING)
        m.start_job(Step.PREPARING, lambda _ctx: self.port.services(),
                    lambda r, e: self._loaded(m, r, e))  # fmt: skip

    def _loaded(self, m: TerminalMachine, result: Any, error: BaseException | None) -> None:
        if error is not None or not result:
            m.record("queue_failed", error=type(error).__name__ if error else "no_services")
            self.home.idle(m, (Notice.DEPARTMENT_UNAVAILABLE,))
            return
        self.choices = tuple(result)
        m.go(Queue.CHOOSE)

    def on_set_field(self, m: TerminalMachine, name: str, value: str) -> None:
        if m.state is Queue.CHOOSE and any(c == value for c, _ in self.choices):
            self.chosen = value
            m.touch()
            m.show()

    def on_submit_form(self, m: TerminalMachine) -> None:
        if m.state is not Queue.CHOOSE or not self.chosen:
            return
        service, language = self.chosen, m.language
        title = pick(dict(self.choices)[service], language)
        request_id = uuid.uuid4().hex[:16]
        m.record("queue_take", service=service)
        m.go(Queue.TAKING)

        def job(_ctx: JobContext) -> QueueTicket:
            return self.port.take(service, title, language, request_id)

        m.start_job(Step.PROCESSING, job, lambda r, e: self._taken(m, r, e))

    def _taken(self, m: TerminalMachine, ticket: Any, error: BaseException | None) -> None:
        if error is not None or not isinstance(ticket, QueueTicket):
            m.record("queue_failed", error=type(error).__name__ if error else "none")
            m.go(Queue.CHOOSE, notices=(Notice.DEPARTMENT_UNAVAILABLE,))
            return
        self.ticket = ticket
        m.record("queue_number", service=ticket.service, ahead=ticket.ahead,
                 receipt=ticket.receipt.value)  # fmt: skip
        m.go(Queue.NUMBER)

    def on_cancel(self, m: TerminalMachine) -> None:
        if m.state is Queue.LOADING and not m.cancel_job():
            return
        if m.state in (Queue.LOADING, Queue.CHOOSE, Queue.NUMBER):
            self.home.idle(m)

    on_back = on_cancel

    def on_finish(self, m: TerminalMachine) -> None:
        if m.state in (Queue.CHOOSE, Queue.NUMBER):
            self.home.idle(m)

    def on_timeout(self, m: TerminalMachine) -> None:
        self.home.idle(m, (Notice.TIMED_OUT,) if m.state is Queue.CHOOSE else ())

    def recover(self, m: TerminalMachine) -> None:
        self.home.idle(m, (Notice.KIOSK_ERROR,))

    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        lang = m.language
        if m.state is Queue.CHOOSE:
            field = FieldView("service", pick(_LABEL, lang), "choice", self.chosen, True,
                              tuple((c, pick(n, lang)) for c, n in self.choices),
                              focused=True)  # fmt: skip
            return replace(base, form=FormView("queue", pick(_TITLE, lang), (field,)))
        if m.state is Queue.NUMBER and self.ticket is not None:
            t = self.ticket
            result = ResultView("queue", pick(dict(self.choices).get(t.service, _TITLE), lang),
                                True, OutcomeCode.QUEUE_NUMBER, receipt=t.receipt,
                                kind="queue_number", reference=t.number)  # fmt: skip
            return replace(base, result=result, extra={"ahead": str(t.ahead)})
        return base
