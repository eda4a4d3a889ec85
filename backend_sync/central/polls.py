"""Polls with one vote per card that nobody can link back to the card (docs/polls.md).

A department publishes a poll; the central makes one RSA key pair for it and
signs the poll document that names the public key, so every kiosk blinds under
the same key. A card that authenticates (certificate chained to the issuer CA,
a signature over this request's challenge) and is eligible gets one blind
signature (RFC 9474, :mod:`backend_sync.blindrsa`); a retry with the same blinded
message gets the same answer, any other blinded message for that card is
refused. Ballots arrive later, with no identity, in batches released at fixed
times; the central keeps only the spent token's hash and the choice. Totals and
the list of counted token hashes are published after the close, never before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from backend_sync import blindrsa, chain
from backend_sync.central import documents
from backend_sync.central.models import cards
from backend_sync.central.poll_models import poll_ballots, poll_tokens, polls
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.poll_wire import (
    BallotBatch,
    BallotResult,
    BallotsAccepted,
    PollResults,
    TokenGranted,
    TokenRequest,
    release_slot,
    token_challenge,
)
from backend_sync.wire import SignedDocument, record_dict
from cardlib.certs import Role, validate_card_certificate
from cardlib.errors import AuthenticationError

__all__ = [
    "ALGORITHM",
    "LANGUAGES",
    "cast_ballots",
    "close_poll",
    "create_poll",
    "issue_token",
    "poll_document",
    "poll_documents",
    "results",
]

log = logging.getLogger(__name__)

ALGORITHM = "RSABSSA-SHA384-PSS-Randomized"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
CARD_TZ = ZoneInfo("Asia/Shanghai")
_ID_RE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _texts(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        raise Refused(422, "bad_poll", f"{what} needs exactly the languages {LANGUAGES}")
    if not all(isinstance(v, str) and 0 < len(v) <= 500 for v in value.values()):
        raise Refused(422, "bad_poll", f"{what}: each text 1-500 characters")
    return {k: str(v) for k, v in value.items()}


def _int(spec: dict[str, Any], key: str, default: int | None = None) -> int:
    v = spec.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool):
        raise Refused(422, "bad_poll", f"{key} must be an integer")
    return v


def create_poll(central: Central, spec: dict[str, Any], *, key_bits: int = 2048) -> str:
    """Validate a poll spec, make its key pair and store its public document.

    ``spec``: ``poll_id`` (optional), ``department``, ``question`` and each of
    ``options`` as {zh-Hans, zh-Hant, en}, ``opens_ms``, ``closes_ms``,
    ``release_times_ms`` (fixed ballot release times inside the poll, the same for
    all kiosks; the close is always one), ``min_batch`` (a kiosk releases no fewer
    ballots than this before the close), and optional ``min_age`` / ``max_age``.
    """
    poll_id = str(spec.get("poll_id") or "P" + secrets.token_hex(8).upper())
    if not 0 < len(poll_id) <= 32 or not set(poll_id) <= _ID_RE_CHARS:
        raise Refused(422, "bad_poll", "poll_id: 1-32 letters, digits, _ or -")
    question = _texts(spec.get("question"), "question")
    raw_options = spec.get("options")
    if not isinstance(raw_options, list) or not 2 <= len(raw_options) <= 64:
        raise Refused(422, "bad_poll", "options: a list of 2-64 choices")
    options = [_texts(o, f"option {i}") for i, o in enumerate(raw_options)]
    opens, closes = _int(spec, "opens_ms"), _int(spec, "closes_ms")
    if closes <= opens:
        raise Refused(422, "bad_poll", "closes_ms must be after opens_ms")
    releases = spec.get("release_times_ms", [])
    if not isinstance(releases, list) or not all(
        isinstance(t, int) and opens < t < closes for t in releases
    ):
        raise Refused(422, "bad_poll", "release_times_ms: integers between opens and closes")
    min_batch = _int(spec, "min_batch", 10)
    if not 1 <= min_batch <= 1000:
        raise Refused(422, "bad_poll", "min_batch: 1-1000")
    eligibility: dict[str, int] = {}
    for k in ("min_age", "max_age"):
        if k in spec and spec[k] is not None:
            eligibility[k] = _int(spec, k)
    department = spec.get("department")
    if not isinstance(department, str) or not 0 < len(department) <= 64:
        raise Refused(422, "bad_poll", "department: 1-64 characters")
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    document = {
        "poll_id": poll_id,
        "department": department,
        "question": question,
        "options": options,
        "opens_ms": opens,
        "closes_ms": closes,
        "release_times_ms": sorted(set(releases)),
        "min_batch": min_batch,
        "eligibility": eligibility,
        "key": {"algorithm": ALGORITHM, "spki": spki.hex()},
    }
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    with central.engine.begin() as conn:
        if conn.execute(sa.select(polls.c.poll_id).where(polls.c.poll_id == poll_id)).first():
            raise Refused(409, "poll_exists", poll_id)
        conn.execute(
            polls.insert().values(
                poll_id=poll_id,
                document=chain.canonical(document).decode(),
                private_key_pem=pem,
                status="open",
                closed_ms=None,
            )
        )
    return poll_id


def _row(conn: sa.Connection, poll_id: str) -> Any:
    row = conn.execute(sa.select(polls).where(polls.c.poll_id == poll_id)).first()
    if row is None:
        raise Refused(404, "unknown_poll", poll_id)
    return row


def poll_document(central: Central, poll_id: str) -> SignedDocument:
    """The poll's public document, signed by the central (name "poll")."""
    with central.engine.connect() as conn:
        row = _row(conn, poll_id)
    body = json.loads(row.document)
    return documents.signed(central, "poll", 1, {**body, "status": row.status})


def poll_documents(central: Central) -> list[SignedDocument]:
    """Every poll that has not been closed, signed."""
    with central.engine.connect() as conn:
        ids = conn.execute(
            sa.select(polls.c.poll_id).where(polls.c.status == "open").order_by(polls.c.poll_id)
        ).scalars()
        wanted = list(ids)
    return [poll_document(central, p) for p in wanted]


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def issue_token(central: Central, req: TokenRequest) -> TokenGranted:
    """One blind signature per card per poll (idempotent for the same blinded message)."""
    b = req.body
    now = central.now_ms()
    with central.engine.begin() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
        row = _row(conn, b.poll_id)
        doc = json.loads(row.document)
        if row.status != "open" or now >= doc["closes_ms"]:
            raise Refused(409, "poll_closed", b.poll_id)
        if now < doc["opens_ms"]:
            raise Refused(409, "poll_not_open", b.poll_id)
        _check_card(central, conn, b.asn, b.card_cert, b.card_sig, token_challenge(
            poll_id=b.poll_id, asn=b.asn, blinded_msg=bytes.fromhex(b.blinded_msg), ts=b.ts
        ))  # fmt: skip
        _check_eligible(doc, b.birth_date)
        # The key was generated and validated here at creation; re-validating an RSA
        # key on every request costs more than the blind signature itself.
        key = serialization.load_pem_private_key(
            row.private_key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        blinded = bytes.fromhex(b.blinded_msg)
        digest = hashlib.sha256(blinded).hexdigest()
        issued = conn.execute(
            sa.select(poll_tokens.c.blinded_sha256, poll_tokens.c.blind_sig).where(
                poll_tokens.c.poll_id == b.poll_id, poll_tokens.c.asn == b.asn
            )
        ).first()
        if issued is not None:
            if issued.blinded_sha256 != digest:
                raise Refused(409, "token_already_issued", "this card already has its token")
            return TokenGranted(poll_id=b.poll_id, blind_sig=issued.blind_sig)
        try:
            sig = blindrsa.blind_sign(key, blinded).hex()
        except blindrsa.SigningFault as exc:
            # The central's fault, not the message's: the kiosk tries again.
            log.error("poll %s: %s", b.poll_id, exc)
            raise Refused(503, "signing_failure", str(exc)) from exc
        except blindrsa.BlindRsaError as exc:
            raise Refused(422, "bad_blinded_message", str(exc)) from exc
        conn.execute(
            poll_tokens.insert().values(
                poll_id=b.poll_id, asn=b.asn, blinded_sha256=digest, blind_sig=sig
            )
        )
    return TokenGranted(poll_id=b.poll_id, blind_sig=sig)


def _check_card(
    central: Central, conn: sa.Connection, asn: str, cert_hex: str, sig_hex: str, challenge: bytes
) -> None:
    if not central.card_cas:
        raise Refused(503, "no_issuer_ca", "the central has no issuer CA to check cards against")
    try:
        card = validate_card_certificate(
            bytes.fromhex(cert_hex), trusted=list(central.card_cas), asn=bytes.fromhex(asn),
            now=dt.datetime.fromtimestamp(central.now_ms() / 1000, dt.UTC), role=Role.CITIZEN,
        )  # fmt: skip
    except AuthenticationError as exc:
        raise Refused(403, "card_not_genuine", str(exc)) from exc
    try:
        card.public_key.verify(bytes.fromhex(sig_hex), challenge, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise Refused(403, "card_not_genuine", "the card did not sign this request") from exc
    status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == asn)).scalar()
    if status != "active":
        raise Refused(403, "card_not_active", asn)


def _check_eligible(doc: dict[str, Any], birth_date: str) -> None:
    try:
        birth = dt.date.fromisoformat(birth_date)
    except ValueError as exc:
        raise Refused(422, "bad_birth_date", birth_date) from exc
    opens = dt.datetime.fromtimestamp(doc["opens_ms"] / 1000, CARD_TZ).date()
    age = _age(birth, opens)
    rule = doc.get("eligibility", {})
    if "min_age" in rule and age < rule["min_age"]:
        raise Refused(403, "not_eligible", f"age {age} below {rule['min_age']}")
    if "max_age" in rule and age > rule["max_age"]:
        raise Refused(403, "not_eligible", f"age {age} above {rule['max_age']}")


def cast_ballots(central: Central, poll_id: str, batch: BallotBatch) -> BallotsAccepted:
    """Count a batch of anonymous ballots: each token's poll-key signature checked,
    each token spent once. Before the close a batch must hold at least the poll's
    ``min_batch`` ballots (a kiosk that sends one ballot at a time would reveal its
    voters by timing)."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = _row(conn, poll_id)
        if row.status != "open":
            raise Refused(409, "poll_closed", poll_id)
        doc = json.loads(row.document)
        if now < doc["opens_ms"]:
            raise Refused(409, "poll_not_open", poll_id)
        if now < doc["closes_ms"] and len(batch.ballots) < doc["min_batch"]:
            raise Refused(422, "batch_too_small", f"at least {doc['min_batch']} before the close")
        key = serialization.load_der_public_key(bytes.fromhex(doc["key"]["spki"]))
        assert isinstance(key, rsa.RSAPublicKey)
        slot = release_slot(doc, now)
        results: list[BallotResult] = []
        fresh: list[dict[str, Any]] = []
        seen: set[str] = set()
        for ballot in batch.ballots:
            prepared = bytes.fromhex(ballot.token)
            h = hashlib.sha256(prepared).hexdigest()
            if ballot.choice >= len(doc["options"]):
                results.append(BallotResult(token_sha256=h, result="bad_choice"))
            elif not blindrsa.verify(key, prepared, bytes.fromhex(ballot.sig)):
                results.append(BallotResult(token_sha256=h, result="bad_signature"))
            elif h in seen:
                results.append(BallotResult(token_sha256=h, result="duplicate"))
            else:
                seen.add(h)
                results.append(BallotResult(token_sha256=h, result="counted"))
                fresh.append(
                    {"poll_id": poll_id, "token_sha256": h, "choice": ballot.choice,
                     "release_slot": slot}
                )  # fmt: skip
        if fresh:
            spent = set(
                conn.execute(
                    sa.select(poll_ballots.c.token_sha256).where(
                        poll_ballots.c.poll_id == poll_id,
                        poll_ballots.c.token_sha256.in_([r["token_sha256"] for r in fresh]),
                    )
                ).scalars()
            )
            if spent:
                results = [
                    BallotResult(token_sha256=r.token_sha256, result="duplicate")
                    if r.result == "counted" and r.token_sha256 in spent
                    else r
                    for r in results
                ]
                fresh = [r for r in fresh if r["token_sha256"] not in spent]
            # Stored in hash order: PostgreSQL's heap must not keep the order the
            # kiosk sent (nor the order its voters voted in).
            fresh.sort(key=lambda r: str(r["token_sha256"]))
            if fresh:
                conn.execute(poll_ballots.insert(), fresh)
    return BallotsAccepted(results=results)


def close_poll(central: Central, poll_id: str, *, force: bool = False) -> None:
    """Close a poll (after its closing time, or early with ``force``): no more
    tokens or ballots; results become public."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = _row(conn, poll_id)
        if row.status == "closed":
            return
        if now < json.loads(row.document)["closes_ms"] and not force:
            raise Refused(409, "poll_still_running", "closing time not reached (force to close)")
        conn.execute(
            polls.update().where(polls.c.poll_id == poll_id).values(status="closed", closed_ms=now)
        )


def results(central: Central, poll_id: str) -> PollResults:
    """Totals and every counted token hash (sorted): only once the poll is closed."""
    with central.engine.connect() as conn:
        row = _row(conn, poll_id)
        if row.status != "closed":
            raise Refused(409, "poll_open", "results are hidden until the poll closes")
        doc = json.loads(row.document)
        totals = [0] * len(doc["options"])
        for choice, n in conn.execute(
            sa.select(poll_ballots.c.choice, sa.func.count())
            .where(poll_ballots.c.poll_id == poll_id)
            .group_by(poll_ballots.c.choice)
        ):
            totals[int(choice)] = int(n)
        hashes_ = list(
            conn.execute(
                sa.select(poll_ballots.c.token_sha256)
                .where(poll_ballots.c.poll_id == poll_id)
                .order_by(poll_ballots.c.token_sha256)
            ).scalars()
        )
    return PollResults(
        poll_id=poll_id, totals=totals, counted=sum(totals), counted_token_sha256=hashes_
    )
