"""The kiosk's side of polls: the poll document, the token request, the ballot box.

A ballot must carry no identity, so it never enters the outbox (signed by the
terminal key, numbered, hash-chained: exactly the identity a ballot must not
have). It waits in its own small SQLite file, the ballot box, and leaves only
when the poll's release slot moves on (fixed times, the same for all kiosks) with
at least the poll's minimum batch, or at the close — shuffled, through an
unauthenticated request that names nothing but the poll.

The blinding secret lives in memory for the one session that votes: a kiosk that
dies between the token and the ballot loses that vote rather than keeping the
card number beside the blinding secret on its disk (docs/polls.md).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend_sync.engine import make_engine
from backend_sync.poll_wire import (
    Ballot,
    BallotBatch,
    BallotsAccepted,
    TokenGranted,
    TokenRequest,
    TokenRequestBody,
    release_slot,
    token_challenge,
)
from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from backend_sync.wire import SignedDocument

__all__ = [
    "BallotBox",
    "PollError",
    "PollInfo",
    "Vote",
    "anonymous_sender",
    "cast_vote",
    "fetch_poll",
]

ALGORITHM = "RSABSSA-SHA384-PSS-Randomized"


class PollError(Exception):
    """A poll step the kiosk refuses: a bad document, a key that is not the
    document's, a signer answer that does not verify."""


@dataclass(frozen=True)
class PollInfo:
    """A poll as its signed document states it (verified before use)."""

    poll_id: str
    document: dict[str, Any]
    key: rsa.RSAPublicKey

    @classmethod
    def from_document(cls, sd: SignedDocument) -> PollInfo:
        """From a document already checked against the central's key
        (:meth:`CentralClient._verified` did): the key is the one it names."""
        doc = dict(sd.payload)
        if doc.get("name") != "poll" or doc.get("key", {}).get("algorithm") != ALGORITHM:
            raise PollError("not a poll document of RSABSSA-SHA384-PSS-Randomized")
        try:
            key = serialization.load_der_public_key(bytes.fromhex(doc["key"]["spki"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PollError(f"poll key unreadable: {exc}") from exc
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise PollError("poll key is not an RSA key of at least 2048 bits")
        return cls(str(doc["poll_id"]), doc, key)

    def key_fingerprint(self) -> str:
        """SHA-256 of the poll key (printed on the receipt, to compare with the notice)."""
        return hashlib.sha256(bytes.fromhex(self.document["key"]["spki"])).hexdigest()


def fetch_poll(client: CentralClient, poll_id: str) -> PollInfo:
    """The poll's document, its signature checked against the central's pinned key."""
    doc = client._send("GET", f"/v1/polls/{poll_id}")
    return PollInfo.from_document(client._verified(doc, "poll"))


@dataclass(frozen=True)
class Vote:
    """A finalized, unspent token with its choice; ``receipt_hash`` is what the
    citizen's receipt shows and the public list will contain."""

    poll_id: str
    token: bytes
    sig: bytes
    choice: int

    @property
    def receipt_hash(self) -> str:
        return hashlib.sha256(self.token).hexdigest()


def cast_vote(
    client: CentralClient,
    poll: PollInfo,
    *,
    asn: str,
    birth_date: str,
    card_cert: bytes,
    card_sign: Callable[[bytes], bytes],
    choice: int,
    attempts: int = 3,
) -> Vote:
    """Get this card's token signed blind and finalize it.

    ``card_sign`` is the card's INTERNAL AUTHENTICATE (the kiosk verified the PIN
    first). A lost answer is retried with the same blinded message, which the
    central answers identically; a signature that does not verify under the
    document's key, or a central refusing a blinded message made under it (a
    central signing with another key), raises :class:`PollError`.
    """
    if not 0 <= choice < len(poll.document["options"]):
        raise PollError("no such option")
    from backend_sync import blindrsa  # here: gmpy2 loads only when someone votes

    prepared = blindrsa.prepare(secrets.token_bytes(32))
    blinded = blindrsa.blind(poll.key, prepared)
    ts = client._now_ms()
    challenge = token_challenge(
        poll_id=poll.poll_id, asn=asn.upper(), blinded_msg=blinded.blinded_msg, ts=ts
    )
    body = TokenRequestBody(
        terminal_id=client.terminal_id,
        poll_id=poll.poll_id,
        asn=asn.upper(),
        birth_date=birth_date,
        blinded_msg=blinded.blinded_msg.hex(),
        card_cert=card_cert.hex(),
        card_sig=card_sign(challenge).hex(),
        ts=ts,
    )
    last: Exception | None = None
    for _ in range(attempts):
        try:
            granted = TokenGranted.model_validate(
                client._signed_post(f"/v1/polls/{poll.poll_id}/tokens", body, TokenRequest)
            )
            break
        except CentralUnavailable as exc:
            last = exc
        except CentralRefused as exc:
            if exc.reason == "bad_blinded_message":
                # blind() made it under the document's key (its length, below its
                # modulus): a central that finds it malformed holds another key (of
                # another length, or a modulus below the message). Which way a
                # swapped key fails depends on the two moduli; both are a key swap.
                # (A fault in the central's own signing is a 503: tried again.)
                raise PollError(f"the central refused a message made under the poll's key: "
                                f"{exc.detail}") from exc  # fmt: skip
            raise
    else:
        raise last or CentralUnavailable("token request failed")
    try:
        sig = blindrsa.finalize(poll.key, prepared, bytes.fromhex(granted.blind_sig), blinded.inv)
    except (blindrsa.BlindRsaError, ValueError) as exc:
        raise PollError(f"the central's signature is not under the poll's key: {exc}") from exc
    return Vote(poll.poll_id, prepared, sig, choice)


_meta = sa.MetaData()
_queued = sa.Table(
    "queued",
    _meta,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("token", sa.String(256), primary_key=True),
    sa.Column("sig", sa.Text, nullable=False),
    sa.Column("choice", sa.SmallInteger, nullable=False),
    sqlite_with_rowid=False,  # storage order = token order, not casting order
)
_released = sa.Table(
    "released",
    _meta,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("slot", sa.Integer, nullable=False),
)


class BallotBox:
    """Finalized ballots waiting for their poll's next release (SQLite, WAL, FULL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = make_engine(f"sqlite:///{path}")
        _meta.create_all(self.engine)

    def put(self, vote: Vote) -> None:
        """Keep a ballot until release (durable before the citizen sees the receipt)."""
        with self.engine.begin() as conn:
            conn.execute(
                _queued.insert().values(
                    poll_id=vote.poll_id, token=vote.token.hex(), sig=vote.sig.hex(),
                    choice=vote.choice,
                )
            )  # fmt: skip

    def waiting(self, poll_id: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(_queued)
                    .where(_queued.c.poll_id == poll_id)
                ).scalar_one()
            )

    def release_due(
        self,
        poll: PollInfo,
        now_ms: int,
        send: Callable[[str, BallotBatch], BallotsAccepted],
    ) -> int:
        """Send this poll's ballots if its release slot moved on since the last
        release and there are at least ``min_batch`` of them (any number from the
        close on). Returns how many left; they are deleted only once the central
        answered (a ballot it already counted answers "duplicate": also done)."""
        slot = release_slot(poll.document, now_ms)
        with self.engine.connect() as conn:
            done = conn.execute(
                sa.select(_released.c.slot).where(_released.c.poll_id == poll.poll_id)
            ).scalar()
            rows = conn.execute(
                sa.select(_queued.c.token, _queued.c.sig, _queued.c.choice).where(
                    _queued.c.poll_id == poll.poll_id
                )
            ).all()
        closing = now_ms >= poll.document["closes_ms"]
        if not rows or (done is not None and slot <= done and not closing) or slot == 0:
            return 0
        if len(rows) < poll.document["min_batch"] and not closing:
            return 0
        ballots = [Ballot(token=r.token, sig=r.sig, choice=r.choice) for r in rows]
        random.SystemRandom().shuffle(ballots)
        answer = send(poll.poll_id, BallotBatch(ballots=ballots))
        finished = {r.token_sha256 for r in answer.results if r.result in ("counted", "duplicate")}
        with self.engine.begin() as conn:
            for r in rows:
                if hashlib.sha256(bytes.fromhex(r.token)).hexdigest() in finished:
                    conn.execute(
                        _queued.delete().where(
                            _queued.c.poll_id == poll.poll_id, _queued.c.token == r.token
                        )
                    )
            conn.execute(_released.delete().where(_released.c.poll_id == poll.poll_id))
            conn.execute(_released.insert().values(poll_id=poll.poll_id, slot=slot))
        return len(finished)


def anonymous_sender(
    base_url: str, *, timeout: float = 15.0
) -> Callable[[str, BallotBatch], BallotsAccepted]:
    """POST ballots with no terminal identity: a fresh connection, no signature, no
    headers beyond HTTP's own (no keep-alive shared with the signed client)."""

    def send(poll_id: str, batch: BallotBatch) -> BallotsAccepted:
        try:
            with httpx.Client(base_url=base_url, timeout=timeout) as http:
                resp = http.post(f"/v1/polls/{poll_id}/ballots", json=batch.model_dump(mode="json"))
        except httpx.HTTPError as exc:
            raise CentralUnavailable(f"ballots: {exc!r}") from exc
        if resp.status_code >= 500:
            raise CentralUnavailable(f"ballots: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            try:
                reason = str(resp.json().get("reason", "refused"))
            except ValueError:
                reason = "refused"
            raise CentralRefused(resp.status_code, reason, resp.text[:300])
        return BallotsAccepted.model_validate(resp.json())

    return send
