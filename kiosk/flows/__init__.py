"""Service flows: one module per kind of citizen service, and their registry.

``kiosk/flows/<name>.py`` holds one :class:`~kiosk.flows.base.Flow`; the catalog's
``flow`` names it, and :meth:`kiosk.catalog.Catalog.from_body` leaves out a
service whose flow is not in the registry or whose entry the flow refuses. A new
kind of service is a new module plus a line in :func:`builtin_flows` (or, for a
flow that exists only in a test, :meth:`FlowRegistry.with_flows`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kiosk.flows.base import Flow

__all__ = ["FlowRegistry", "builtin_flows"]


class FlowRegistry:
    """Flows by name. Immutable once built; :meth:`with_flows` makes a new one."""

    def __init__(self, flows: Iterable[Flow] = ()) -> None:
        self._flows: dict[str, Flow] = {}
        for flow in flows:
            if not flow.name or flow.name in self._flows:
                raise ValueError(f"flow name missing or taken: {flow.name!r}")
            self._flows[flow.name] = flow

    def get(self, name: str) -> Flow | None:
        return self._flows.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._flows

    def __iter__(self) -> Iterator[Flow]:
        return iter(self._flows.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._flows)

    def with_flows(self, *flows: Flow) -> FlowRegistry:
        """This registry plus ``flows`` (a name already taken is an error)."""
        return FlowRegistry([*self._flows.values(), *flows])


def builtin_flows() -> FlowRegistry:
    """The flows this kiosk release knows."""
    from kiosk.flows.applications import ApplicationProgressFlow
    from kiosk.flows.appointment import AppointmentCancelFlow, AppointmentFlow
    from kiosk.flows.balance import BalanceFlow
    from kiosk.flows.bike import BikeDisableFlow, BikeEnableFlow, BikeStatusFlow
    from kiosk.flows.bill import BillFlow
    from kiosk.flows.bus_ticket import BusRefundFlow, BusTicketFlow
    from kiosk.flows.change_pin import ChangePinFlow
    from kiosk.flows.feedback import FeedbackFlow
    from kiosk.flows.feedback_case import FeedbackLookupFlow, FeedbackRateFlow
    from kiosk.flows.fixed_price import FixedPriceFlow
    from kiosk.flows.history import HistoryFlow
    from kiosk.flows.housing_fund import HousingFundFlow
    from kiosk.flows.poll import PollFlow
    from kiosk.flows.social_security import SocialSecurityFlow
    from kiosk.flows.top_up import TopUpFlow
    from kiosk.flows.traffic import TrafficFlow
    from kiosk.flows.utility import UtilityFlow

    return FlowRegistry([BalanceFlow(), HistoryFlow(), BillFlow(), TopUpFlow(),
                         ChangePinFlow(), FixedPriceFlow(), PollFlow(),
                         SocialSecurityFlow(),
                         HousingFundFlow(),
                         UtilityFlow(),
                         TrafficFlow(),
                         ApplicationProgressFlow(),
                         FeedbackFlow(), FeedbackLookupFlow(), FeedbackRateFlow(),
                         AppointmentFlow(), AppointmentCancelFlow(),
                         BusTicketFlow(), BusRefundFlow(),
                         BikeEnableFlow(), BikeDisableFlow(), BikeStatusFlow()])  # fmt: skip
