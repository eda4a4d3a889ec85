"""Wire schemas of polls, shared by the kiosk and the central (docs/polls.md).

Two requests, deliberately unlike each other: a token request is signed by the
terminal and carries the card's certificate and signature (who may vote is
checked here, once); a ballot batch carries no identity at all — no terminal,
no card, no signature but the poll key's own signature on each token.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Ballot",
    "BallotBatch",
    "BallotResult",
    "BallotsAccepted",
    "PollResults",
    "TokenGranted",
    "TokenRequest",
    "TokenRequestBody",
    "release_slot",
    "token_challenge",
]

Hex = Annotated[str, Field(pattern=r"^[0-9a-f]+$", max_length=2048)]
PollId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenRequestBody(_Model):
    """What the terminal signs: the blinded message and the card's proof of presence."""

    terminal_id: Annotated[str, Field(pattern=r"^[0-9A-F]{12}$")]
    poll_id: PollId
    asn: Annotated[str, Field(pattern=r"^[0-9A-F]{20}$")]
    birth_date: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    blinded_msg: Hex
    card_cert: Annotated[str, Field(pattern=r"^[0-9a-f]+$", max_length=4096)]
    card_sig: Annotated[str, Field(pattern=r"^[0-9a-f]+$", max_length=200)]
    ts: int = Field(description="terminal clock, Unix ms; also inside the card's challenge")


class TokenRequest(_Model):
    body: TokenRequestBody
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class TokenGranted(_Model):
    poll_id: str
    blind_sig: str


class Ballot(_Model):
    """One vote: the prepared token (prefix ‖ token), its finalized signature, a choice."""

    token: Annotated[str, Field(pattern=r"^[0-9a-f]{64,256}$")]
    sig: Hex
    choice: Annotated[int, Field(ge=0, le=63)]


class BallotBatch(_Model):
    ballots: Annotated[list[Ballot], Field(min_length=1, max_length=5000)]


class BallotResult(_Model):
    token_sha256: str
    result: str  # counted | duplicate | bad_signature | bad_choice


class BallotsAccepted(_Model):
    results: list[BallotResult]


class PollResults(_Model):
    poll_id: str
    totals: list[int]
    counted: int
    counted_token_sha256: list[str]


def token_challenge(*, poll_id: str, asn: str, blinded_msg: bytes, ts: int) -> bytes:
    """The 32 bytes the card signs (INTERNAL AUTHENTICATE) for a token request:
    binds the card's presence to this poll, this blinded message and this moment."""
    h = hashlib.sha256(b"civicard poll token v1\x00")
    h.update(poll_id.encode() + b"\x00" + bytes.fromhex(asn) + ts.to_bytes(8, "big"))
    h.update(blinded_msg)
    return h.digest()


def release_slot(doc: dict[str, Any], now_ms: int) -> int:
    """Which ballot release a poll is in at ``now_ms``: 0 before its first fixed
    release time, one more per release time passed, and ``len + 1`` from the close
    on. Kiosks release only when the slot moves on; the central stamps each ballot
    with the slot it arrived in and nothing finer."""
    slot = sum(1 for t in doc["release_times_ms"] if t <= now_ms)
    return slot + (1 if now_ms >= doc["closes_ms"] else 0)
