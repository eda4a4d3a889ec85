"""RSABSSA-SHA384-PSS-Randomized against RFC 9474's own vector, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backend_sync import blindrsa
from backend_sync.blindrsa import BlindRsaError

VECTOR = json.loads((Path(__file__).parent / "rfc9474-a1-randomized.json").read_text())


def _keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
    p, q, n, e, d = (int(VECTOR[k], 16) for k in ("p", "q", "n", "e", "d"))
    pub = rsa.RSAPublicNumbers(e, n)
    priv = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), pub
    ).private_key()
    return priv, priv.public_key()


def test_rfc9474_appendix_a_vector_step_by_step() -> None:
    assert VECTOR["source"].startswith("RFC 9474")
    priv, pub = _keys()
    msg = bytes.fromhex(VECTOR["msg"])
    prepared = blindrsa.prepare(msg, prefix=bytes.fromhex(VECTOR["msg_prefix"]))
    assert prepared.hex() == VECTOR["msg_prefix"] + VECTOR["msg"]
    n = int(VECTOR["n"], 16)
    inv = int(VECTOR["inv"], 16)
    encoded = blindrsa._emsa_pss_encode(prepared, n.bit_length() - 1, bytes.fromhex(VECTOR["salt"]))
    assert encoded.hex() == VECTOR["encoded_msg"]
    b = blindrsa.blind(pub, prepared, salt=bytes.fromhex(VECTOR["salt"]), r=pow(inv, -1, n))
    assert b.inv == inv
    assert b.blinded_msg.hex() == VECTOR["blinded_msg"]
    blind_sig = blindrsa.blind_sign(priv, b.blinded_msg)
    assert blind_sig.hex() == VECTOR["blind_sig"]
    sig = blindrsa.finalize(pub, prepared, blind_sig, b.inv)
    assert sig.hex() == VECTOR["sig"]
    # An ordinary RSASSA-PSS verifier (cryptography's) accepts the final signature.
    pub.verify(
        sig, prepared, padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )  # fmt: skip


def test_random_round_trip_and_unlinkable_blinding() -> None:
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = priv.public_key()
    prepared = blindrsa.prepare(b"token-1")
    a = blindrsa.blind(pub, prepared)
    b = blindrsa.blind(pub, prepared)
    # The same message blinds differently each time: the signer cannot recognise it.
    assert a.blinded_msg != b.blinded_msg
    sig_a = blindrsa.finalize(pub, prepared, blindrsa.blind_sign(priv, a.blinded_msg), a.inv)
    sig_b = blindrsa.finalize(pub, prepared, blindrsa.blind_sign(priv, b.blinded_msg), b.inv)
    assert blindrsa.verify(pub, prepared, sig_a) and blindrsa.verify(pub, prepared, sig_b)
    # Signing is deterministic: a retried blinded message gets the same answer.
    assert blindrsa.blind_sign(priv, a.blinded_msg) == blindrsa.blind_sign(priv, a.blinded_msg)
    assert not blindrsa.verify(pub, prepared + b"x", sig_a)


def test_refusals() -> None:
    priv, pub = _keys()
    k = 512
    with pytest.raises(BlindRsaError, match="512 bytes"):
        blindrsa.blind_sign(priv, b"\x01" * 10)
    with pytest.raises(BlindRsaError, match="out of range"):
        blindrsa.blind_sign(priv, b"\xff" * k)
    prepared = blindrsa.prepare(b"m")
    bl = blindrsa.blind(pub, prepared)
    good = blindrsa.blind_sign(priv, bl.blinded_msg)
    other = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    # A signer using another key (the central handing out a different poll key) fails
    # at the kiosk's finalize. That key signs only below its own modulus (the blinded
    # message is reduced to it), and its answer may then be at or above ours ("out of
    # range") or below it ("does not verify"): both paths, each made certain (the raw
    # answer alone would pick one at random).
    n_other = other.public_key().public_numbers().n
    reduced = (int.from_bytes(bl.blinded_msg, "big") % n_other).to_bytes(k, "big")
    wrong = int.from_bytes(blindrsa.blind_sign(other, reduced), "big")
    n = pub.public_numbers().n
    with pytest.raises(BlindRsaError, match="does not verify"):
        blindrsa.finalize(pub, prepared, (wrong % n).to_bytes(k, "big"), bl.inv)
    with pytest.raises(BlindRsaError, match="out of range"):
        blindrsa.finalize(
            pub, prepared, (n + wrong % (2 ** (8 * k) - n)).to_bytes(k, "big"), bl.inv
        )
    tampered = bytes([good[0] ^ 1]) + good[1:]
    with pytest.raises(BlindRsaError, match="does not verify"):
        blindrsa.finalize(pub, prepared, tampered, bl.inv)
    with pytest.raises(BlindRsaError, match="prefix"):
        blindrsa.prepare(b"m", prefix=b"short")
    with pytest.raises(BlindRsaError, match="invertible"):
        blindrsa.blind(pub, prepared, r=int(VECTOR["p"], 16))
