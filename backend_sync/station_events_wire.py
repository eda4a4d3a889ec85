"""Wire schemas of the counter station's events (docs/sync.md, "Station events"):
refusals the station decided alone, before any operator was proven (a wrong clerk
PIN, a citizen card presented as a clerk card...), sent for the central's audit.

The request is signed by the counter terminal's own key (over ``canonical(body)``, as
every signed online request; no operator card signs: there is no operator yet). Each
event carries the station's own sequence number, strictly increasing per terminal
and kept on the station's disk with the event, so a replayed event is refused (409
``event_replayed``) and one resent after a lost answer is known as recorded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from backend_sync.wire import Asn, TerminalId, _Inbound, _Model

__all__ = [
    "STATION_REASONS",
    "StationEvent",
    "StationEvents",
    "StationEventsAck",
    "StationEventsRequest",
]

StationReason = Literal[
    "wrong_pin",  # the operator card's PIN was wrong (tries left in the detail)
    "pin_blocked",  # no tries left
    "not_an_operator",  # a card without an operator role (a citizen card) as clerk card
    "operator_role",  # an operator card of the wrong role (a technician's; a clerk's as supervisor)
    "operator_not_genuine",  # its certificate does not chain to the issuer CA, or no proof
    "operator_card_error",  # the card answered, but not as an operator card should
    "session_locked_removed",  # the clerk's card left the reader: the session locked
    "session_locked_idle",  # nothing done for the idle timeout: the session locked
    "journal_corrupt",  # the station's file of this event was unreadable (its name)
]
STATION_REASONS: tuple[str, ...] = StationReason.__args__  # type: ignore[attr-defined]


class StationEvent(_Inbound):
    seq: int = Field(ge=1, le=2**62, description="the station's own number, increasing")
    at_ms: int = Field(ge=0, description="when it happened, station clock, Unix ms")
    reason: StationReason
    asn: Asn | None = Field(default=None, description="the card presented, when readable")
    role: Annotated[str, Field(pattern=r"^[a-z]{1,16}$")] | None = None
    detail: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class StationEvents(_Inbound):
    terminal_id: TerminalId
    ts: int = Field(description="terminal clock when sent, Unix ms")
    events: Annotated[list[StationEvent], Field(min_length=1, max_length=100)]


class StationEventsRequest(_Inbound):
    body: StationEvents
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=400)]


class StationEventsAck(_Model):
    recorded_through: int = Field(description="the highest sequence recorded for the station")
