"""Wire schemas of the city services (kiosk ⇄ central), shared by both sides.

One signed request shape for every service call (:class:`ServiceCall`, signed by
the terminal key like a bill lookup) and one answer model per service. The same
answer models validate what a department's system sends the central, so a
malformed department body is caught at the central, never passed on.
docs/services.md is the normative description.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from backend_sync.wire import Asn, Code, TerminalId

__all__ = [
    "Application",
    "Applications",
    "BikeDeposit",
    "Boardings",
    "BoardingsAck",
    "Booking",
    "BusTicket",
    "BusTicketHold",
    "ContributionMonth",
    "Departure",
    "Fine",
    "FundDeposit",
    "HallService",
    "HallServices",
    "HousingFundStatement",
    "QueueNumber",
    "ServiceCall",
    "ServiceCallRequest",
    "Slot",
    "Slots",
    "SocialSecurityStatement",
    "Timetable",
    "TrafficRecord",
    "UtilityBill",
    "UtilityBills",
    "Vehicle",
]

Fen = Annotated[int, Field(ge=0, le=10**10)]
Text = Annotated[str, Field(max_length=200)]
Param = str | int | list[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class ServiceCall(BaseModel):
    """Body of a signed service call. ``asn`` is the authenticated card (PIN verified
    at the kiosk); it is absent only for card-less services (queue numbers, timetable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terminal_id: TerminalId
    request_id: Code
    service: Code
    asn: Asn | None = None
    params: dict[Annotated[str, Field(max_length=32)], Param] = Field(default_factory=dict)
    ts: int = Field(description="terminal clock, Unix ms")


class ServiceCallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    body: ServiceCall
    signature: str = Field(max_length=200)


class ContributionMonth(_Model):
    month: Text
    pension: Fen = 0
    medical: Fen = 0
    unemployment: Fen = 0


class SocialSecurityStatement(_Model):
    asn: Asn
    name: Text
    medical_balance: Fen
    months: list[ContributionMonth]


class FundDeposit(_Model):
    month: Text
    amount: Fen


class HousingFundStatement(_Model):
    asn: Asn
    name: Text
    balance: Fen
    loan_status: Text
    deposits: list[FundDeposit]


class UtilityBill(_Model):
    reference: Text
    utility: Text
    account: Text
    period: Text
    amount: Fen


class UtilityBills(_Model):
    utility: Text
    account: Text
    bills: list[UtilityBill]


class Fine(_Model):
    reference: Text
    day: Text
    place: Text
    offence: Text
    amount: Fen
    points: Annotated[int, Field(ge=0, le=12)]


class Vehicle(_Model):
    plate: Text
    fines: list[Fine]


class TrafficRecord(_Model):
    asn: Asn
    vehicles: list[Vehicle]


class Application(_Model):
    number: Text
    asn: Asn
    title: Text
    department: Text
    steps_done: list[Text]
    current_step: Text
    expected_date: Text


class Applications(_Model):
    asn: Asn
    applications: list[Application]


class HallService(_Model):
    code: Text
    name: Text
    department: Text


class HallServices(_Model):
    services: list[HallService]


class Slot(_Model):
    id: Text
    start: Text
    free: Annotated[int, Field(ge=0)]


class Slots(_Model):
    service: Text
    slots: list[Slot]


class Booking(_Model):
    booking: Text
    asn: Asn
    service: Text
    slot: Text
    status: Text
    start: Text = ""


class QueueNumber(_Model):
    service: Text
    number: Text
    ahead: Annotated[int, Field(ge=0)]
    day: Text


class Departure(_Model):
    id: Text
    origin: Text
    destination: Text
    day: Text
    time: Text
    fare: Fen
    seats_left: Annotated[int, Field(ge=0)]


class Timetable(_Model):
    day: Text
    departures: list[Departure]


class BusTicketHold(_Model):
    """A seat reserved and an order held for it: the kiosk debits citing ``order_id``."""

    ticket_id: Text
    order_id: Text
    departure: Text
    seat: int
    fare: Fen


class BusTicket(_Model):
    """A paid ticket; ``qr`` is the text the printed QR holds (signed by the central)."""

    ticket_id: Text
    departure: Text
    day: Text
    time: Text
    origin: Text
    destination: Text
    seat: int
    fare: Fen
    status: Text
    qr: str = ""


class Boardings(_Model):
    departure: Text
    tickets: list[Text]


class BoardingsAck(_Model):
    accepted: int
    unknown: list[Text]


class BikeDeposit(_Model):
    """A card's public-bike deposit at the central. ``status``: ``none`` (nothing
    held), ``pending`` (the order is held: debit citing ``order_id``), ``held``,
    ``returning`` (a load back to the purse is authorized), ``returned``."""

    deposit_id: Text = ""
    order_id: Text = ""
    amount: Fen = 0
    status: Text
