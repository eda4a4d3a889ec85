"""The kiosk's journeys: tables of states plus their handlers, run by
:class:`kiosk.core.machine.TerminalMachine`.

- :mod:`~kiosk.journeys.citizen` (home): the door (attract, card check, take the
  card) and a citizen's session; states in :mod:`~kiosk.journeys.citizen_states`,
  services in :mod:`~kiosk.journeys.citizen_services`.
- :mod:`~kiosk.journeys.maintenance`: a technician's card (the diagnostics grow here).
- The card's role picks the journey after the card check (:data:`ROLE_JOURNEYS`);
  a clerk's card is refused at a kiosk (it belongs at a counter station). Card-less
  journeys start from the attract screen (``KioskController.start_journey``).

:func:`build_kiosk_machine` wires them over one :class:`~kiosk.journeys.ports.KioskOps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cardlib.certs import Role
from kiosk.core.clock import Clock
from kiosk.core.journey import HomeJourney, SubJourney
from kiosk.core.machine import AuditSink, TerminalMachine
from kiosk.core.timeouts import Timeouts
from kiosk.core.views import Language
from kiosk.core.worker import Worker
from kiosk.journeys import citizen_states, maintenance
from kiosk.journeys.citizen import CitizenJourney
from kiosk.journeys.maintenance import MaintenanceJourney
from kiosk.journeys.ports import KioskOps

__all__ = ["ROLE_JOURNEYS", "build_kiosk_machine", "timeout_defaults"]

# role -> how to build its journey (given the kiosk's ops and the home journey)
ROLE_JOURNEYS: Mapping[Role, Callable[[KioskOps, HomeJourney], SubJourney]] = {
    Role.TECHNICIAN: MaintenanceJourney,
}


def timeout_defaults() -> dict[str, float]:
    """Every timed state of the kiosk's journeys with its default seconds (the
    config's ``[timeouts]`` keys)."""
    from kiosk.journeys import queue

    return {**citizen_states.TABLE.timeouts(), **maintenance.TABLE.timeouts(),
            **queue.TABLE.timeouts()}  # fmt: skip


def build_kiosk_machine(
    ops: KioskOps,
    *,
    clock: Clock,
    timeouts: Timeouts | None = None,
    languages: tuple[Language, ...] = (Language.ZH_HANS, Language.ZH_HANT, Language.EN),
    audit: AuditSink | None = None,
    worker: Worker | None = None,
    card_less: Mapping[str, Callable[[KioskOps, HomeJourney], SubJourney]] | None = None,
) -> TerminalMachine:
    """A terminal machine running the citizen journey at home, the role journeys
    after the card check and ``card_less`` journeys from the attract screen."""
    home = CitizenJourney(ops)
    for role, make in ROLE_JOURNEYS.items():
        home.journeys[role] = make(ops, home)
    for name, make in (card_less or {}).items():
        home.card_less[name] = make(ops, home)
    kw = {"audit": audit} if audit is not None else {}
    return TerminalMachine(home, citizen_states.State.ATTRACT, clock=clock, timeouts=timeouts,
                           languages=languages, worker=worker, **kw)  # fmt: skip
