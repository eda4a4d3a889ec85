"""Terminal-facing feedback routes: the category list, case lookup, rating."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend_sync.central.api_rules import refusals
from backend_sync.central.feedback import cases, rules
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.feedback_wire import (
    CaseView,
    FeedbackLookupRequest,
    FeedbackRateRequest,
)
from backend_sync.wire import SignedDocument, record_dict

__all__ = ["case_view", "feedback_router"]


def case_view(r: Any, now: int) -> CaseView:
    """A case (a feedback_cases row) as the citizen sees it at the kiosk."""
    wait, dept = cases.clocks(r, now)
    return CaseView(
        tracking=r.tracking, category=r.category, state=r.state, refusal=r.refusal,
        submitted_ms=r.submitted_ms, arrived_ms=r.arrived_ms, deadline_ms=r.deadline_ms,
        citizen_wait_ms=wait, department_ms=dept, answer=r.answer, answered_ms=r.answered_ms,
        satisfied=r.satisfied,
    )  # fmt: skip


def _check(central: Central, tid: str, body: dict[str, object], sig: str) -> None:
    with central.engine.connect() as conn:
        check_signed(central, conn, tid, body, sig)


def feedback_router(central: Central) -> APIRouter:
    """The terminal-signed feedback routes bound to one central."""
    r = APIRouter()

    @r.get("/v1/feedback/categories", response_model=SignedDocument, responses=refusals(404))
    def categories() -> SignedDocument:
        """The active categories (code, names, deadline), signed like the catalog."""
        return rules.categories_document(central)

    @r.post("/v1/feedback/lookup", response_model=list[CaseView], responses=refusals(401, 403, 409))
    def lookup(req: FeedbackLookupRequest) -> list[CaseView]:
        """By tracking number (anyone holding the receipt) or by the session's card."""
        b = req.body
        _check(central, b.terminal_id, record_dict(b), req.signature)
        if (b.tracking is None) == (b.asn is None):
            raise Refused(422, "tracking_or_card", "give exactly one of tracking and asn")
        rows = cases.lookup(central, tracking=b.tracking, asn=b.asn)
        now = central.now_ms()
        return [case_view(x, now) for x in rows]

    @r.post("/v1/feedback/rate", responses=refusals(401, 403, 404, 409))
    def rate(req: FeedbackRateRequest) -> dict[str, str]:
        """Satisfied closes the case; not satisfied reopens it."""
        b = req.body
        _check(central, b.terminal_id, record_dict(b), req.signature)
        return {"state": cases.rate(central, tracking=b.tracking, asn=b.asn,
                                    satisfied=b.satisfied)}  # fmt: skip

    return r
