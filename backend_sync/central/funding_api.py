"""``POST /v1/funding/linked``: which account a top-up would be paid from.

The kiosk names it on the top-up's confirm screen and receipt. The request is a
signed terminal call (:class:`backend_sync.services_wire.ServiceCallRequest`); for a
bank the funding provider says which account of the card it would charge, and only
its last four digits leave the central.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from backend_sync.central.api_rules import refusals
from backend_sync.central.funding import FundingAccount, FundingKind, UnknownFunding, mask_account
from backend_sync.central.providers import LinkedAccounts
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.funding_wire import LINKED_FUNDING, LinkedFunding
from backend_sync.services_wire import ServiceCallRequest

__all__ = ["funding_router", "linked_funding"]


def linked_funding(central: Central, req: ServiceCallRequest) -> LinkedFunding:
    """Answer one signed ``linked_funding`` call (Refused: 401 unsigned or stale, 422 a
    malformed call or funding, 404 ``no_linked_account``, 503 no funding provider)."""
    call = req.body
    with central.engine.connect() as conn:
        check_signed(central, conn, call.terminal_id,
                     call.model_dump(mode="json", exclude_none=True), req.signature)  # fmt: skip
    if call.service != LINKED_FUNDING or not call.asn:
        raise Refused(422, "bad_request", "a linked_funding call for a card")
    funding = call.params.get("funding", "bank")
    if not isinstance(funding, str):
        raise Refused(422, "unknown_funding", "funding must be text")
    try:
        account = FundingAccount.parse(funding, terminal_id=call.terminal_id)
    except UnknownFunding as exc:
        raise Refused(422, "unknown_funding", str(exc)) from exc
    if account.kind is not FundingKind.BANK:
        return LinkedFunding(kind=account.kind.value, provider=account.holder)
    provider = central.funding
    if provider is None:
        raise Refused(503, "funding_unavailable", "no funding provider configured")
    found = provider.linked(source=funding, asn=call.asn) if isinstance(
        provider, LinkedAccounts) else None  # fmt: skip
    if found is None:
        raise Refused(404, "no_linked_account")
    return LinkedFunding(kind="bank", provider=found.provider[:64],
                         account_masked=mask_account(found.number))  # fmt: skip


def funding_router(central: Central) -> APIRouter:
    """The route bound to one :class:`Central`."""
    router = APIRouter(tags=["funding"])

    @router.post("/v1/funding/linked", response_model=LinkedFunding,
                 responses=refusals(401, 403, 404, 409, 503))  # fmt: skip
    def linked(req: Annotated[ServiceCallRequest, Body()]) -> LinkedFunding:
        """The account a top-up of this card would be paid from, masked."""
        return linked_funding(central, req)

    return router
