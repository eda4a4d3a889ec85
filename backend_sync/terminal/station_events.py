"""The counter station's events sent to the central (docs/sync.md, "Station events"),
signed by the counter terminal's key; ``kiosk.counter.events`` keeps them until sent."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from backend_sync.station_events_wire import (
    StationEvent,
    StationEvents,
    StationEventsAck,
    StationEventsRequest,
)
from backend_sync.terminal.client import CentralClient, CentralRefused

__all__ = ["EventsReplayed", "send_station_events"]


class EventsReplayed(CentralRefused):
    """409 ``event_replayed`` (these events are recorded) or ``event_renumber`` (their
    numbers are taken by others): the central has recorded up to ``recorded_through``."""

    def __init__(self, status: int, reason: str, detail: str, recorded_through: int) -> None:
        super().__init__(status, reason, detail)
        self.recorded_through = recorded_through


def send_station_events(central: CentralClient, events: Sequence[StationEvent]) -> int:
    """POST the events (at most 100, numbers increasing); the highest number the
    central recorded. Raises ``CentralRefused`` (409 ``event_replayed``: the detail is
    the highest number recorded before, and ``event_renumber``: :class:`EventsReplayed`) or
    ``CentralUnavailable``."""
    body = StationEvents(terminal_id=central.terminal_id, ts=central._now_ms(),
                         events=list(events))  # fmt: skip
    try:
        doc = central._signed_post("/v1/counter/events", body, StationEventsRequest)
    except CentralRefused as exc:
        if exc.reason not in ("event_replayed", "event_renumber"):
            raise
        try:  # the refusal's body, as the client kept it (a dict's repr)
            through = ast.literal_eval(exc.detail).get("detail", "")
        except (ValueError, SyntaxError, AttributeError):
            raise exc from None
        if not str(through).isdigit():
            raise
        raise EventsReplayed(exc.status, exc.reason, exc.detail, int(through)) from exc
    return StationEventsAck.model_validate(doc).recorded_through
