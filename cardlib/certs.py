"""Card certificates: the X.509 profile binding a card's ECDSA key to its ASN and role.

Profile (docs/card-spec.md, part 2):

- X.509 v3, signed by the issuer CA with ECDSA P-256 / SHA-256; the subject key is
  the card's own P-256 key, generated on the card.
- Subject: ``C=CN, O=civicard, serialNumber=<ASN, 20 hex digits>, CN=<card number>``.
- Validity: the card's start and expiry dates.
- Extensions: basicConstraints CA=false (critical); keyUsage digitalSignature
  (critical); extendedKeyUsage = the role (citizen, clerk, technician or supervisor)
  under the project's OID arc; subject and authority key identifiers.

Validation (:func:`validate_card_certificate`) checks chain, dates, ASN and role,
each failure its own error; :func:`verify_card_signature` then proves the card
holds the private key (a clone made by copying files fails here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cardlib.errors import (
    AsnMismatchError,
    CardNotGenuineError,
    CertificateExpiredError,
    CertificateFormatError,
    RoleError,
    UntrustedCertificateError,
)

__all__ = [
    "OPERATOR_SIGN_TAG",
    "CardCertificate",
    "Role",
    "certificate_role",
    "issue_card_certificate",
    "make_test_ca",
    "validate_card_certificate",
    "verify_card_signature",
]

# What an operator signature covers: this tag, then the 32-byte request digest. A plain
# INTERNAL AUTHENTICATE (P1 00) refuses data starting with the tag, so a signature got
# without the PIN can never pass for an operator's (docs/card-spec.md, "Operator cards").
OPERATOR_SIGN_TAG = b"civicard-operator-request-v1\x00\x00\x00\x00"  # 32 bytes

# A UUID-based arc (ITU-T X.667, 2.25.<uuid>): the project's own, no registry needed.
OID_ARC = "2.25.149511852131264755858256227778392047717"


class Role(StrEnum):
    CITIZEN = "citizen"
    CLERK = "clerk"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"  # a counter's second person (two-person operations)

    @property
    def is_operator(self) -> bool:
        """An operator's card (clerk, technician, supervisor): it signs an operator's
        request only after its PIN was verified on the card in this session."""
        return self is not Role.CITIZEN

    @property
    def oid(self) -> x509.ObjectIdentifier:
        index = {"citizen": 1, "clerk": 2, "technician": 3, "supervisor": 4}[self.value]
        return x509.ObjectIdentifier(f"{OID_ARC}.1.{index}")

    @classmethod
    def from_oid(cls, oid: x509.ObjectIdentifier) -> Role | None:
        return next((r for r in cls if r.oid == oid), None)


@dataclass(frozen=True)
class CardCertificate:
    """A validated card certificate."""

    certificate: x509.Certificate
    asn: bytes
    role: Role
    public_key: ec.EllipticCurvePublicKey


def make_test_ca(
    now: dt.datetime, *, years: int = 20, name: str = "civicard TEST ONLY issuer CA"
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed TEST ONLY issuer CA (never a production default)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "civicard TEST ONLY"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_card_certificate(
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    card_public_key: bytes,
    asn: bytes,
    card_number: str,
    role: Role,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """Sign a card certificate for a public key the card generated (uncompressed point)."""
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), card_public_key)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "civicard"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, asn.hex().upper()),
            x509.NameAttribute(NameOID.COMMON_NAME, card_number),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([role.oid]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def validate_card_certificate(
    der: bytes,
    *,
    trusted: list[x509.Certificate],
    asn: bytes,
    now: dt.datetime,
    role: Role | None = Role.CITIZEN,
) -> CardCertificate:
    """Check a card certificate: issued by a trusted CA, valid at ``now``, for this ASN,
    and (when ``role`` is given) carrying that role. Each failure is its own error."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateFormatError(f"card certificate is not DER X.509: {exc}") from exc
    issuer = next((ca for ca in trusted if ca.subject == cert.issuer), None)
    if issuer is None:
        raise UntrustedCertificateError(
            f"certificate issued by an unknown CA: {cert.issuer.rfc4514_string()}"
        )
    ca_key = issuer.public_key()
    if not isinstance(ca_key, ec.EllipticCurvePublicKey):
        raise UntrustedCertificateError("issuer CA key is not an EC key")
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise UntrustedCertificateError(f"certificate signature does not verify: {exc}") from exc
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateExpiredError(
            f"certificate valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, not at {now:%Y-%m-%d}"
        )
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not serials or str(serials[0].value) != asn.hex().upper():
        raise AsnMismatchError("certificate belongs to another card (ASN differs)")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise RoleError("certificate carries no role") from exc
    roles = [r for r in (Role.from_oid(o) for o in eku) if r is not None]
    if len(roles) != 1:
        raise RoleError("certificate must carry exactly one civicard role")
    if role is not None and roles[0] is not role:
        raise RoleError(f"a {roles[0].value} card cannot be used as a {role.value} card")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise CertificateFormatError("card key is not ECDSA P-256")
    return CardCertificate(cert, asn, roles[0], public)


def certificate_role(der: bytes) -> Role | None:
    """The one civicard role a certificate carries, unchecked (the card OS reads its own
    certificate's role this way); None when it is malformed or carries none or several."""
    try:
        cert = x509.load_der_x509_certificate(der)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    roles = [r for r in (Role.from_oid(o) for o in eku) if r is not None]
    return roles[0] if len(roles) == 1 else None


def verify_card_signature(card: CardCertificate, challenge: bytes, signature: bytes) -> None:
    """INTERNAL AUTHENTICATE answer check: the card signed our challenge with the key
    its certificate names. A clone without the private key fails here."""
    try:
        card.public_key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CardNotGenuineError(
            "the card could not prove it holds its certificate's key"
        ) from exc


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """Uncompressed SEC1 point (04 || X || Y), as GENERATE KEY PAIR returns it."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
