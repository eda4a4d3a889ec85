"""HTTP routes of polls (mounted by :func:`backend_sync.central.app.create_app`).

The token route is terminal-signed; the ballot route takes no identity at all
and must not be logged with its client address (docs/polls.md, "What the
network still sees").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend_sync.central import polls
from backend_sync.central.service import Central, Refused
from backend_sync.poll_wire import (
    BallotBatch,
    BallotsAccepted,
    PollResults,
    TokenGranted,
    TokenRequest,
)
from backend_sync.wire import SignedDocument

__all__ = ["poll_router"]

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "card not genuine, not active or not eligible"},
    404: {"description": "unknown poll"},
    409: {"description": "poll closed / not open / token already issued / results hidden"},
    422: {"description": "malformed request or ballot batch too small"},
}


def poll_router(central: Central) -> APIRouter:
    """The poll routes bound to one central."""
    r = APIRouter()

    @r.get("/v1/polls", response_model=list[SignedDocument])
    def list_polls() -> list[SignedDocument]:
        """Every open poll's signed document (question, options, the poll's key)."""
        return polls.poll_documents(central)

    @r.get("/v1/polls/{poll_id}", response_model=SignedDocument, responses=_REFUSALS)
    def get_poll(poll_id: str) -> SignedDocument:
        return polls.poll_document(central, poll_id)

    @r.post("/v1/polls/{poll_id}/tokens", response_model=TokenGranted, responses=_REFUSALS)
    def token(poll_id: str, req: TokenRequest) -> TokenGranted:
        """A blind signature for this card's token (one per card per poll)."""
        if req.body.poll_id != poll_id:
            raise Refused(422, "poll_mismatch", "body names another poll")
        return polls.issue_token(central, req)

    @r.post("/v1/polls/{poll_id}/ballots", response_model=BallotsAccepted, responses=_REFUSALS)
    def ballots(poll_id: str, batch: BallotBatch) -> BallotsAccepted:
        """Anonymous ballots: no terminal, no card; each token spent once."""
        return polls.cast_ballots(central, poll_id, batch)

    @r.get("/v1/polls/{poll_id}/results", response_model=PollResults, responses=_REFUSALS)
    def poll_results(poll_id: str) -> PollResults:
        """Totals and the counted token hashes, once the poll is closed."""
        return polls.results(central, poll_id)

    return r
