"""The signed transaction reference a receipt's QR code carries.

Anyone holding the terminal's certificate can check that a receipt came from that
terminal and was not altered: the payload names the terminal, the transaction, its
kind, amount, balance after and time, and ends with the terminal's ECDSA P-256
signature (SHA-256, raw r || s, base64url) over everything before ``|S=``::

    CVR1|T=KSK-0001|X=T20261128-000123|K=purchase|A=1234|B=8766|D=20261128T053000Z|S=...

The certificate's subject common name must be the terminal id. Terminal keys come
from enrolment at the central (a later issue); :func:`make_test_terminal_identity`
makes a self-signed one, TEST ONLY.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID

PREFIX = "CVR1"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_FIELDS = ("T", "X", "K", "A", "B", "D")


class ReceiptVerificationError(Exception):
    """A QR payload that is malformed, altered, or not from this terminal."""


@dataclass(frozen=True)
class TransactionReference:
    """What a receipt's QR code vouches for. Amounts are integer fen; ``at`` is aware."""

    terminal_id: str
    transaction_id: str
    kind: str
    amount_fen: int
    balance_after_fen: int
    at: dt.datetime

    def __post_init__(self) -> None:
        for name in ("terminal_id", "transaction_id", "kind"):
            if not _ID.match(getattr(self, name)):
                raise ValueError(f"{name} must be 1-40 of A-Z a-z 0-9 . _ -")
        for name in ("amount_fen", "balance_after_fen"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} is integer fen")
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware")

    def signed_text(self) -> str:
        """The exact text the signature covers (ends with ``|``)."""
        stamp = self.at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        values = (
            self.terminal_id,
            self.transaction_id,
            self.kind,
            str(self.amount_fen),
            str(self.balance_after_fen),
            stamp,
        )
        return PREFIX + "".join(f"|{k}={v}" for k, v in zip(_FIELDS, values, strict=True)) + "|"


@dataclass(frozen=True)
class TerminalIdentity:
    """A terminal's signing key and its certificate."""

    terminal_id: str
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def sign_reference(ref: TransactionReference, key: ec.EllipticCurvePrivateKey) -> str:
    """The QR payload for ``ref``, signed with the terminal key (deterministic, RFC 6979)."""
    text = ref.signed_text()
    der = key.sign(text.encode("ascii"), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return text + "S=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify_reference(payload: str, certificate: x509.Certificate) -> TransactionReference:
    """Check ``payload`` against the terminal certificate and return what it vouches for.

    Raises :class:`ReceiptVerificationError` if it is malformed, the signature does
    not verify, the terminal is not the certificate's, or the time is outside the
    certificate's validity.
    """
    text, sep, sig = payload.rpartition("|S=")
    if not sep:
        raise ReceiptVerificationError("no signature")
    parts = text.split("|")
    if parts[0] != PREFIX or len(parts) != 1 + len(_FIELDS):
        raise ReceiptVerificationError("not a civicard receipt reference")
    fields: dict[str, str] = {}
    for part, name in zip(parts[1:], _FIELDS, strict=True):
        key, eq, value = part.partition("=")
        if key != name or not eq:
            raise ReceiptVerificationError(f"field {name} missing")
        fields[name] = value
    try:
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        if len(raw) != 64:
            raise ValueError("signature length")
        ref = TransactionReference(
            terminal_id=fields["T"],
            transaction_id=fields["X"],
            kind=fields["K"],
            amount_fen=int(fields["A"]),
            balance_after_fen=int(fields["B"]),
            at=dt.datetime.strptime(fields["D"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC),
        )
    except (ValueError, TypeError) as exc:
        raise ReceiptVerificationError(f"malformed: {exc}") from exc
    if ref.signed_text() != text + "|":
        raise ReceiptVerificationError("not in canonical form")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ReceiptVerificationError("certificate key is not ECDSA")
    try:
        public.verify(der, (text + "|").encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ReceiptVerificationError("signature does not verify") from exc
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != ref.terminal_id:
        raise ReceiptVerificationError("signed by another terminal's certificate")
    if not certificate.not_valid_before_utc <= ref.at <= certificate.not_valid_after_utc:
        raise ReceiptVerificationError("time outside the certificate's validity")
    return ref


def make_test_terminal_identity(
    terminal_id: str, *, seed: int | None = None, now: dt.datetime | None = None
) -> TerminalIdentity:
    """TEST ONLY: a terminal key and a self-signed certificate for it.

    With ``seed`` the key is derived from it, so seeded sample receipts are stable.
    Real terminals get their certificate from enrolment at the central.
    """
    if seed is None:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        digest = hashes.Hash(hashes.SHA256())
        digest.update(f"civicard TEST ONLY terminal key {terminal_id} {seed}".encode())
        key = ec.derive_private_key(
            int.from_bytes(digest.finalize(), "big") % (2**255), ec.SECP256R1()
        )
    start = (now or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) - dt.timedelta(days=1)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, terminal_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "civicard TEST ONLY terminal"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(terminal_id.encode()[:8].ljust(8, b"\0"), "big") or 1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return TerminalIdentity(terminal_id, key, cert)
