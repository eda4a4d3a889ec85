"""Provider adapter: the central's HTTP client of the departments' systems.

Every call has a timeout; reads and idempotency-keyed writes are retried with
tenacity (a retry of a write carries the same key, so the department acts once).
Failures become three errors the API maps to reasons: the department is down or
slow (:class:`DepartmentUnavailable`, 503), it answered something that is not
its documented body (:class:`DepartmentBadAnswer`, 502), or it said no
(:class:`DepartmentRefused`, its 4xx and reason).
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from backend_sync.central.providers import BillInfo
from backend_sync.services_wire import (
    Applications,
    Booking,
    HallServices,
    HousingFundStatement,
    QueueNumber,
    Slots,
    SocialSecurityStatement,
    Timetable,
    TrafficRecord,
    UtilityBills,
)

__all__ = [
    "BILLERS",
    "DepartmentBadAnswer",
    "DepartmentError",
    "DepartmentRefused",
    "DepartmentUnavailable",
    "Departments",
    "SeatSold",
]

M = TypeVar("M", bound=BaseModel)

# Payees the departments bill for, and their biller's name on receipts.
BILLERS = {
    "water": "自来水公司",
    "electricity": "供电公司",
    "gas": "燃气公司",
    "traffic": "交警支队",
}


class DepartmentError(Exception):
    """Root of the adapter's errors."""


class DepartmentUnavailable(DepartmentError):
    """No answer in time, a connection error or a 5xx: try later; nothing changed."""


class DepartmentBadAnswer(DepartmentError):
    """The department answered, but not with its documented body."""


class DepartmentRefused(DepartmentError):
    """The department said no (4xx) with a ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class _Retry(Exception):
    """A failure worth another attempt (inside the retry loop only)."""


class SeatSold(BaseModel):
    seat_id: str
    departure: str
    seat: int
    fare: int
    day: str
    time: str
    origin: str
    destination: str


class _Paid(BaseModel):
    reference: str
    order_id: str
    status: str


class _Account(BaseModel):
    asn: str
    account: str


class _Fine(BaseModel):
    reference: str
    plate: str
    asn: str
    amount: int
    day: str
    paid_order: str | None = None


class Departments:
    """One department gateway (``base_url``); ``timeout`` per attempt, ``attempts`` in all,
    never longer than ``budget_s`` in all so a kiosk's request is answered in time."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        budget_s: float = 6.0,
        backoff: float = 0.1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self.attempts = attempts
        self.budget_s = budget_s
        self.backoff = backoff

    def close(self) -> None:
        self.http.close()

    # -- plumbing -----------------------------------------------------------------------

    def _once(self, method: str, url: str, **kw: Any) -> Any:
        try:
            resp = self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:  # timeouts, refused connections, resets
            raise _Retry(f"{method} {url}: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise _Retry(f"{method} {url}: HTTP {resp.status_code}")
        try:
            doc = resp.json()
        except ValueError as exc:
            raise DepartmentBadAnswer(f"{method} {url}: not JSON") from exc
        if resp.status_code >= 400:
            reason = doc.get("reason") if isinstance(doc, dict) else None
            raise DepartmentRefused(resp.status_code, str(reason or "refused")[:64])
        return doc

    def _call(self, method: str, url: str, **kw: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.budget_s),
            wait=wait_exponential(multiplier=self.backoff, max=1.0),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, **kw)
        except _Retry as exc:
            raise DepartmentUnavailable(str(exc)) from exc
        raise DepartmentUnavailable(url)  # pragma: no cover - tenacity always reraises

    def _get(self, model: type[M], url: str, **kw: Any) -> M:
        return _parse(model, self._call("GET", url, **kw), url)

    def _post(self, model: type[M], url: str, key: str, body: dict[str, Any] | None = None) -> M:
        headers = {"Idempotency-Key": key}
        return _parse(model, self._call("POST", url, json=body or {}, headers=headers), url)

    # -- queries --------------------------------------------------------------------------

    def social_security(self, asn: str) -> SocialSecurityStatement:
        return self._get(SocialSecurityStatement, f"/social-security/{asn}")

    def housing_fund(self, asn: str) -> HousingFundStatement:
        return self._get(HousingFundStatement, f"/housing-fund/{asn}")

    def utility_bills(self, utility: str, account: str) -> UtilityBills:
        return self._get(UtilityBills, f"/utilities/{utility}/accounts/{account}/bills")

    def utility_account(self, asn: str) -> str:
        """The household account the holder's utilities are billed to."""
        return self._get(_Account, f"/utilities/holders/{asn}/accounts").account

    def traffic(self, asn: str) -> TrafficRecord:
        return self._get(TrafficRecord, f"/traffic/holders/{asn}")

    def applications(self, asn: str) -> Applications:
        return self._get(Applications, f"/applications/holders/{asn}")

    def hall_services(self) -> HallServices:
        return self._get(HallServices, "/hall/services")

    def slots(self, service: str) -> Slots:
        return self._get(Slots, f"/hall/services/{service}/slots")

    def booking(self, booking: str) -> Booking:
        return self._get(Booking, f"/hall/bookings/{booking}")

    def timetable(self, day: str) -> Timetable:
        return self._get(Timetable, "/bus/timetable", params={"day": day})

    # -- changes (idempotency-keyed) ------------------------------------------------------

    def book(self, *, key: str, asn: str, service: str, slot: str) -> Booking:
        body = {"asn": asn, "service": service, "slot": slot}
        return self._post(Booking, "/hall/bookings", key, body)

    def cancel(self, *, key: str, booking: str) -> None:
        self._call(
            "POST", f"/hall/bookings/{booking}/cancel", json={}, headers={"Idempotency-Key": key}
        )

    def queue_number(self, *, key: str, service: str) -> QueueNumber:
        return self._post(QueueNumber, "/hall/queue", key, {"service": service})

    def sell_seat(self, *, key: str, departure: str) -> SeatSold:
        return self._post(SeatSold, "/bus/seats", key, {"departure": departure})

    def release_seat(self, *, key: str, seat_id: str) -> None:
        self._call(
            "POST", f"/bus/seats/{seat_id}/release", json={}, headers={"Idempotency-Key": key}
        )

    # -- billing (the central's BillDirectory) --------------------------------------------

    def unpaid(self, payee: str, account: str) -> list[BillInfo]:
        """Unpaid utility bills of ``account``, oldest first; for ``traffic`` the unpaid
        fine whose reference is ``account``."""
        if payee == "traffic":
            try:
                f = self._get(_Fine, f"/traffic/fines/{account}")
            except DepartmentRefused as exc:
                if exc.status == 404:
                    return []
                raise
            if f.paid_order is not None:
                return []
            return [BillInfo("traffic", account, f.reference, f.day, f.amount, BILLERS[payee])]
        if payee not in BILLERS:
            return []
        return [
            BillInfo(payee, account, b.reference, b.period, b.amount, BILLERS[payee])
            for b in self.utility_bills(payee, account).bills
        ]

    def notify_paid(self, *, payee: str, reference: str, order_id: str, amount: int) -> None:
        """Tell the biller a held order was paid; keyed by the order id (sent once)."""
        url = "/traffic/payments" if payee == "traffic" else "/utilities/payments"
        body = {"reference": reference, "order_id": order_id, "amount": amount}
        _parse(
            _Paid, self._call("POST", url, json=body, headers={"Idempotency-Key": order_id}), url
        )


def _parse(model: type[M], doc: Any, url: str) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise DepartmentBadAnswer(f"{url}: {exc.error_count()} schema errors") from exc
