"""The departments' HTTP API (FastAPI; its own OpenAPI schema at /openapi.json).

Every state-changing call takes an ``Idempotency-Key`` header; the key is stored
with the answer in the same transaction as the change. ``/admin/faults`` injects
delays, 5xx answers and malformed bodies so the central's adapters can be tested
against the real process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulators.departments.hall_bus import add_hall_and_bus
from simulators.departments.store import Conflict, DepartmentStore, NotFound

__all__ = ["Fault", "create_app"]

_TZ = ZoneInfo("Asia/Shanghai")
Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)]


class Fault(BaseModel):
    """Misbehave on paths starting with ``prefix`` for the next ``count`` requests."""

    prefix: str = "/"
    mode: Literal["delay", "status", "malformed", "wrong_person"]
    value: float = 0  # seconds (delay) or HTTP status (status)
    count: int = Field(default=1, ge=1, le=10_000)


class Payment(BaseModel):
    reference: str = Field(max_length=64)
    order_id: str = Field(max_length=64)
    amount: int = Field(ge=1)


def create_app(store: DepartmentStore, clock: Callable[[], dt.datetime] | None = None) -> FastAPI:
    """The API over one store; ``clock`` gives the local time (Asia/Shanghai)."""
    now = clock or (lambda: dt.datetime.now(_TZ).replace(tzinfo=None))
    app = FastAPI(title="civicard department systems (simulated)", version="1")
    faults: list[Fault] = []
    faults_lock = threading.Lock()

    def take_fault(path: str) -> Fault | None:
        with faults_lock:
            for f in faults:
                if path.startswith(f.prefix):
                    f.count -= 1
                    if f.count <= 0:
                        faults.remove(f)
                    return f
        return None

    @app.middleware("http")
    async def inject(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        fault = None if path.startswith("/admin") else take_fault(path)
        if fault is not None and fault.mode == "delay":
            await asyncio.sleep(fault.value)
        if fault is not None and fault.mode == "status":
            return JSONResponse({"error": "injected"}, status_code=int(fault.value))
        if fault is not None and fault.mode == "malformed":
            return Response(b'{"truncated": ', media_type="application/json")
        response = await call_next(request)
        if fault is not None and fault.mode == "wrong_person":
            body = b"".join([c async for c in response.body_iterator])  # type: ignore[attr-defined]
            doc = json.loads(body)
            if isinstance(doc, dict) and "asn" in doc:
                doc["asn"] = "F" * 20
            return JSONResponse(doc, status_code=response.status_code)
        return response

    @app.exception_handler(NotFound)
    async def _nf(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"reason": "not_found", "detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _cf(_r: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"reason": exc.reason}, status_code=409)

    @app.post("/admin/faults")
    def add_fault(f: Fault) -> dict[str, int]:
        with faults_lock:
            faults.append(f)
            return {"faults": len(faults)}

    @app.delete("/admin/faults")
    def clear_faults() -> dict[str, int]:
        with faults_lock:
            faults.clear()
        return {"faults": 0}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def person(asn: str) -> dict[str, Any]:
        got = store.rows("SELECT * FROM people WHERE asn = ?", asn.upper())
        if not got:
            raise NotFound(asn)
        return got[0]

    # -- social security and housing fund -----------------------------------------------

    @app.get("/social-security/{asn}")
    def social_security(asn: str) -> dict[str, Any]:
        p = person(asn)
        months: dict[str, dict[str, Any]] = {}
        for r in store.rows(
            "SELECT month, kind, amount FROM contributions WHERE asn = ? ORDER BY month DESC",
            p["asn"],
        ):
            months.setdefault(r["month"], {"month": r["month"]})[r["kind"]] = r["amount"]
        return {
            "asn": p["asn"],
            "name": p["name"],
            "medical_balance": p["medical_balance"],
            "months": list(months.values()),
        }

    @app.get("/housing-fund/{asn}")
    def housing_fund(asn: str) -> dict[str, Any]:
        p = person(asn)
        deposits = store.rows(
            "SELECT month, amount FROM fund_deposits WHERE asn = ? ORDER BY month DESC", p["asn"]
        )
        return {
            "asn": p["asn"],
            "name": p["name"],
            "balance": p["fund_balance"],
            "loan_status": p["loan_status"],
            "deposits": deposits,
        }

    # -- utilities and traffic fines (bills) ----------------------------------------------

    @app.get("/utilities/{utility}/accounts/{account}/bills")
    def utility_bills(utility: str, account: str) -> dict[str, Any]:
        bills = store.rows(
            "SELECT reference, utility, account, asn, period, amount FROM bills "
            "WHERE utility = ? AND account = ? AND paid_order IS NULL ORDER BY period",
            utility,
            account,
        )
        return {"utility": utility, "account": account, "bills": bills}

    @app.get("/utilities/holders/{asn}/accounts")
    def utility_accounts(asn: str) -> dict[str, Any]:
        p = person(asn)
        return {"asn": p["asn"], "account": p["household"]}

    def pay(table: str, key: str, body: Payment) -> dict[str, Any]:
        def apply(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute(
                f"SELECT amount, paid_order FROM {table} WHERE reference = ?",  # noqa: S608
                (body.reference,),
            ).fetchone()
            if row is None:
                raise NotFound(body.reference)
            if row["amount"] != body.amount:
                raise Conflict("amount_mismatch")
            if row["paid_order"] is not None and row["paid_order"] != body.order_id:
                raise Conflict("already_paid")
            db.execute(
                f"UPDATE {table} SET paid_order = ? WHERE reference = ?",  # noqa: S608
                (body.order_id, body.reference),
            )
            return {"reference": body.reference, "order_id": body.order_id, "status": "paid"}

        return store.once(key, f"pay:{body.reference}", apply)

    @app.post("/utilities/payments")
    def utility_payment(body: Payment, idempotency_key: Key) -> dict[str, Any]:
        """Payment notice: the bill is settled and never offered again."""
        return pay("bills", idempotency_key, body)

    @app.get("/traffic/holders/{asn}")
    def traffic(asn: str) -> dict[str, Any]:
        p = person(asn)
        vehicles = []
        for v in store.rows("SELECT plate FROM vehicles WHERE asn = ? ORDER BY plate", p["asn"]):
            fines = store.rows(
                "SELECT reference, day, place, offence, amount, points FROM fines "
                "WHERE plate = ? AND paid_order IS NULL ORDER BY day",
                v["plate"],
            )
            vehicles.append({"plate": v["plate"], "fines": fines})
        return {"asn": p["asn"], "vehicles": vehicles}

    @app.get("/traffic/fines/{reference}")
    def fine(reference: str) -> dict[str, Any]:
        got = store.rows(
            "SELECT reference, plate, asn, day, place, offence, amount, points, "
            "paid_order FROM fines WHERE reference = ?",
            reference,
        )
        if not got:
            raise NotFound(reference)
        return got[0]

    @app.post("/traffic/payments")
    def fine_payment(body: Payment, idempotency_key: Key) -> dict[str, Any]:
        return pay("fines", idempotency_key, body)

    # -- applications ---------------------------------------------------------------------

    def application(r: dict[str, Any]) -> dict[str, Any]:
        steps = json.loads(r["steps"])
        return {
            "number": r["number"],
            "asn": r["asn"],
            "title": r["title"],
            "department": r["department"],
            "steps_done": steps[: r["current"]],
            "current_step": steps[r["current"]],
            "expected_date": r["expected"],
        }

    @app.get("/applications/{number}")
    def application_by_number(number: str) -> dict[str, Any]:
        got = store.rows("SELECT * FROM applications WHERE number = ?", number)
        if not got:
            raise NotFound(number)
        return application(got[0])

    @app.get("/applications/holders/{asn}")
    def applications_of(asn: str) -> dict[str, Any]:
        p = person(asn)
        got = store.rows("SELECT * FROM applications WHERE asn = ? ORDER BY number", p["asn"])
        return {"asn": p["asn"], "applications": [application(r) for r in got]}

    add_hall_and_bus(app, store, now)

    return app
