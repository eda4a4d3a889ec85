"""Canonical encoding, the per-terminal hash chain, and ECDSA P-256 signatures.

- canonical(obj) = UTF-8 JSON, keys sorted, no whitespace, non-ASCII kept as is;
  documents hold only objects, arrays, strings, integers and booleans (never
  floats, never null), so this is also their RFC 8785 (JCS) form.
- hash(record n) = SHA-256(hash(record n-1) || canonical(record n)); the hash
  before record 1 is SHA-256("civicard-outbox-v1" || terminal id bytes).
- Signatures are ECDSA P-256 over SHA-256, DER-encoded, sent as upper-case hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "ChainError",
    "canonical",
    "chain_hashes",
    "generate_key",
    "genesis_hash",
    "load_private_key",
    "private_key_pem",
    "public_key_from_cert",
    "public_key_pem",
    "self_signed_cert",
    "sign",
    "verify",
]

GENESIS_LABEL = b"civicard-outbox-v1"


class ChainError(ValueError):
    """Records do not form an unbroken chain."""


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The one byte encoding that is hashed and signed (see module docstring).

    orjson with sorted keys produces exactly ``json.dumps(obj, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` for these value types (a test
    holds it to that), at a tenth of the cost: the central encodes every record.
    """
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def genesis_hash(terminal_id: bytes) -> bytes:
    """The chain's starting point for one terminal."""
    if len(terminal_id) != 6:
        raise ValueError("terminal id is 6 bytes")
    return hashlib.sha256(GENESIS_LABEL + terminal_id).digest()


def link(prev_hash: bytes, record: Mapping[str, Any]) -> bytes:
    """Hash of one record chained onto ``prev_hash``."""
    return hashlib.sha256(prev_hash + canonical(record)).digest()


def chain_hashes(prev_hash: bytes, records: Iterable[Mapping[str, Any]]) -> list[bytes]:
    """Hash of every record in order, starting from ``prev_hash``."""
    out: list[bytes] = []
    h = prev_hash
    sha = hashlib.sha256
    dumps, opt = orjson.dumps, orjson.OPT_SORT_KEYS
    for rec in records:
        h = sha(h + dumps(rec, option=opt)).digest()
        out.append(h)
    return out


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key (terminal or central signing key)."""
    return ec.generate_private_key(ec.SECP256R1())


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """ECDSA P-256 / SHA-256 signature, DER, upper-case hex."""
    return key.sign(message, ec.ECDSA(hashes.SHA256())).hex().upper()


def verify(public_key: ec.EllipticCurvePublicKey, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid signature of ``message``."""
    try:
        public_key.verify(bytes.fromhex(signature_hex), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("expected an ECDSA P-256 private key")
    return key


def load_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("expected an ECDSA P-256 public key")
    return key


def self_signed_cert(key: ec.EllipticCurvePrivateKey, terminal_id: str, days: int = 3650) -> bytes:
    """A TEST ONLY terminal certificate (CN = terminal id), PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"civicard terminal {terminal_id}")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def public_key_from_cert(
    cert_pem: bytes, *, at: datetime | None = None
) -> ec.EllipticCurvePublicKey:
    """The P-256 key of a certificate that is valid now (or at ``at``)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    when = at or datetime.now(UTC)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise ValueError("certificate is not valid at this time")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("terminal certificates carry an ECDSA P-256 key")
    return key
