"""HTTP routes of the ledger's own rules: releasing and expiring holds on bills.

Kept apart from ``app.py`` (transport concerns: errors, limits, the schema) so the
money rules grow here; ``create_app`` includes this router.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend_sync.central import orders
from backend_sync.central.service import Central
from backend_sync.wire import OrderHeld, ReleaseOrderRequest

__all__ = ["ledger_router"]

# Every status a route can answer is in the schema ({"reason", "detail"} bodies).
_REFUSAL = {"description": "refused: {reason, detail}"}
_RELEASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _REFUSAL,  # bad_signature, stale_request
    403: _REFUSAL,  # unknown_terminal, foreign_order
    404: _REFUSAL,  # unknown_order
    409: _REFUSAL,  # order_paid
}


def ledger_router(central: Central, admin: Any) -> APIRouter:
    """The routes bound to one central; ``admin`` is the app's admin dependency."""
    r = APIRouter()

    @r.post("/v1/orders/release", response_model=OrderHeld, responses=_RELEASE_RESPONSES)
    def release(req: ReleaseOrderRequest) -> OrderHeld:
        """Release a held order whose debit never began (signed by the holder)."""
        return orders.release_order(central, req)

    @r.post("/v1/admin/orders/expire-holds", dependencies=[admin], responses={401: _REFUSAL})
    def expire_holds() -> dict[str, int]:
        """Expire holds past ``order_hold_s`` that no unsettled record cites."""
        return {"expired": orders.expire_holds(central)}

    return r
