"""Rules every endpoint of the central's API follows, in one place (docs/sync.md,
"Refusals and limits"):

- every refusal is a 4xx JSON :class:`Refusal` ``{"reason", "detail"}`` with a stable
  reason: the central's own (:class:`~backend_sync.central.service.Refused`),
  FastAPI's validation (422 ``invalid_request``), a body that cannot be parsed (400
  ``malformed_body``), a body over the limit (413 ``body_too_large``);
- the request body limit is enforced while the body streams in (a declared
  ``Content-Length`` over it is refused before a byte is read), never after
  reading it whole;
- every status code an endpoint can answer is in the OpenAPI schema: a route
  declares its own refusals with ``responses=refusals(...)``, and
  :func:`document_rules` adds what every route can answer (422, and 400/413 where
  there is a body).

New endpoints follow them by declaring their refusals; nothing inside a handler.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend_sync.central.service import Refused

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyLimit",
    "Refusal",
    "document_rules",
    "install",
    "refusals",
]

# A batch of 5,000 records (the wire maximum) is about 3.5 MB.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

_REASONS = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed",
            413: "body_too_large"}  # fmt: skip


class Refusal(BaseModel):
    """Every 4xx answer: a stable ``reason`` code and a ``detail`` for people."""

    reason: str
    detail: Any = None


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the refusals it can answer, as :class:`Refusal`."""
    return {c: {"model": Refusal, "description": "refused (see reason)"} for c in codes}


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """ASGI middleware: at most ``max_bytes`` of request body, counted as it arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server itself refuses a malformed length
            if too_big:
                await _send_refusal(send, 413, "body_too_large", f"request body over {limit} bytes")
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return msg

        await self.app(scope, counted, send)


async def _send_refusal(send: Send, status: int, reason: str, detail: str) -> None:
    resp = JSONResponse({"reason": reason, "detail": detail}, status_code=status,
                        headers={"connection": "close"})  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": resp.raw_headers})
    await send({"type": "http.response.body", "body": resp.body})


def install(app: FastAPI, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Refusal handlers and the body limit on ``app``; the OpenAPI schema says so."""

    @app.exception_handler(Refused)
    async def _refused(_req: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"reason": exc.reason, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"reason": "invalid_request", "detail": errors}, status_code=422)

    @app.exception_handler(sa.exc.OperationalError)
    async def _db_down(_req: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        # The database went away (a primary failing over to its standby). A commit
        # cut off may or may not have happened; the terminal's retry is answered
        # from what the database holds (idempotent by terminal and seq).
        log.warning("%s %s: database unavailable: %s", _req.method, _req.url.path,
                    str(exc.orig or exc).partition("\n")[0])  # fmt: skip
        return JSONResponse({"reason": "database_unavailable", "detail": "retry later"},
                            status_code=503, headers={"retry-after": "1"})  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = _REASONS.get(exc.status_code, "refused")
        return JSONResponse({"reason": reason, "detail": str(exc.detail)},
                            status_code=exc.status_code, headers=exc.headers)  # fmt: skip

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)


def document_rules(schema: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation the refusals every route can answer: 422 (as a
    :class:`Refusal`, which is what is sent), 413, 400 when it takes a body, and
    401 on the admin routes."""
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    comps["Refusal"] = Refusal.model_json_schema()
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}}}
    for path, ops in schema.get("paths", {}).items():
        for op in ops.values():
            resp = op.setdefault("responses", {})
            if path.startswith("/v1/admin/"):
                # Every admin route sits behind the bearer-token check.
                resp.setdefault("401", {"description": "admin token required", **ref})
            resp["422"] = {"description": "invalid request (see reason)", **ref}
            resp["413"] = {"description": "body over the limit", **ref}
            resp.setdefault("503", {"description": "database unavailable: retry", **ref})
            if "requestBody" in op:
                resp["400"] = {"description": "body cannot be parsed", **ref}
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)
    return schema
