"""HTTP routes of polls (mounted by :func:`backend_sync.central.app.create_app`).

The token route is terminal-signed; the ballot route takes no identity at all
and must not be logged with its client address (docs/polls.md, "What the
network still sees").
"""

from __future__ import annotations

from fastapi import APIRouter

from backend_sync.central import polls
from backend_sync.central.api_rules import refusals
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

# 401: the terminal's signature or clock; 403: card not genuine, not active or not
# eligible; 404: unknown poll; 409: closed / not open / token already issued / results
# hidden; 503: no issuer CA configured, or a signing fault (tried again).
_DOC = refusals(404)
_TOKEN = refusals(401, 403, 404, 409, 503)
_BALLOTS = refusals(404, 409)
_RESULTS = refusals(404, 409)


def poll_router(central: Central) -> APIRouter:
    """The poll routes bound to one central."""
    r = APIRouter()

    @r.get("/v1/polls", response_model=list[SignedDocument])
    def list_polls() -> list[SignedDocument]:
        """Every open poll's signed document (question, options, the poll's key)."""
        return polls.poll_documents(central)

    @r.get("/v1/polls/{poll_id}", response_model=SignedDocument, responses=_DOC)
    def get_poll(poll_id: str) -> SignedDocument:
        return polls.poll_document(central, poll_id)

    @r.post("/v1/polls/{poll_id}/tokens", response_model=TokenGranted, responses=_TOKEN)
    def token(poll_id: str, req: TokenRequest) -> TokenGranted:
        """A blind signature for this card's token (one per card per poll)."""
        if req.body.poll_id != poll_id:
            raise Refused(422, "poll_mismatch", "body names another poll")
        return polls.issue_token(central, req)

    @r.post("/v1/polls/{poll_id}/ballots", response_model=BallotsAccepted, responses=_BALLOTS)
    def ballots(poll_id: str, batch: BallotBatch) -> BallotsAccepted:
        """Anonymous ballots: no terminal, no card; each token spent once."""
        return polls.cast_ballots(central, poll_id, batch)

    @r.get("/v1/polls/{poll_id}/results", response_model=PollResults, responses=_RESULTS)
    def poll_results(poll_id: str) -> PollResults:
        """Totals and the counted token hashes, once the poll is closed."""
        return polls.results(central, poll_id)

    return r
