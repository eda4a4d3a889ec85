"""The central's HTTP API (FastAPI; the OpenAPI schema is served at /openapi.json).

Terminals authenticate by signatures (batches and online requests), not by the
transport. Admin endpoints take the bearer token from the settings. Refusals,
the body limit and their place in the schema are :mod:`backend_sync.central.api_rules`;
each route declares the refusals it can answer with ``responses=refusals(...)``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from backend_sync.central import bills, documents, ingest, loads, orders, reconcile, registry
from backend_sync.central.api_rules import document_rules, install, refusals
from backend_sync.central.console.routes import console_router
from backend_sync.central.counter_api import counter_router
from backend_sync.central.feedback.api import feedback_router
from backend_sync.central.feedback.open311 import open311_router
from backend_sync.central.fleet_api import router as fleet_router
from backend_sync.central.ledger_api import ledger_router
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


_HEX_TID = r"^[0-9A-Fa-f]{12}$"
_HEX_ASN = r"^[0-9A-Fa-f]{20}$"
TerminalId = Annotated[str, Path(pattern=_HEX_TID, description="terminal id, 12 hex digits")]
AsnPath = Annotated[str, Path(pattern=_HEX_ASN, description="card ASN, 20 hex digits")]
Nonce = Annotated[str, Query(min_length=1, max_length=64)]


class _Admin(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrollTerminal(_Admin):
    terminal_id: str = Field(pattern=_HEX_TID)
    cert_pem: str = Field(min_length=1, max_length=16_384)


class RegisterCard(_Admin):
    asn: str = Field(pattern=_HEX_ASN)
    algorithm: Literal[0, 4] = Field(description="0 triple DES, 4 SM4")
    key_version: int = Field(ge=0, le=255)


class RevokeTerminal(_Admin):
    reason: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")


class CardStatus(_Admin):
    status: Literal["active", "blocked", "terminated"]


def create_app(central: Central, *, max_body_bytes: int | None = None) -> FastAPI:
    """The API bound to one :class:`Central` (request bodies at most
    ``max_body_bytes``, else the central's setting)."""
    app = FastAPI(title="civicard central", version="1")
    install(app, max_body_bytes=max_body_bytes or central.max_body_bytes)
    app.include_router(fleet_router(central))  # heartbeats, fleet, support bundles

    def admin(authorization: Annotated[str, Header()] = "") -> None:
        want = f"Bearer {central.admin_token}"
        if not central.admin_token or not hmac.compare_digest(authorization, want):
            raise Refused(401, "admin_token_required")

    Admin = Depends(admin)
    signed = refusals(401, 403, 409)  # online requests: signature, enrollment, freshness

    app.include_router(poll_router(central))
    app.include_router(console_router(central))
    app.include_router(ledger_router(central, Admin))
    app.include_router(feedback_router(central))
    app.include_router(open311_router(central))
    app.include_router(services_router(central))  # city services (docs/services.md)
    app.include_router(counter_router(central))  # the clerk's counter station

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/batches", response_model=Ack, responses=refusals(401, 403, 409, 503))
    def upload(body: Annotated[bytes, Depends(_body)]) -> Ack:
        """Upload one signed, hash-chained batch (schema: Batch); answers the
        highest contiguous sequence the central holds."""
        return ingest.ingest_json(central, body)

    @app.post("/v1/orders/hold", response_model=OrderHeld, responses=signed)
    def hold(req: HoldOrderRequest) -> OrderHeld:
        return orders.hold_order(central, req)

    @app.post("/v1/bills/lookup", response_model=Bill, responses=refusals(401, 403, 404, 503))
    def bill(req: BillQueryRequest) -> Bill:
        """The oldest unpaid bill of an account at a payee, from the biller."""
        return bills.lookup_bill(central, req)

    @app.post(
        "/v1/loads/authorize", response_model=LoadAuthorization, responses=refusals(401, 403, 409)
    )
    def authorize(req: AuthorizeLoadRequest) -> LoadAuthorization:
        return loads.authorize_load(central, req)

    @app.get("/v1/hotlist", response_model=SignedDocument)
    def hotlist(since: Annotated[int, Query(ge=0, le=2**62)] = 0) -> SignedDocument:
        return documents.signed_hotlist(central, since)

    @app.get("/v1/documents/{name}", response_model=SignedDocument, responses=refusals(404))
    def document(name: str) -> SignedDocument:
        return documents.signed_document(central, name)

    @app.get("/v1/time", response_model=SignedDocument)
    def time_(nonce: Nonce) -> SignedDocument:
        return documents.signed_time(central, nonce)

    @app.get(
        "/v1/terminals/{terminal_id}/head", response_model=SignedDocument, responses=refusals(404)
    )
    def terminal_head(terminal_id: TerminalId, nonce: Nonce) -> SignedDocument:
        """The terminal's acknowledged head (seq, hash), signed, echoing the nonce."""
        return documents.signed_terminal_head(central, terminal_id, nonce)

    @app.post("/v1/admin/terminals", dependencies=[Admin], responses=refusals(401, 409))
    def enroll(body: EnrollTerminal) -> dict[str, str]:
        registry.enroll_terminal(central, terminal_id=body.terminal_id, cert_pem=body.cert_pem)
        return {"terminal_id": body.terminal_id.upper()}

    @app.post(
        "/v1/admin/terminals/{terminal_id}/revoke",
        dependencies=[Admin],
        responses=refusals(401, 404),
    )
    def revoke(terminal_id: TerminalId, body: RevokeTerminal) -> dict[str, object]:
        """Revoke a terminal: later uploads refused and flagged, earlier ones kept."""
        seq = registry.revoke_terminal(central, terminal_id=terminal_id, reason=body.reason)
        return {"terminal_id": terminal_id.upper(), "status": "revoked", "acked_seq": seq}

    @app.post("/v1/admin/cards", dependencies=[Admin], responses=refusals(401, 409))
    def register(body: RegisterCard) -> dict[str, str]:
        registry.register_card(
            central, asn=body.asn, algorithm=body.algorithm, key_version=body.key_version
        )
        return {"asn": body.asn.upper()}

    @app.post(
        "/v1/admin/cards/{asn}/status", dependencies=[Admin], responses=refusals(401, 404, 409)
    )
    def card_status(asn: AsnPath, body: CardStatus) -> dict[str, int]:
        return {"hotlist_version": registry.set_card_status(central, asn=asn, status=body.status)}

    @app.post("/v1/admin/documents/{name}", dependencies=[Admin], responses=refusals(401, 404))
    def publish(name: str, body: dict[str, Any]) -> dict[str, int]:
        return {"version": documents.publish(central, name, body)}

    @app.post("/v1/admin/loads/void-expired", dependencies=[Admin], responses=refusals(401))
    def void_expired() -> dict[str, int]:
        return {"voided": loads.void_expired(central)}

    @app.get("/v1/admin/stats", dependencies=[Admin], responses=refusals(401))
    def stats() -> dict[str, Any]:
        return {"rejections": central.rejection_counts()}

    @app.get("/v1/admin/reconcile", dependencies=[Admin], responses=refusals(401))
    def reconciliation() -> dict[str, Any]:
        return reconcile.reconcile(central).to_json()

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
            app.openapi_schema = document_rules(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _body(request: Request) -> bytes:
    return await request.body()
