"""The kiosk's calls of the city services (mixed into :class:`CentralClient`).

A kiosk flow calls one method; the central answers from the departments. Every
call is signed with the terminal key; card services send the ASN of the card
whose PIN was verified. Errors: ``CentralUnavailable`` (the central is down) and
``CentralRefused`` with a stable reason — ``department_unavailable`` (503 at the
central: try later, nothing changed) arrives as ``CentralUnavailable`` too, since
the client treats every 5xx as "try later".
"""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel

from backend_sync.services_wire import (
    Applications,
    BikeDeposit,
    BoardingsAck,
    Booking,
    BusTicket,
    BusTicketHold,
    HallServices,
    HousingFundStatement,
    QueueNumber,
    ServiceCall,
    ServiceCallRequest,
    Slots,
    SocialSecurityStatement,
    Timetable,
    TrafficRecord,
    UtilityBills,
)

__all__ = ["CityServicesClient"]

M = TypeVar("M", bound=BaseModel)


class CityServicesClient:
    """City service calls; needs ``terminal_id`` and ``_signed_post`` (CentralClient's)."""

    terminal_id: str

    def _signed_post(self, path: str, body: Any, request_cls: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _service(
        self,
        model: type[M],
        name: str,
        *,
        asn: str | None = None,
        request_id: str | None = None,
        **params: str | int | list[str],
    ) -> M:
        body = ServiceCall(
            terminal_id=self.terminal_id,
            request_id=request_id or uuid.uuid4().hex,
            service=name,
            asn=asn.upper() if asn else None,
            params=params,
            ts=int(time.time() * 1000),
        )
        doc = self._signed_post(f"/v1/services/{name}", body, ServiceCallRequest)
        return model.model_validate(doc)

    # -- queries of the card holder's own records ---------------------------------------

    def social_security(self, *, asn: str) -> SocialSecurityStatement:
        """Contributions by month (pension, medical, unemployment) and the medical account."""
        return self._service(SocialSecurityStatement, "social_security", asn=asn)

    def housing_fund(self, *, asn: str) -> HousingFundStatement:
        """Housing provident fund balance, monthly deposits and loan status."""
        return self._service(HousingFundStatement, "housing_fund", asn=asn)

    def utility_bills(self, *, asn: str, utility: str, account: str | None = None) -> UtilityBills:
        """Unpaid ``utility`` ("water", "electricity", "gas") bills of the holder's household
        (or of ``account``); pay one with ``hold_order(payee=utility, reference=...)``."""
        extra: dict[str, str] = {"account": account} if account else {}
        return self._service(UtilityBills, "utility_bills", asn=asn, utility=utility, **extra)

    def traffic_fines(self, *, asn: str) -> TrafficRecord:
        """The holder's vehicles and their unpaid fines; pay one with
        ``hold_order(payee="traffic", reference=fine.reference)``."""
        return self._service(TrafficRecord, "traffic_fines", asn=asn)

    def application_progress(self, *, asn: str, number: str | None = None) -> Applications:
        """The holder's applications (or the one ``number``): steps, current step, date."""
        extra: dict[str, str] = {"number": number} if number else {}
        return self._service(Applications, "applications", asn=asn, **extra)

    # -- the service hall ------------------------------------------------------------------

    def hall_services(self) -> HallServices:
        """Departments and services of the hall that take appointments and queue numbers."""
        return self._service(HallServices, "hall_services")

    def appointment_slots(self, *, service: str) -> Slots:
        """Live free slots of one hall service."""
        return self._service(Slots, "appointment_slots", service=service)

    def book_appointment(
        self, *, asn: str, service: str, slot: str, request_id: str | None = None
    ) -> Booking:
        """Book one slot (one open booking per card per service; retry with the same
        ``request_id`` to be sure nothing is booked twice)."""
        return self._service(
            Booking, "appointment_book", asn=asn, request_id=request_id, service=service, slot=slot
        )

    def cancel_appointment(self, *, asn: str, booking: str) -> Booking:
        """Cancel the card's own booking."""
        return self._service(Booking, "appointment_cancel", asn=asn, booking=booking)

    def queue_number(self, *, service: str, request_id: str | None = None) -> QueueNumber:
        """A queue number for today (no card): the number and the people ahead."""
        return self._service(QueueNumber, "queue_number", request_id=request_id, service=service)

    # -- long-distance buses -------------------------------------------------------------

    def bus_timetable(self, *, day: str) -> Timetable:
        """Departures of ``day`` (YYYY-MM-DD) with fares and seats left."""
        return self._service(Timetable, "bus_timetable", day=day)

    def hold_bus_ticket(
        self, *, asn: str, departure: str, request_id: str | None = None
    ) -> BusTicketHold:
        """Reserve a seat and hold the fare as an order: debit citing ``order_id``."""
        return self._service(
            BusTicketHold, "bus_hold", asn=asn, request_id=request_id, departure=departure
        )

    def bus_ticket(self, *, asn: str, ticket_id: str) -> BusTicket:
        """The paid ticket with its signed QR text (``ticket_not_paid`` until the
        purchase has been uploaded)."""
        return self._service(BusTicket, "bus_ticket", asn=asn, ticket_id=ticket_id)

    def refund_bus_ticket(self, *, asn: str, ticket_id: str) -> BusTicket:
        """Give the seat back; refused with ``departed`` once the bus left or it was boarded."""
        return self._service(BusTicket, "bus_refund", asn=asn, ticket_id=ticket_id)

    def report_boardings(self, *, departure: str, tickets: list[str]) -> BoardingsAck:
        """A validator's boardings of one departure (once per ticket at the central)."""
        return self._service(BoardingsAck, "bus_boardings", departure=departure, tickets=tickets)

    # -- public bikes ----------------------------------------------------------------------

    def bike_status(self, *, asn: str) -> BikeDeposit:
        """The card's public-bike deposit at the central (``none``: what enabling costs)."""
        return self._service(BikeDeposit, "bike_status", asn=asn)

    def hold_bike_deposit(self, *, asn: str, request_id: str | None = None) -> BikeDeposit:
        """Hold the deposit as an order for the card: debit citing ``order_id``. Returned
        later by ``authorize_load(..., funding="bike_deposit")``."""
        return self._service(BikeDeposit, "bike_deposit_hold", asn=asn, request_id=request_id)
