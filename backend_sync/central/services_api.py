"""HTTP routes of the city services: ``POST /v1/services/{name}``, one per service.

Each takes a :class:`ServiceCallRequest` (signed by the terminal) and answers the
service's own model, so the OpenAPI schema documents every answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header

from backend_sync.central import bus_tickets, city_services, deposits, notices
from backend_sync.central.city_services import Service
from backend_sync.central.service import Central, Refused
from backend_sync.services_wire import ServiceCallRequest

__all__ = ["ALL_SERVICES", "services_router"]

ALL_SERVICES: dict[str, Service] = {
    **city_services.SERVICES,
    **bus_tickets.SERVICES,
    **deposits.SERVICES,
}


def services_router(central: Central) -> APIRouter:
    """The routes bound to one :class:`Central`."""
    router = APIRouter(tags=["services"])

    def route(name: str, svc: Service) -> None:
        def handler(req: Annotated[ServiceCallRequest, Body()]) -> Any:
            if req.body.service != name:
                raise Refused(422, "service_mismatch", req.body.service)
            return city_services.call_service(central, req, ALL_SERVICES)

        router.add_api_route(
            f"/v1/services/{name}",
            handler,
            methods=["POST"],
            response_model=svc.answer,
            name=f"service_{name}",
        )

    for name, svc in ALL_SERVICES.items():
        route(name, svc)

    @router.get("/v1/services")
    def catalog() -> dict[str, list[dict[str, object]]]:
        """The service calls this central answers, and whether each needs a card."""
        return {
            "services": [{"name": n, "needs_card": s.needs_card} for n, s in ALL_SERVICES.items()]
        }

    @router.post("/v1/admin/departments/notices")
    def deliver(authorization: Annotated[str, Header()] = "") -> dict[str, int]:
        """Send pending payment notices now (admin token)."""
        import hmac

        if not central.admin_token or not hmac.compare_digest(
            authorization, f"Bearer {central.admin_token}"
        ):
            raise Refused(401, "admin_token_required")
        return {"delivered": notices.deliver_paid_notices(central)}

    return router
