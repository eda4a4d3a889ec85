"""The bus ticket's QR text: a payload signed by the central, bound to one departure.

Format (docs/services.md): ``CCT1.<payload>.<signature>`` where ``payload`` is the
base64url (no padding) of the canonical JSON ``{"dep", "fare", "seat", "tk", "v"}``
and ``signature`` the central's ECDSA P-256 signature (hex, as :mod:`backend_sync.chain`
makes it) over those canonical bytes. No card number is on a printed ticket.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain

__all__ = ["PREFIX", "TicketClaim", "TicketQrError", "decode", "encode"]

PREFIX = "CCT1"


class TicketQrError(ValueError):
    """Not a ticket QR, or its signature does not verify (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TicketClaim:
    ticket_id: str
    departure: str
    seat: int
    fare: int


def encode(key: ec.EllipticCurvePrivateKey, claim: TicketClaim) -> str:
    """The QR text for ``claim``, signed with the central's key."""
    payload = {
        "v": 1,
        "tk": claim.ticket_id,
        "dep": claim.departure,
        "seat": claim.seat,
        "fare": claim.fare,
    }
    raw = chain.canonical(payload)
    b64 = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{PREFIX}.{b64}.{chain.sign(key, raw)}"


def decode(public_key: ec.EllipticCurvePublicKey, text: str) -> TicketClaim:
    """The claim of a QR text whose signature verifies; :class:`TicketQrError` otherwise."""
    parts = text.strip().split(".")
    if len(text) > 600 or len(parts) != 3 or parts[0] != PREFIX:
        raise TicketQrError("not_a_ticket")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        doc = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise TicketQrError("not_a_ticket") from exc
    try:
        signed = chain.verify(public_key, raw, parts[2])
    except ValueError:
        signed = False
    if not signed or not isinstance(doc, dict) or chain.canonical(doc) != raw:
        raise TicketQrError("bad_signature")
    try:
        claim = TicketClaim(str(doc["tk"]), str(doc["dep"]), int(doc["seat"]), int(doc["fare"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TicketQrError("not_a_ticket") from exc
    if doc.get("v") != 1:
        raise TicketQrError("unknown_version")
    return claim
