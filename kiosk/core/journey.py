"""A journey: a table of states and transitions, plus the handlers that run it.

The :class:`~kiosk.core.machine.TerminalMachine` knows no journey. A journey
declares, in one :class:`JourneyTable`, each state's kind (``idle``, ``timed``
with its default seconds, ``busy``) and whether it can be cancelled, and the
allowed transitions with their reasons; which states are busy, timed and
cancellable is derived from that one table. Its handlers are methods named
``on_<input>`` (``on_pin_digit``, ``on_confirm``...): an input the current journey
has no handler for is ignored (and audited).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from kiosk.core.views import Screen

if TYPE_CHECKING:
    from kiosk.core.machine import TerminalMachine

__all__ = [
    "HomeJourney",
    "Journey",
    "JourneyTable",
    "StateSpec",
    "SubJourney",
    "busy",
    "idle",
    "timed",
]


E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class StateSpec:
    """How a state behaves: ``timed`` states have a timeout (default ``seconds``,
    overridable per state name by config), ``busy`` ones run a job."""

    kind: Literal["idle", "timed", "busy"]
    seconds: float | None = None
    cancellable: bool = False


def idle() -> StateSpec:
    """Waiting for something that is not the citizen (a card, the devices)."""
    return StateSpec("idle")


def timed(seconds: float) -> StateSpec:
    """The citizen is expected to act; the journey moves on after ``seconds``."""
    return StateSpec("timed", seconds)


def busy(*, cancellable: bool = False) -> StateSpec:
    """A job runs on the worker; ``cancellable`` offers cancel to the citizen."""
    return StateSpec("busy", cancellable=cancellable)


class JourneyTable:
    """States and transitions of one journey; the machine refuses any other move."""

    def __init__(
        self,
        name: str,
        states: Mapping[E, StateSpec],
        transitions: Mapping[tuple[E, E], str],
    ) -> None:
        unknown = {s for pair in transitions for s in pair if s not in states}
        if unknown:
            raise ValueError(f"{name}: transitions name undeclared states {sorted(unknown)}")
        self.name = name
        self.states: dict[StrEnum, StateSpec] = {k: v for k, v in states.items()}
        self.transitions: dict[tuple[StrEnum, StrEnum], str] = {
            (a, b): why for (a, b), why in transitions.items()
        }
        self.busy = frozenset(s for s, spec in self.states.items() if spec.kind == "busy")
        self.timed = frozenset(s for s, spec in self.states.items() if spec.kind == "timed")
        self.cancellable = frozenset(s for s, spec in self.states.items() if spec.cancellable)

    def allows(self, frm: StrEnum, to: StrEnum) -> bool:
        return frm == to or (frm, to) in self.transitions

    def spec(self, state: StrEnum) -> StateSpec:
        return self.states[state]

    def timeouts(self) -> dict[str, float]:
        """Default seconds per timed state, by state name (config keys)."""
        return {s.value: spec.seconds for s, spec in self.states.items()
                if spec.seconds is not None}  # fmt: skip


class Journey(Protocol):
    """What the machine needs of a journey; handlers are ``on_<input>`` methods."""

    name: str
    table: JourneyTable

    def screen(self, m: TerminalMachine, base: Screen) -> Screen:
        """``base`` (state, language, timer, notices, busy) with this journey's
        sections filled in."""
        ...

    def on_timeout(self, m: TerminalMachine) -> None:
        """The current (timed) state's time is up."""
        ...

    def recover(self, m: TerminalMachine) -> None:
        """An input failed inside the core: end the session safely (no table check)."""
        ...


class SubJourney(Journey, Protocol):
    """A journey the home journey hands the terminal to (by card role, or from the
    attract screen without a card)."""

    def begin(self, m: TerminalMachine, **details: Any) -> None:
        """Take over: :meth:`TerminalMachine.switch` to the first state."""
        ...


class HomeJourney(Journey, Protocol):
    """The journey that owns the idle screens; others end by handing back to it."""

    def card_left(self, m: TerminalMachine) -> None:
        """The card left, in whichever journey: end the session, back to the idle screen."""
        ...

    def take_card(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        """The session is over with the card still in: "please take your card"."""
        ...

    def idle(self, m: TerminalMachine, notices: tuple[str, ...] = ()) -> None:
        """A card-less session is over: back to the idle screen."""
        ...

    def refuse(self, m: TerminalMachine, why: str, notices: tuple[str, ...] = ()) -> None:
        """The card cannot go on (``why``: a refusal code): its refusal screen."""
        ...
