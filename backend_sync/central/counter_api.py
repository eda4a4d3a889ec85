"""HTTP routes of the counter station (docs/sync.md, "Counter operations").

Every route but the nonce and the station's events takes a request signed by the
counter terminal and by an operator card (:mod:`backend_sync.central.operators`);
every one the operator's signature got through is audited with the operator's card
number, accepted or refused; one refused before (a hotlisted operator card...) is a
counter event with the card number presented
(:mod:`backend_sync.central.counter_events`), as are the refusals the station decided
alone (``/events``). The operations themselves are :mod:`backend_sync.central.counter`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

from backend_sync.central import (
    counter,
    counter_close,
    counter_events,
    counter_replace,
    holder_index,
    issuance,
    operators,
)
from backend_sync.central.api_rules import refusals
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import (
    BlockCardRequest,
    CardFindRequest,
    CardLookupRequest,
    CardMatches,
    CardReport,
    CounterOp,
    CounterTopUpRequest,
    IssueCertifyRequest,
    IssueOpenRequest,
    IssueScript,
    IssueWriteRequest,
    Nonce,
    NonceRequest,
    OpBeginRequest,
    OpFinishRequest,
    PinResetAnswer,
    PinResetRequest,
    RefundBeginRequest,
    RefundFinishRequest,
    RefundState,
    ReplaceBeginRequest,
    ReplaceState,
    ReplaceTransferRequest,
    ShiftCloseRequest,
    ShiftOpenRequest,
    ShiftReport,
)
from backend_sync.station_events_wire import StationEventsAck, StationEventsRequest
from backend_sync.wire import LoadAuthorization

__all__ = ["counter_router"]

T = TypeVar("T")
_SIGNED = (401, 403, 404, 409, 503)


def counter_router(central: Central) -> APIRouter:
    """The counter's routes bound to one central."""
    r = APIRouter(prefix="/v1/counter", tags=["counter"])

    def run(req: Any, action: str, fn: Callable[[Operator], T], *, asn: str | None = None,
            op_id: str | None = None,
            supervised: Callable[[Operator, Operator | None], T] | None = None) -> T:  # fmt: skip
        try:
            op, sup = operators.check_request(
                central, req.body, req.signature, req.operator, supervisor=req.supervisor
            )
        except Refused as exc:
            central.count_refusal(exc.reason, req.body.terminal_id, exc.detail)
            # Refused before an operator was proven (a hotlisted operator card, a
            # citizen card...): in the counter audit with the card number presented.
            counter_events.record_refused_request(
                central, req.body.terminal_id, exc.reason, asn=req.operator.asn,
                detail=exc.detail,
            )  # fmt: skip
            raise
        try:
            out = supervised(op, sup) if supervised is not None else fn(op)
        except Refused as exc:
            operators.audit(central, op, action, exc.reason, asn=asn, op_id=op_id)
            raise
        operators.audit(central, op, action, "ok", asn=asn, op_id=op_id)
        return out

    @r.post("/nonce", response_model=Nonce, responses=refusals(403))
    def nonce(req: NonceRequest) -> Nonce:
        """A single-use nonce for the operator card to sign into one request."""
        return operators.issue_nonce(central, req.terminal_id)

    @r.post("/events", response_model=StationEventsAck, responses=refusals(401, 403, 409, 422))
    def station_events(req: StationEventsRequest) -> StationEventsAck:
        """Refusals the station decided alone (a wrong clerk PIN, a citizen card as
        clerk card, a locked session...), signed by the counter terminal's key, for
        the counter audit; numbered by the station (a replay is 409)."""
        try:
            return counter_events.record_station_events(central, req.body, req.signature)
        except Refused as exc:
            central.count_refusal(exc.reason, req.body.terminal_id, exc.detail)
            raise

    @r.post("/shifts/open", response_model=ShiftReport, responses=refusals(*_SIGNED))
    def shift_open(req: ShiftOpenRequest) -> ShiftReport:
        """Open a shift on a drawer with its float."""
        return run(req, "shift_open", lambda op: counter.open_shift(central, op, req.body))

    @r.post("/shifts/close", response_model=ShiftReport, responses=refusals(*_SIGNED))
    def shift_close(req: ShiftCloseRequest) -> ShiftReport:
        """Close a shift with the counted cash: the report against the ledger."""
        return run(req, "shift_close", lambda op: counter.close_shift(central, op, req.body))

    @r.post("/ops/begin", response_model=CounterOp, responses=refusals(*_SIGNED))
    def op_begin(req: OpBeginRequest) -> CounterOp:
        """Record an operation (idempotent; answers its current state)."""
        b = req.body
        return run(req, f"{b.kind}_begin", lambda op: counter.begin_op(central, op, b),
                   asn=b.asn, op_id=b.op_id)  # fmt: skip

    @r.post("/ops/topup", response_model=LoadAuthorization, responses=refusals(*_SIGNED))
    def op_topup(req: CounterTopUpRequest) -> LoadAuthorization:
        """A cash top-up's load: MAC1 checked, suspense from the drawer, MAC2."""
        b = req.body
        return run(req, "topup_load", lambda op: counter.topup_load(central, op, b),
                   asn=b.asn, op_id=b.op_id)  # fmt: skip

    @r.post("/ops/finish", response_model=CounterOp, responses=refusals(*_SIGNED))
    def op_finish(req: OpFinishRequest) -> CounterOp:
        """Close an operation done, or reversed (cash handed back)."""
        b = req.body
        return run(req, f"op_{b.outcome}", lambda op: counter.finish_op(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/issue/open", response_model=IssueScript, responses=refusals(*_SIGNED, 422))
    def issue_open(req: IssueOpenRequest) -> IssueScript:
        """Issue a card for an approved application: the number, MUTUAL AUTHENTICATE."""
        b = req.body
        return run(req, "issue_open", lambda op: issuance.issue_open(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/issue/write", response_model=IssueScript, responses=refusals(*_SIGNED))
    def issue_write(req: IssueWriteRequest) -> IssueScript:
        """The card's data, keys, PIN and PUK (encrypted), GENERATE KEY PAIR."""
        b = req.body
        return run(req, "issue_write", lambda op: issuance.issue_write(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/issue/certify", response_model=IssueScript, responses=refusals(*_SIGNED))
    def issue_certify(req: IssueCertifyRequest) -> IssueScript:
        """The certificate for the card's key, ACTIVATE; deposit and fee posted."""
        b = req.body
        return run(req, "issue_certify", lambda op: issuance.issue_certify(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/refund/begin", response_model=RefundState, responses=refusals(*_SIGNED))
    def refund_begin(req: RefundBeginRequest) -> RefundState:
        """Refund and close: the order the emptying purchase cites (supervisor above
        the configured amount)."""
        b = req.body
        return run(req, "refund_begin", lambda _op: None,  # type: ignore[return-value]
                   supervised=lambda op, sup: counter_close.refund_begin(central, op, sup, b),
                   asn=b.asn, op_id=b.op_id)  # fmt: skip

    @r.post("/refund/finish", response_model=RefundState, responses=refusals(*_SIGNED))
    def refund_finish(req: RefundFinishRequest) -> RefundState:
        """The balance (as the card's purchase proved it) and the deposit paid out of
        the drawer; the card terminated."""
        b = req.body
        return run(req, "refund_finish", lambda op: counter_close.refund_finish(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/replace/begin", response_model=ReplaceState, responses=refusals(*_SIGNED))
    def replace_begin(req: ReplaceBeginRequest) -> ReplaceState:
        """Replace a card: present (emptied by a counter purchase) or lost (after the
        quarantine); its balance carried to the new card."""
        b = req.body
        return run(req, "replace_begin", lambda op: counter_replace.replace_begin(central, op, b),
                   asn=b.asn, op_id=b.op_id)  # fmt: skip

    @r.post("/replace/transfer", response_model=ReplaceState, responses=refusals(*_SIGNED))
    def replace_transfer(req: ReplaceTransferRequest) -> ReplaceState:
        """Freeze the old card's balance into the carry; the old card terminated."""
        b = req.body
        return run(req, "replace_transfer",
                   lambda op: counter_replace.replace_transfer(central, op, b),
                   op_id=b.op_id)  # fmt: skip

    @r.post("/cards/pin", response_model=PinResetAnswer, responses=refusals(*_SIGNED, 422))
    def pin_reset(req: PinResetRequest) -> PinResetAnswer:
        """Reset a PIN: with the PUK at the card (audited), or RELOAD PIN authorized."""
        b = req.body
        return run(req, f"pin_{b.mode}", lambda op: issuance.reset_pin(central, op, b),
                   asn=b.asn)  # fmt: skip

    @r.post("/cards/status", responses=refusals(*_SIGNED))
    def card_status(req: BlockCardRequest) -> dict[str, int]:
        """Report loss, block, or unblock (with the card present) a card."""
        b = req.body
        return run(
            req, b.action,
            lambda op: {"hotlist_version": counter.block_card(
                central, op, b, req.operator.nonce, req.card)},
            asn=b.asn,
        )  # fmt: skip

    @r.post("/cards/lookup", response_model=CardReport, responses=refusals(*_SIGNED))
    def card_lookup(req: CardLookupRequest) -> CardReport:
        """A card's status, ledger history, loads in suspense and voided loads."""
        b = req.body
        return run(req, "lookup", lambda _op: counter.lookup_card(central, b), asn=b.asn)

    @r.post("/cards/find", response_model=CardMatches, responses=refusals(*_SIGNED))
    def card_find(req: CardFindRequest) -> CardMatches:
        """A citizen's cards by the holder's name or masked ID number."""
        b = req.body
        return run(req, "find", lambda _op: holder_index.find_cards(central, b))

    return r
