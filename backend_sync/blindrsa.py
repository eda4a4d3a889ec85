"""RSA blind signatures, RFC 9474: RSABSSA-SHA384-PSS-Randomized (and its -Deterministic twin).

Written on the ``cryptography`` package because PyPI has no well-kept Python
implementation of RFC 9474 (the few packages there are unmaintained or implement
an early draft). ``cryptography`` gives us the key types, SHA-384 and the final
RSASSA-PSS verification; the protocol steps RFC 9474 adds — EMSA-PSS encoding of
the prepared message, blinding, the raw RSA private operation on the blinded
message, and unblinding — are written out here, each as the RFC's section 4 says.

The roles (DESIGN.md, "Polls"): the kiosk calls :func:`prepare`, :func:`blind` and
:func:`finalize`; the central calls :func:`blind_sign` and, on each ballot,
:func:`verify`. A finalized signature is an ordinary RSASSA-PSS signature (SHA-384,
MGF1-SHA-384, 48-byte salt) over the prepared message, so any RSA-PSS verifier
checks it.

Tested against RFC 9474's appendix A vector and, both ways, against
``@cloudflare/blindrsa-ts`` under node (tests/polls).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

import gmpy2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "HASH_LEN",
    "PREFIX_LEN",
    "SALT_LEN",
    "BlindRsaError",
    "Blinded",
    "SigningFault",
    "blind",
    "blind_sign",
    "finalize",
    "prepare",
    "verify",
]

HASH_LEN = 48  # SHA-384
SALT_LEN = 48  # RSABSSA-SHA384-PSS: salt as long as the hash
PREFIX_LEN = 32  # the Randomized variants' message prefix (RFC 9474, 4.1)


class BlindRsaError(ValueError):
    """A blind-signature step failed: bad input size, a value outside the modulus,
    a signature that does not verify. The message says which."""


class SigningFault(BlindRsaError):
    """The signer's own computation did not verify (a CRT fault): nothing about the
    message; the answer is withheld and the request may be tried again."""


@dataclass(frozen=True)
class Blinded:
    """What :func:`blind` returns: the message to send, and the secret to keep."""

    blinded_msg: bytes
    inv: int


def _i2osp(x: int, length: int) -> bytes:
    return x.to_bytes(length, "big")


def _os2ip(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _mgf1_sha384(seed: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha384(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def _emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes) -> bytes:
    """EMSA-PSS-ENCODE (RFC 8017, 9.1.1) with SHA-384 and MGF1-SHA-384."""
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha384(msg).digest()
    if em_len < HASH_LEN + len(salt) + 2:
        raise BlindRsaError("modulus too small for SHA-384 PSS")
    h = hashlib.sha384(bytes(8) + m_hash + salt).digest()
    db = bytes(em_len - len(salt) - HASH_LEN - 2) + b"\x01" + salt
    masked = bytearray(
        a ^ b for a, b in zip(db, _mgf1_sha384(h, em_len - HASH_LEN - 1), strict=True)
    )
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    return bytes(masked) + h + b"\xbc"


def _modulus_len(n: int) -> int:
    return (n.bit_length() + 7) // 8


def prepare(msg: bytes, *, randomized: bool = True, prefix: bytes | None = None) -> bytes:
    """The message as it will be signed: a fresh 32-byte random prefix ‖ ``msg``
    (Randomized variant), or ``msg`` itself (Deterministic). ``prefix`` is for
    known-answer tests only."""
    if not randomized:
        return msg
    if prefix is None:
        prefix = secrets.token_bytes(PREFIX_LEN)
    if len(prefix) != PREFIX_LEN:
        raise BlindRsaError(f"message prefix must be {PREFIX_LEN} bytes")
    return prefix + msg


def blind(
    public_key: rsa.RSAPublicKey,
    prepared: bytes,
    *,
    salt: bytes | None = None,
    r: int | None = None,
) -> Blinded:
    """Blind(pk, msg) of RFC 9474, 4.2. ``salt`` and ``r`` are for known-answer
    tests only; by default both are fresh randomness."""
    nums = public_key.public_numbers()
    n, e = nums.n, nums.e
    k_len = _modulus_len(n)
    if salt is None:
        salt = secrets.token_bytes(SALT_LEN)
    encoded = _emsa_pss_encode(prepared, n.bit_length() - 1, salt)
    m = _os2ip(encoded)
    if math.gcd(m, n) != 1:
        raise BlindRsaError("invalid input: encoded message shares a factor with the modulus")
    while True:
        candidate = secrets.randbelow(n - 1) + 1 if r is None else r
        if math.gcd(candidate, n) == 1:
            break
        if r is not None:
            raise BlindRsaError("invalid blind: not invertible modulo n")
    inv = pow(candidate, -1, n)
    z = (m * pow(candidate, e, n)) % n
    return Blinded(_i2osp(z, k_len), inv)


def blind_sign(private_key: rsa.RSAPrivateKey, blinded_msg: bytes) -> bytes:
    """BlindSign(sk, blinded_msg) of RFC 9474, 4.3: the raw RSA private operation
    (CRT), then checked against the public key so a faulty computation never
    leaves the signer (a CRT fault would reveal a factor of n)."""
    priv = private_key.private_numbers()
    pub = priv.public_numbers
    n = pub.n
    k_len = _modulus_len(n)
    if len(blinded_msg) != k_len:
        raise BlindRsaError(f"blinded message must be {k_len} bytes, got {len(blinded_msg)}")
    m = _os2ip(blinded_msg)
    if m >= n:
        raise BlindRsaError("blinded message out of range (not below the modulus)")
    # GMP's mpz_powm_sec: constant-time in the secret exponent (Python's pow is
    # neither constant-time nor fast: about 5x slower here, bench/bench_polls.py).
    s1 = int(gmpy2.powmod_sec(m, priv.dmp1, priv.p))
    s2 = int(gmpy2.powmod_sec(m, priv.dmq1, priv.q))
    s = s2 + priv.q * ((priv.iqmp * (s1 - s2)) % priv.p)
    if pow(s, pub.e, n) != m:
        raise SigningFault("signing failure: the result does not verify")
    return _i2osp(s, k_len)


def finalize(public_key: rsa.RSAPublicKey, prepared: bytes, blind_sig: bytes, inv: int) -> bytes:
    """Finalize(pk, msg, blind_sig, inv) of RFC 9474, 4.4: unblind, then verify
    as RSASSA-PSS; a signer that cheated (or a corrupted answer) is caught here."""
    n = public_key.public_numbers().n
    k_len = _modulus_len(n)
    if len(blind_sig) != k_len:
        raise BlindRsaError(f"blind signature must be {k_len} bytes, got {len(blind_sig)}")
    z = _os2ip(blind_sig)
    if z >= n:
        raise BlindRsaError("blind signature out of range")
    sig = _i2osp((z * inv) % n, k_len)
    if not verify(public_key, prepared, sig):
        raise BlindRsaError("the signer's answer does not verify under the poll's key")
    return sig


def verify(public_key: rsa.RSAPublicKey, prepared: bytes, sig: bytes) -> bool:
    """RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384 and a 48-byte salt: the
    ordinary verification, through ``cryptography``."""
    try:
        public_key.verify(
            sig,
            prepared,
            padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=SALT_LEN),
            hashes.SHA384(),
        )
    except InvalidSignature:
        return False
    return True
