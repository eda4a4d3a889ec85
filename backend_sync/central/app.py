"""The central's HTTP API (FastAPI; the OpenAPI schema is served at /openapi.json).

Terminals authenticate by signatures (batches and online requests), not by the
transport. Admin endpoints take the bearer token from the settings.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend_sync.central import bills, documents, ingest, loads, orders, reconcile, registry
from backend_sync.central.console.routes import console_router
from backend_sync.central.fleet_api import router as fleet_router
from backend_sync.central.polls_api import poll_router
from backend_sync.central.service import Central, Refused
from backend_sync.central.services_api import services_router
from backend_sync.wire import (
    Ack,
    AuthorizeLoadRequest,
    Batch,
    Bill,
    BillQueryRequest,
    HoldOrderRequest,
    LoadAuthorization,
    OrderHeld,
    SignedDocument,
)

__all__ = ["create_app"]


class EnrollTerminal(BaseModel):
    terminal_id: str
    cert_pem: str


class RegisterCard(BaseModel):
    asn: str
    algorithm: int
    key_version: int


class CardStatus(BaseModel):
    status: str


def create_app(central: Central) -> FastAPI:
    """The API bound to one :class:`Central`."""
    app = FastAPI(title="civicard central", version="1")
    app.include_router(fleet_router(central))  # heartbeats, fleet, support bundles

    @app.exception_handler(Refused)
    async def _refused(_req: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"reason": exc.reason, "detail": exc.detail}, status_code=exc.status)

    def admin(authorization: Annotated[str, Header()] = "") -> None:
        want = f"Bearer {central.admin_token}"
        if not central.admin_token or not hmac.compare_digest(authorization, want):
            raise Refused(401, "admin_token_required")

    Admin = Depends(admin)

    app.include_router(poll_router(central))
    app.include_router(console_router(central))
    app.include_router(services_router(central))  # city services (docs/services.md)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/batches", response_model=Ack)
    def upload(body: Annotated[bytes, Depends(_body)]) -> Ack:
        """Upload one signed, hash-chained batch (schema: Batch); answers the
        highest contiguous sequence the central holds."""
        return ingest.ingest_json(central, body)

    @app.post("/v1/orders/hold", response_model=OrderHeld)
    def hold(req: HoldOrderRequest) -> OrderHeld:
        return orders.hold_order(central, req)

    @app.post("/v1/bills/lookup", response_model=Bill)
    def bill(req: BillQueryRequest) -> Bill:
        """The oldest unpaid bill of an account at a payee, from the biller."""
        return bills.lookup_bill(central, req)

    @app.post("/v1/loads/authorize", response_model=LoadAuthorization)
    def authorize(req: AuthorizeLoadRequest) -> LoadAuthorization:
        return loads.authorize_load(central, req)

    @app.get("/v1/hotlist", response_model=SignedDocument)
    def hotlist(since: int = 0) -> SignedDocument:
        return documents.signed_hotlist(central, since)

    @app.get("/v1/documents/{name}", response_model=SignedDocument)
    def document(name: str) -> SignedDocument:
        return documents.signed_document(central, name)

    @app.get("/v1/time", response_model=SignedDocument)
    def time_(nonce: str) -> SignedDocument:
        return documents.signed_time(central, nonce[:64])

    @app.post("/v1/admin/terminals", dependencies=[Admin])
    def enroll(body: EnrollTerminal) -> dict[str, str]:
        registry.enroll_terminal(central, terminal_id=body.terminal_id, cert_pem=body.cert_pem)
        return {"terminal_id": body.terminal_id.upper()}

    @app.post("/v1/admin/cards", dependencies=[Admin])
    def register(body: RegisterCard) -> dict[str, str]:
        registry.register_card(
            central, asn=body.asn, algorithm=body.algorithm, key_version=body.key_version
        )
        return {"asn": body.asn.upper()}

    @app.post("/v1/admin/cards/{asn}/status", dependencies=[Admin])
    def card_status(asn: str, body: CardStatus) -> dict[str, int]:
        return {"hotlist_version": registry.set_card_status(central, asn=asn, status=body.status)}

    @app.post("/v1/admin/documents/{name}", dependencies=[Admin])
    def publish(name: str, body: dict[str, Any]) -> dict[str, int]:
        return {"version": documents.publish(central, name, body)}

    @app.post("/v1/admin/loads/void-expired", dependencies=[Admin])
    def void_expired() -> dict[str, int]:
        return {"voided": loads.void_expired(central)}

    @app.get("/v1/admin/stats", dependencies=[Admin])
    def stats() -> dict[str, Any]:
        return {"rejections": central.rejection_counts()}

    @app.get("/v1/admin/reconcile", dependencies=[Admin])
    def reconciliation() -> dict[str, Any]:
        return asdict(reconcile.reconcile(central))

    def openapi() -> dict[str, Any]:
        # The upload body is read raw (ingest hashes exactly what arrived), so its
        # schema is added by hand.
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            batch = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            comps.update(batch.pop("$defs", {}))
            comps["Batch"] = batch
            schema["paths"]["/v1/batches"]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}},
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _body(request: Request) -> bytes:
    return await request.body()
