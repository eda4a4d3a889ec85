"""Operator identity at the central: the central's single-use nonces, the operator
card's signature of one request, and the audit of every counter action.

A counter request (``backend_sync.counter_wire``) is accepted only when

1. the counter terminal signed it (enrolled, active, fresh: :func:`check_signed`);
2. the operator's certificate chains to an issuer CA the central trusts, is valid
   now, names the ASN and carries an allowed operator role (a citizen card is no
   operator: 403 ``not_an_operator``; a clerk where a supervisor is needed: 403
   ``operator_role``);
3. the operator card is registered and not hotlisted (403 ``operator_card_blocked``);
4. the nonce is the central's, issued to this terminal, unexpired and unused — it is
   spent here, in its own transaction, so a replay of the same request is 409
   ``nonce_used``;
5. the card's signature verifies over ``OPERATOR_SIGN_TAG ‖ SHA-256(nonce ‖
   canonical(body))`` (401 ``bad_operator_signature``): a signature taken for one
   request is worth nothing for another.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import BaseModel

from backend_sync.central.counter_models import counter_audit, operator_nonces
from backend_sync.central.models import cards
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.counter_wire import Nonce, OperatorProof, operator_digest
from backend_sync.wire import record_dict
from cardlib.certs import OPERATOR_SIGN_TAG, Role, validate_card_certificate
from cardlib.errors import AuthenticationError

__all__ = ["CLERKS", "SUPERVISORS", "Operator", "audit", "check_request", "issue_nonce"]

CLERKS = frozenset({Role.CLERK, Role.SUPERVISOR})  # a supervisor may do a clerk's work
SUPERVISORS = frozenset({Role.SUPERVISOR})
NONCE_TTL_S = 120  # a nonce is asked for just before the card signs


@dataclass(frozen=True)
class Operator:
    """The operator a request was proven to come from."""

    asn: str
    number: str  # the card number in the certificate (the audit's name for them)
    role: Role
    terminal_id: str


def issue_nonce(central: Central, terminal_id: str) -> Nonce:
    """A fresh single-use nonce for an enrolled, active terminal."""
    tid = terminal_id.upper()
    nonce = secrets.token_hex(16).upper()
    now = central.now_ms()
    with central.engine.begin() as conn:
        central.terminal_key(conn, tid)  # 403 for an unknown or revoked terminal
        conn.execute(
            operator_nonces.delete().where(operator_nonces.c.created_ms < now - 86_400_000)
        )
        conn.execute(operator_nonces.insert().values(nonce=nonce, terminal_id=tid, created_ms=now))
    return Nonce(nonce=nonce, expires_ms=now + NONCE_TTL_S * 1000)


def _spend_nonce(central: Central, nonce: str, terminal_id: str) -> None:
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = conn.execute(
            sa.select(operator_nonces).where(operator_nonces.c.nonce == nonce)
        ).first()
        if row is None or row.terminal_id != terminal_id:
            raise Refused(401, "unknown_nonce", "ask the central for a nonce first")
        if row.created_ms < now - NONCE_TTL_S * 1000:
            raise Refused(401, "nonce_expired")
        spent = conn.execute(
            operator_nonces.update()
            .where(operator_nonces.c.nonce == nonce, operator_nonces.c.used_ms.is_(None))
            .values(used_ms=now)
        ).rowcount
        if spent != 1:
            raise Refused(409, "nonce_used", "one signature authorizes one request")


def _operator(
    central: Central, body: BaseModel, proof: OperatorProof, roles: Collection[Role], tid: str
) -> Operator:
    if not central.card_cas:
        raise Refused(503, "no_issuer_ca", "the central has no issuer CA to check cards against")
    try:
        card = validate_card_certificate(
            bytes.fromhex(proof.certificate), trusted=list(central.card_cas),
            asn=bytes.fromhex(proof.asn), now=central.now_utc(), role=None,
        )  # fmt: skip
    except (AuthenticationError, ValueError) as exc:
        raise Refused(403, "operator_not_genuine", str(exc)[:200]) from exc
    if not card.role.is_operator:
        raise Refused(403, "not_an_operator", f"a {card.role.value} card")
    if card.role not in roles:
        raise Refused(403, "operator_role", f"a {card.role.value} card may not do this")
    with central.engine.connect() as conn:
        status = conn.execute(sa.select(cards.c.status).where(cards.c.asn == proof.asn)).scalar()
    if status != "active":
        raise Refused(403, "operator_card_blocked", proof.asn)
    _spend_nonce(central, proof.nonce, tid)
    message = OPERATOR_SIGN_TAG + operator_digest(proof.nonce, body)
    try:
        card.public_key.verify(bytes.fromhex(proof.signature), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise Refused(401, "bad_operator_signature", "not signed for this request") from exc
    return Operator(proof.asn, _card_number(card.certificate), card.role, tid)


def _card_number(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value)[:32] if names else ""


def check_request(
    central: Central,
    body: BaseModel,
    signature: str,
    proof: OperatorProof,
    *,
    roles: Collection[Role] = CLERKS,
    supervisor: OperatorProof | None = None,
    need_supervisor: bool = False,
) -> tuple[Operator, Operator | None]:
    """The checks of the module doc; returns the operator (and the supervisor when
    one signed too). ``need_supervisor`` without a supervisor's proof: 403
    ``supervisor_required``."""
    tid = str(getattr(body, "terminal_id", "")).upper()
    with central.engine.begin() as conn:
        check_signed(central, conn, tid, record_dict(body), signature)
    op = _operator(central, body, proof, roles, tid)
    sup = None
    if supervisor is not None:
        sup = _operator(central, body, supervisor, SUPERVISORS, tid)
        if sup.asn == op.asn:
            raise Refused(403, "same_person", "the supervisor is another person")
    if need_supervisor and sup is None:
        raise Refused(403, "supervisor_required")
    return op, sup


def audit(
    central: Central,
    op: Operator,
    action: str,
    outcome: str,
    *,
    asn: str | None = None,
    op_id: str | None = None,
) -> None:
    """One line of the counter audit, in its own transaction (it outlives a refusal)."""
    with central.engine.begin() as conn:
        conn.execute(
            counter_audit.insert().values(
                at_ms=central.now_ms(), terminal_id=op.terminal_id, operator_asn=op.asn,
                operator_number=op.number, role=op.role.value, action=action, asn=asn,
                op_id=op_id, outcome=outcome[:64],
            )
        )  # fmt: skip
