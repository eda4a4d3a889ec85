"""Open311 GeoReport v2, read only, JSON (services, requests, one request).

GeoReport knows two statuses; the case's own state goes into ``status_notes``.
``description``, ``address`` and the coordinates are published only for cases
whose citizen consented at the kiosk; the citizen's identity never is. Refused
submissions are not requests. ``service_request_id`` is the case's internal
number, not its tracking number (which stays the citizen's key to the answer).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from backend_sync.central.feedback.models import feedback_cases, feedback_categories
from backend_sync.central.service import Central

__all__ = ["open311_router", "request_json"]

c = feedback_cases.c
CLOSED = ("closed",)
NOTES = {
    "accepted": "received, waiting to be routed to a department",
    "dispatched": "routed to the department",
    "in_progress": "the department is working on it",
    "answered": "answered by the department; waiting for the citizen's rating",
    "closed": "closed",
    "returned": "returned to dispatch by the department, to be routed again",
    "reopened": "reopened: the citizen was not satisfied with the answer",
}


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


def request_json(r: Any) -> dict[str, Any]:
    """One case as a GeoReport v2 service request."""
    out: dict[str, Any] = {
        "service_request_id": str(r.id),
        "status": "closed" if r.state in CLOSED else "open",
        "status_notes": NOTES.get(r.state, r.state),
        "service_code": r.category,
        "agency_responsible": r.department or None,
        "requested_datetime": _iso(r.submitted_ms),
        "updated_datetime": _iso(r.updated_ms),
        "expected_datetime": _iso(r.deadline_ms),
    }
    if r.publish_consent:
        out["description"] = r.body
        out["address"] = r.place
        out["lat"] = r.lat_e6 / 1e6 if r.lat_e6 is not None else None
        out["long"] = r.lon_e6 / 1e6 if r.lon_e6 is not None else None
    return out


def open311_router(central: Central) -> APIRouter:
    r = APIRouter(prefix="/open311/v2", tags=["open311"])

    @r.get("/services.json")
    def services() -> list[dict[str, Any]]:
        """The active categories as GeoReport services (no attributes to fill)."""
        with central.engine.connect() as conn:
            rows = conn.execute(
                sa.select(feedback_categories).where(feedback_categories.c.active)
            ).all()
        return [
            {
                "service_code": x.code,
                "service_name": json.loads(x.names)["zh-Hans"],
                "description": json.loads(x.names)["en"],
                "metadata": False,
                "type": "realtime",
                "keywords": "",
                "group": x.department,
            }
            for x in rows
        ]

    @r.get("/requests.json")
    def requests(
        service_code: str | None = Query(None, max_length=64),
        status: str | None = Query(None, pattern="^(open|closed)$"),
        start_date: dt.datetime | None = None,
        end_date: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Requests, newest first (at most 1000, the GeoReport default window of 90
        days when no dates are given)."""
        q = sa.select(feedback_cases).where(c.state != "refused")
        if service_code:
            q = q.where(c.category == service_code)
        if status == "closed":
            q = q.where(c.state.in_(CLOSED))
        elif status == "open":
            q = q.where(c.state.not_in(CLOSED))
        end = int(end_date.timestamp() * 1000) if end_date else central.now_ms()
        start = int(start_date.timestamp() * 1000) if start_date else end - 90 * 86_400_000
        q = q.where(c.submitted_ms.between(start, end)).order_by(c.submitted_ms.desc())
        with central.engine.connect() as conn:
            return [request_json(x) for x in conn.execute(q.limit(1000))]

    @r.get("/requests/{request_id}.json", responses={404: {"description": "no such request"}})
    def one(request_id: str) -> Any:
        if not request_id.isdigit() or len(request_id) > 18:
            return JSONResponse([{"code": 404, "description": "no such request"}], 404)
        with central.engine.connect() as conn:
            row = conn.execute(
                sa.select(feedback_cases).where(c.id == int(request_id), c.state != "refused")
            ).first()
        if row is None:
            return JSONResponse([{"code": 404, "description": "no such request"}], 404)
        return [request_json(row)]

    return r
