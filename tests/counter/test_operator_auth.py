"""Operator identity at the central: one card signature authorizes exactly one
request; citizens' cards, strangers' certificates, hotlisted operator cards and a
card without its PIN verified are refused with a clear 4xx."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import registry
from backend_sync.counter_wire import CardLookup, CardLookupRequest, OperatorProof, operator_digest
from backend_sync.wire import record_dict
from cardlib.apdu import ApduSession
from cardlib.certs import OPERATOR_SIGN_TAG, Role, issue_card_certificate, public_point
from cardlib.errors import AccessDeniedError, ApduError
from cardlib.identity import Identity
from cardlib.purse import Purse
from kiosk.counter import OperatorCard
from kiosk.demo.issuer import Issuer
from tests.counter.conftest import COUNTER_TID, Counter


def _lookup_body(asn: str) -> CardLookup:
    return CardLookup(terminal_id=COUNTER_TID, ts=int(dt.datetime.now(dt.UTC).timestamp() * 1000),
                      asn=asn)  # fmt: skip


def _nonce(k: Counter) -> str:
    r = httpx.post(f"{k.server.url}/v1/counter/nonce", json={"terminal_id": COUNTER_TID})
    assert r.status_code == 200
    return str(r.json()["nonce"])


def _request(k: Counter, body: CardLookup, proof: OperatorProof) -> dict[str, Any]:
    sig = chain.sign(k.terminal.key, chain.canonical(record_dict(body)))
    req = CardLookupRequest(body=body, signature=sig, operator=proof)
    return req.model_dump(mode="json", exclude_none=True)


def _post(k: Counter, doc: dict[str, Any]) -> tuple[int, str]:
    r = httpx.post(f"{k.server.url}/v1/counter/cards/lookup", json=doc)
    return r.status_code, str(r.json().get("reason", "ok"))


def _signed_by_card(k: Counter, op: OperatorCard, body: CardLookup) -> OperatorProof:
    nonce = _nonce(k)
    sig = op.sign(operator_digest(nonce, body))
    return OperatorProof(asn=op.asn, certificate=op.certificate.hex().upper(), nonce=nonce,
                         signature=sig.hex().upper())  # fmt: skip


def test_a_signature_authorizes_exactly_one_request(counter: Counter) -> None:
    k = counter
    op = k.login().operator
    a, b = k.card("citizen", 0).asn, k.card("citizen", 1).asn
    body_a = _lookup_body(a)
    proof = _signed_by_card(k, op, body_a)
    assert _post(k, _request(k, body_a, proof)) == (200, "ok")
    assert _post(k, _request(k, body_a, proof)) == (409, "nonce_used")  # replayed as is
    # The same card signature (a fresh nonce stolen too) presented for another request.
    proof_a2 = _signed_by_card(k, op, body_a)
    assert _post(k, _request(k, _lookup_body(b), proof_a2)) == (401, "bad_operator_signature")
    # A nonce the central never gave, and a request with no operator at all.
    forged = proof.model_copy(update={"nonce": "00" * 16})
    assert _post(k, _request(k, body_a, forged)) == (401, "unknown_nonce")
    bare = _request(k, body_a, proof)
    bare.pop("operator")
    assert _post(k, bare)[0] == 422


def _software_card(
    k: Counter, role: Role, asn: str, number: str
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A key the test holds with a certificate from the wallet's TEST ONLY issuer CA."""
    issuer = Issuer.load(k.wallet.root)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = issue_card_certificate(
        ca_key=issuer.ca_key, ca_cert=issuer.ca_cert,
        card_public_key=public_point(key.public_key()), asn=bytes.fromhex(asn),
        card_number=number, role=role,
        not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=30),
    )  # fmt: skip
    return key, cert.public_bytes(serialization.Encoding.DER)


def _proof(k: Counter, key: ec.EllipticCurvePrivateKey, cert: bytes, asn: str,
           body: CardLookup) -> OperatorProof:  # fmt: skip
    nonce = _nonce(k)
    sig = key.sign(OPERATOR_SIGN_TAG + operator_digest(nonce, body), ec.ECDSA(hashes.SHA256()))
    return OperatorProof(asn=asn, certificate=cert.hex().upper(), nonce=nonce,
                         signature=sig.hex().upper())  # fmt: skip


def test_citizen_cards_strangers_and_hotlisted_operators_are_refused(counter: Counter) -> None:
    k = counter
    citizen = k.card("citizen")
    body = _lookup_body(citizen.asn)
    # A citizen's certificate, even with its key in hand, is no operator's.
    key, cert = _software_card(k, Role.CITIZEN, citizen.asn, "3205000001")
    assert _post(k, _request(k, body, _proof(k, key, cert, citizen.asn, body))) == (
        403, "not_an_operator")  # fmt: skip
    # A certificate from a CA the central does not trust.
    stranger = ec.generate_private_key(ec.SECP256R1())
    from cardlib.certs import make_test_ca

    other_key, other_ca = make_test_ca(dt.datetime.now(dt.UTC), name="someone else's CA")
    now = dt.datetime.now(dt.UTC)
    clerk_asn = k.card("clerk").asn
    fake = issue_card_certificate(
        ca_key=other_key, ca_cert=other_ca, card_public_key=public_point(stranger.public_key()),
        asn=bytes.fromhex(clerk_asn), card_number="X", role=Role.CLERK,
        not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=1),
    ).public_bytes(serialization.Encoding.DER)  # fmt: skip
    assert _post(k, _request(k, body, _proof(k, stranger, fake, clerk_asn, body))) == (
        403, "operator_not_genuine")  # fmt: skip
    # The real clerk card, hotlisted: refused like any hotlisted card.
    op = k.login().operator
    registry.set_card_status(k.central, asn=op.asn, status="blocked")
    assert _post(k, _request(k, body, _signed_by_card(k, op, body))) == (
        403, "operator_card_blocked")  # fmt: skip


def test_the_card_signs_for_an_operator_only_after_its_pin(counter: Counter) -> None:
    k = counter
    clerk = k.insert_clerk()
    identity = Identity.of(Purse(ApduSession(k.clerk_reader)))
    with pytest.raises(AccessDeniedError):
        identity.operator_sign(bytes(32))  # no PIN yet: 6982
    with pytest.raises(ApduError) as tagged:
        identity.internal_authenticate(OPERATOR_SIGN_TAG + bytes(16))  # P1 00 never signs it
    assert tagged.value.sw == 0x6A80
    identity.verify_pin(clerk.pin)
    assert identity.operator_sign(bytes(32))
    citizen = k.insert_citizen()
    holder = Identity.of(Purse(ApduSession(k.citizen_reader)))
    holder.verify_pin(citizen.pin)
    with pytest.raises(AccessDeniedError):
        holder.operator_sign(bytes(32))  # a citizen's card never signs as an operator
