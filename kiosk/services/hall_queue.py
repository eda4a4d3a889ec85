"""The hall queue journey's port: the hall's services and a number, from the central,
printed on a slip that names no card (``kiosk.journeys.queue``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from backend_sync.terminal.client import CentralClient
from kiosk.codes import ReceiptState
from kiosk.core.clock import Clock
from kiosk.core.journey import HomeJourney, SubJourney
from kiosk.core.views import Language
from kiosk.flows.online import same_in_all
from kiosk.journeys.ports import KioskOps
from kiosk.journeys.queue import QueueJourney, QueueTicket
from kiosk.receipts.i18n import label
from kiosk.receipts.slips import Slip
from kiosk.services.printing import ReceiptDesk

__all__ = ["HallQueue", "queue_journey"]


class HallQueue:
    """Over the central's client and the kiosk's printer (None: shown, not printed)."""

    def __init__(
        self,
        client: CentralClient,
        desk: ReceiptDesk | None,
        terminal_id: Callable[[], str],
        clock: Clock,
    ) -> None:
        self.client = client
        self.desk = desk
        self.terminal_id = terminal_id
        self.clock = clock

    def services(self) -> tuple[tuple[str, Mapping[str, str]], ...]:
        return tuple((s.code, same_in_all(s.name)) for s in self.client.hall_services().services)

    def take(self, service: str, title: str, language: Language, request_id: str) -> QueueTicket:
        got = self.client.queue_number(service=service, request_id=request_id)
        receipt = ReceiptState.NONE
        if self.desk is not None:
            lang = language.value
            slip = Slip("queue_number", title, got.number,
                        ((label("queue.ahead", lang), str(got.ahead)),), self.clock.now(),
                        notes=(label("queue.wait", lang),))  # fmt: skip
            # Kept nowhere: a number reprinted later would be a number already called.
            receipt = self.desk.print_unkept(slip, self.terminal_id(), language)
        return QueueTicket(service, got.number, got.ahead, receipt)


def queue_journey(
    client: CentralClient, desk: ReceiptDesk | None, terminal_id: Callable[[], str], clock: Clock
) -> Callable[[KioskOps, HomeJourney], SubJourney]:
    """The ``card_less`` entry of :func:`kiosk.journeys.build_kiosk_machine`."""
    hall = HallQueue(client, desk, terminal_id, clock)
    return lambda _ops, home: QueueJourney(hall, home)
