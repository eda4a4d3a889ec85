"""City services at the central: signed kiosk calls answered from the departments.

Each call is checked (enrolled terminal, signature, fresh time, and for card
services an active card), answered through the provider adapter
(:mod:`backend_sync.central.departments`) and audited with terminal, card and
service — never the answer. The central checks the department's answer against
the card in the signed request, so a citizen only ever sees their own data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import BaseModel

from backend_sync.central.bills import taken_references
from backend_sync.central.departments import (
    BILLERS,
    DepartmentBadAnswer,
    DepartmentRefused,
    Departments,
    DepartmentUnavailable,
)
from backend_sync.central.models import cards
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.central.service_models import service_audit
from backend_sync.services_wire import (
    Applications,
    Booking,
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
    Vehicle,
)

__all__ = ["SERVICES", "Service", "call_service", "param"]

_PARAM = re.compile(r"^[0-9A-Za-z_.:\-]{1,64}$")


@dataclass(frozen=True)
class Service:
    """One service: its answer model, whether it needs a card, and its handler."""

    answer: type[BaseModel]
    needs_card: bool
    handler: Callable[[Central, Departments, ServiceCall], BaseModel] | None
    # Answered by the central alone, no department behind it (bike deposits).
    central_only: Callable[[Central, ServiceCall], BaseModel] | None = None


def param(call: ServiceCall, name: str, default: str | None = None) -> str:
    """A string parameter of the call, checked against a safe pattern (422 if not)."""
    v = call.params.get(name, default)
    if not isinstance(v, str) or not _PARAM.match(v):
        raise Refused(422, "bad_param", name)
    return v


def _own(call: ServiceCall, asn: str) -> None:
    # The department answered for someone else: never pass that on.
    if asn.upper() != (call.asn or ""):
        raise Refused(502, "department_wrong_person", call.service)


def _social(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    got = d.social_security(call.asn or "")
    _own(call, got.asn)
    return got


def _fund(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    got = d.housing_fund(call.asn or "")
    _own(call, got.asn)
    return got


def _bills(c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    utility = param(call, "utility")
    if utility not in BILLERS or utility == "traffic":
        raise Refused(422, "bad_param", "utility")
    account = call.params.get("account")
    if account is None:
        account = d.utility_account(call.asn or "")
    got = d.utility_bills(utility, param(call, "account", str(account)))
    taken = taken_references(c, utility, [b.reference for b in got.bills])
    return got.model_copy(update={"bills": [b for b in got.bills if b.reference not in taken]})


def _fines(c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    got = d.traffic(call.asn or "")
    _own(call, got.asn)
    refs = [f.reference for v in got.vehicles for f in v.fines]
    taken = taken_references(c, "traffic", refs)
    vehicles = [
        Vehicle(plate=v.plate, fines=[f for f in v.fines if f.reference not in taken])
        for v in got.vehicles
    ]
    return got.model_copy(update={"vehicles": vehicles})


def _applications(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    got = d.applications(call.asn or "")
    _own(call, got.asn)
    if any(a.asn != got.asn for a in got.applications):
        raise Refused(502, "department_wrong_person", call.service)
    if "number" in call.params:
        # Asked by number: only among the holder's own, so another person's
        # number reads as unknown rather than revealing it exists.
        number = param(call, "number")
        mine = [a for a in got.applications if a.number == number]
        if not mine:
            raise Refused(404, "application_not_found", number)
        return got.model_copy(update={"applications": mine})
    return got


def _hall(_c: Central, d: Departments, _call: ServiceCall) -> BaseModel:
    return d.hall_services()


def _slots(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    return d.slots(param(call, "service"))


def _book(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    # The key is the kiosk's request: its retry books nothing twice.
    key = f"bk-{call.terminal_id}-{call.request_id}"
    got = d.book(
        key=key[:64], asn=call.asn or "", service=param(call, "service"), slot=param(call, "slot")
    )
    _own(call, got.asn)
    return got


def _cancel(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    booking = param(call, "booking")
    try:
        got = d.booking(booking)
    except DepartmentRefused as exc:
        raise Refused(404, "booking_not_found", booking) from exc
    if got.asn != call.asn:
        raise Refused(404, "booking_not_found", booking)
    d.cancel(key=f"cx-{booking}"[:64], booking=booking)
    return d.booking(booking)


def _queue(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    key = f"q-{call.terminal_id}-{call.request_id}"
    return d.queue_number(key=key[:64], service=param(call, "service"))


def _timetable(_c: Central, d: Departments, call: ServiceCall) -> BaseModel:
    return d.timetable(param(call, "day"))


SERVICES: dict[str, Service] = {
    "social_security": Service(SocialSecurityStatement, True, _social),
    "housing_fund": Service(HousingFundStatement, True, _fund),
    "utility_bills": Service(UtilityBills, True, _bills),
    "traffic_fines": Service(TrafficRecord, True, _fines),
    "applications": Service(Applications, True, _applications),
    "hall_services": Service(HallServices, False, _hall),
    "appointment_slots": Service(Slots, False, _slots),
    "appointment_book": Service(Booking, True, _book),
    "appointment_cancel": Service(Booking, True, _cancel),
    "queue_number": Service(QueueNumber, False, _queue),
    "bus_timetable": Service(Timetable, False, _timetable),
}


def _audit(central: Central, call: ServiceCall, outcome: str) -> None:
    with central.engine.begin() as conn:
        conn.execute(
            service_audit.insert().values(
                at_ms=central.now_ms(),
                terminal_id=call.terminal_id,
                asn=call.asn,
                service=call.service,
                outcome=outcome[:64],
            )
        )


def _checked(central: Central, table: dict[str, Service], call: ServiceCall) -> Service:
    """The service, and for a card service an active card in the request."""
    svc = table.get(call.service)
    if svc is None:
        raise Refused(404, "unknown_service", call.service)
    if svc.needs_card:
        if call.asn is None:
            raise Refused(422, "card_required", call.service)
        with central.engine.connect() as conn:
            status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == call.asn)).scalar()
        if status != "active":
            raise Refused(403, "card_not_active", call.asn)
    return svc


def call_service(
    central: Central, req: ServiceCallRequest, services: dict[str, Service] | None = None
) -> BaseModel:
    """Answer one signed service call; every outcome is audited, refusals are
    :class:`Refused` with a stable reason (503 ``department_unavailable`` changes nothing)."""
    call = req.body
    table = SERVICES if services is None else services
    with central.engine.connect() as conn:
        # An unsigned or stale request is not the terminal's: counted, not audited.
        check_signed(
            central,
            conn,
            call.terminal_id,
            call.model_dump(mode="json", exclude_none=True),
            req.signature,
        )
    outcome = "ok"
    try:
        svc = _checked(central, table, call)
        if svc.central_only is not None:
            return svc.central_only(central, call)
        if central.departments is None or svc.handler is None:
            raise Refused(503, "department_unavailable", "no department gateway configured")
        try:
            return svc.handler(central, central.departments, call)
        except DepartmentUnavailable as exc:
            raise Refused(503, "department_unavailable", str(exc)[:200]) from exc
        except DepartmentBadAnswer as exc:
            raise Refused(502, "department_bad_answer", str(exc)[:200]) from exc
        except DepartmentRefused as exc:
            status = exc.status if exc.status in (404, 409, 422) else 502
            reason = f"{call.service}_not_found" if exc.status == 404 else exc.reason
            raise Refused(status, reason) from exc
    except Refused as exc:
        outcome = exc.reason
        raise
    finally:
        _audit(central, call, outcome)
