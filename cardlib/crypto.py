"""E-purse cryptography (JR/T 0025 triple DES, and the project's SM4 variant).

Pure functions over bytes; no state, no I/O. docs/card-spec.md ("Cryptography")
is the normative text; this module is its implementation. Both the card simulator,
the PSAM simulator, the kiosk and the central call these, so a card made by the
simulator and a real card are checked by the same code.

Conventions:
- Keys are 16 bytes (two-key triple DES, or SM4).
- The ASN is the 10-byte application serial number; diversification uses its
  rightmost 8 bytes.
- MACs are CBC-MACs with ISO/IEC 9797-1 padding method 2 (``80 00 ..``) and a zero
  IV unless stated; only the first 4 bytes are kept.
"""

from __future__ import annotations

from enum import IntEnum

# TripleDES lives on in "decrepit" for exactly this kind of legacy protocol.
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def TripleDES(key: bytes) -> _TripleDES:
    """3DES with an 8-byte (single DES) or 16-byte (two-key) key, expanded to the
    24-byte form cryptography keeps supporting; the results are identical."""
    if len(key) == 8:
        key = key * 3
    elif len(key) == 16:
        key = key + key[:8]
    return _TripleDES(key)


__all__ = [
    "Algorithm",
    "TransactionType",
    "diversification_block",
    "diversify",
    "diversify_path",
    "load_mac1",
    "load_mac2",
    "load_session_key",
    "load_tac",
    "pad_m2",
    "purchase_mac1",
    "purchase_mac2",
    "purchase_session_key",
    "purchase_tac",
    "purchase_tac_data",
    "sm_mac",
    "tac_key",
]


class Algorithm(IntEnum):
    """Algorithm identifier returned by INITIALIZE FOR PURCHASE / LOAD."""

    TDES = 0x00
    SM4 = 0x04  # project's choice, see docs/card-spec.md

    @property
    def block(self) -> int:
        return 8 if self is Algorithm.TDES else 16


class TransactionType(IntEnum):
    LOAD = 0x02
    PURCHASE = 0x06
    CAPP_PURCHASE = 0x09  # composite purchase (transit): same keys and MACs, type 09


def _ecb(alg: Algorithm, key: bytes, data: bytes) -> bytes:
    cipher_alg: algorithms.SM4 | _TripleDES
    cipher_alg = TripleDES(key) if alg is Algorithm.TDES else algorithms.SM4(key)
    enc = Cipher(cipher_alg, modes.ECB()).encryptor()  # noqa: S305 - protocol-mandated ECB
    return enc.update(data) + enc.finalize()


def _cbc_last_block(cipher_alg: object, iv: bytes, data: bytes) -> bytes:
    enc = Cipher(cipher_alg, modes.CBC(iv)).encryptor()  # type: ignore[arg-type]
    out = enc.update(data) + enc.finalize()
    return out[-len(iv) :]


def pad_m2(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 80, then 00 to a block boundary."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % block)


def _check_key(key: bytes) -> None:
    if len(key) != 16:
        raise ValueError(f"keys are 16 bytes, got {len(key)}")


def diversification_block(asn: bytes) -> bytes:
    """ASN8 || NOT ASN8, what a card key is the ECB encryption of under its master
    (3DES: two blocks, E(MK, ASN8) || E(MK, NOT ASN8); SM4: one). ``asn`` may be
    the full 10-byte ASN or already its rightmost 8 bytes."""
    if len(asn) not in (8, 10):
        raise ValueError(f"ASN must be 10 bytes (or its rightmost 8), got {len(asn)}")
    asn8 = asn[-8:]
    return asn8 + (int.from_bytes(asn8, "big") ^ 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "big")


def diversify(master_key: bytes, asn: bytes, alg: Algorithm) -> bytes:
    """Card key from an issuer master key and the card's ASN (one level):
    ECB(MK, :func:`diversification_block`) in both algorithms."""
    _check_key(master_key)
    return _ecb(alg, master_key, diversification_block(asn))


def diversify_path(master_key: bytes, factors: tuple[bytes, ...], alg: Algorithm) -> bytes:
    """Diversify level by level: one level is ``(ASN,)``; the two-level tree of
    deployed PSAMs is ``(issuer id, ASN)`` — the issuer's key under the master, then
    the card's under the issuer's (each level the rule of :func:`diversify`)."""
    if not factors:
        raise ValueError("at least one diversification factor")
    key = master_key
    for factor in factors:
        key = diversify(key, factor, alg)
    return key


def _session_key(card_key: bytes, seed: bytes, alg: Algorithm) -> bytes:
    _check_key(card_key)
    if alg is Algorithm.TDES:
        return _ecb(alg, card_key, seed)
    return _ecb(alg, card_key, pad_m2(seed, 16))


def purchase_session_key(
    dpk: bytes, card_random: bytes, offline_atc: int, ttc: int, alg: Algorithm
) -> bytes:
    """Purchase session key: 3DES(DPK, random || offline ATC || TTC low 2 bytes).

    8 bytes for 3DES; 16 bytes for SM4 (the seed padded by method 2).
    """
    if len(card_random) != 4:
        raise ValueError("card random is 4 bytes")
    seed = card_random + offline_atc.to_bytes(2, "big") + (ttc & 0xFFFF).to_bytes(2, "big")
    return _session_key(dpk, seed, alg)


def load_session_key(dlk: bytes, card_random: bytes, online_atc: int, alg: Algorithm) -> bytes:
    """Load session key: 3DES(DLK, random || online ATC || 8000)."""
    if len(card_random) != 4:
        raise ValueError("card random is 4 bytes")
    seed = card_random + online_atc.to_bytes(2, "big") + b"\x80\x00"
    return _session_key(dlk, seed, alg)


def mac(key: bytes, data: bytes, alg: Algorithm) -> bytes:
    """The e-purse MAC: single-DES (8-byte key) or SM4 (16-byte key) CBC-MAC,
    method-2 padding, zero IV, first 4 bytes."""
    if alg is Algorithm.TDES:
        if len(key) != 8:
            raise ValueError("a DES MAC key is 8 bytes")
        last = _cbc_last_block(TripleDES(key), bytes(8), pad_m2(data, 8))
    else:
        _check_key(key)
        last = _cbc_last_block(algorithms.SM4(key), bytes(16), pad_m2(data, 16))
    return last[:4]


def tac_key(dtk: bytes, alg: Algorithm) -> bytes:
    """TAC key: DTK's left half XOR its right half (3DES); DTK itself (SM4)."""
    _check_key(dtk)
    if alg is Algorithm.TDES:
        return (int.from_bytes(dtk[:8], "big") ^ int.from_bytes(dtk[8:], "big")).to_bytes(8, "big")
    return dtk


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big", signed=False)


def _check_common(terminal_id: bytes, date: bytes, time: bytes) -> None:
    if len(terminal_id) != 6:
        raise ValueError("terminal id is 6 bytes")
    if len(date) != 4 or len(time) != 3:
        raise ValueError("date is 4 bytes BCD (YYYYMMDD), time 3 bytes BCD (hhmmss)")


def _mac_amount_terminal_time(
    key: bytes,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    date: bytes,
    time: bytes,
    alg: Algorithm,
) -> bytes:
    _check_common(terminal_id, date, time)
    return mac(key, _u32(amount) + bytes([ttype]) + terminal_id + date + time, alg)


def purchase_mac1(
    session_key: bytes,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    date: bytes,
    time: bytes,
    alg: Algorithm,
) -> bytes:
    """MAC1 (PSAM -> card) = MAC(amount || type || terminal id || date || time)."""
    return _mac_amount_terminal_time(session_key, amount, ttype, terminal_id, date, time, alg)


def purchase_mac2(session_key: bytes, amount: int, alg: Algorithm) -> bytes:
    """MAC2 (card -> PSAM) = MAC(amount)."""
    return mac(session_key, _u32(amount), alg)


def purchase_tac_data(
    amount: int, ttype: int, terminal_id: bytes, ttc: int, date: bytes, time: bytes
) -> bytes:
    """What the purchase TAC covers, in order: amount(4) ‖ type(1) ‖ terminal id(6) ‖
    TTC(4) ‖ date(4) ‖ time(3), 22 bytes. The one place this layout is written: the
    card (through :func:`purchase_tac`) and the central's batch check both use it."""
    return _u32(amount) + bytes((ttype,)) + terminal_id + _u32(ttc) + date + time


def purchase_tac(
    tac_k: bytes,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    ttc: int,
    date: bytes,
    time: bytes,
    alg: Algorithm,
) -> bytes:
    """Purchase TAC = MAC(amount || type || terminal id || TTC || date || time)."""
    _check_common(terminal_id, date, time)
    return mac(tac_k, purchase_tac_data(amount, ttype, terminal_id, ttc, date, time), alg)


def load_mac1(
    session_key: bytes,
    old_balance: int,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    alg: Algorithm,
) -> bytes:
    """Load MAC1 (card -> host) = MAC(old balance || amount || type || terminal id)."""
    if len(terminal_id) != 6:
        raise ValueError("terminal id is 6 bytes")
    data = _u32(old_balance) + _u32(amount) + bytes([ttype]) + terminal_id
    return mac(session_key, data, alg)


def load_mac2(
    session_key: bytes,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    date: bytes,
    time: bytes,
    alg: Algorithm,
) -> bytes:
    """Load MAC2 (host -> card): the same coverage as purchase MAC1."""
    return _mac_amount_terminal_time(session_key, amount, ttype, terminal_id, date, time, alg)


def load_tac(
    tac_k: bytes,
    new_balance: int,
    online_atc: int,
    amount: int,
    ttype: int,
    terminal_id: bytes,
    date: bytes,
    time: bytes,
    alg: Algorithm,
) -> bytes:
    """Load TAC = MAC(new balance || online ATC || amount || type || terminal id ||
    date || time)."""
    _check_common(terminal_id, date, time)
    data = (
        _u32(new_balance)
        + online_atc.to_bytes(2, "big")
        + _u32(amount)
        + bytes([ttype])
        + terminal_id
        + date
        + time
    )
    return mac(tac_k, data, alg)


def sm_mac(card_key: bytes, data: bytes, challenge: bytes, alg: Algorithm) -> bytes:
    """Secure-messaging MAC; the card's GET CHALLENGE value is the IV.

    3DES: ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC with the key's left half,
    then decrypt with the right half and encrypt with the left on the last block),
    IV = challenge padded with zeros to 8 bytes. SM4: SM4 CBC-MAC with the 16-byte
    key, IV = challenge padded with zeros to 16 bytes. Method-2 padding; 4 bytes.
    """
    _check_key(card_key)
    if not 4 <= len(challenge) <= alg.block:
        raise ValueError(f"challenge must be 4..{alg.block} bytes")
    iv = challenge + bytes(alg.block - len(challenge))
    if alg is Algorithm.TDES:
        k1 = card_key[:8]
        last = _cbc_last_block(TripleDES(k1), iv, pad_m2(data, 8))
        return _retail_final(card_key, last)
    last = _cbc_last_block(algorithms.SM4(card_key), iv, pad_m2(data, 16))
    return last[:4]


def _retail_final(card_key: bytes, last: bytes) -> bytes:
    # Output transformation 3 of ISO/IEC 9797-1: the single-DES CBC chain ends in
    # H = E(K1, .); the MAC is E(K1, D(K2, H)).
    k1, k2 = card_key[:8], card_key[8:]
    dec = Cipher(TripleDES(k2), modes.ECB()).decryptor()  # noqa: S305
    mid = dec.update(last) + dec.finalize()
    enc = Cipher(TripleDES(k1), modes.ECB()).encryptor()  # noqa: S305
    return (enc.update(mid) + enc.finalize())[:4]


# -- personalization secure channel (the project's protocol, docs/card-spec.md part 2) --

CHANNEL_ENC = b"\x01\x82"
CHANNEL_MAC = b"\x01\x01"


def channel_session_keys(
    perso_key: bytes, card_challenge: bytes, terminal_random: bytes, alg: Algorithm
) -> tuple[bytes, bytes]:
    """(S-ENC, S-MAC) for a personalization session.

    Each key = ECB(perso key, constant(2) || RC[0:4] || RT[0:4] || 00 * 6), where RC is
    the card's 8-byte challenge and RT the terminal's 8-byte random.
    """
    _check_key(perso_key)
    if len(card_challenge) != 8 or len(terminal_random) != 8:
        raise ValueError("card challenge and terminal random are 8 bytes each")
    seed = card_challenge[:4] + terminal_random[:4] + bytes(6)
    return (_ecb(alg, perso_key, CHANNEL_ENC + seed), _ecb(alg, perso_key, CHANNEL_MAC + seed))


def channel_cryptogram(s_mac: bytes, data: bytes, alg: Algorithm) -> bytes:
    """8-byte authentication cryptogram: the secure-messaging MAC chain with a zero IV,
    keeping 8 bytes of the final block."""
    _check_key(s_mac)
    if alg is Algorithm.TDES:
        k1 = s_mac[:8]
        last = _cbc_last_block(TripleDES(k1), bytes(8), pad_m2(data, 8))
        dec = Cipher(TripleDES(s_mac[8:]), modes.ECB()).decryptor()  # noqa: S305
        mid = dec.update(last) + dec.finalize()
        return _ecb(Algorithm.TDES, k1 * 2, mid)[:8]
    return _cbc_last_block(algorithms.SM4(s_mac), bytes(16), pad_m2(data, 16))[:8]


def channel_encrypt(s_enc: bytes, data: bytes, alg: Algorithm) -> bytes:
    """Confidential data (keys, PIN, PUK): CBC with a zero IV over M2-padded data."""
    _check_key(s_enc)
    cipher_alg = TripleDES(s_enc) if alg is Algorithm.TDES else algorithms.SM4(s_enc)
    enc = Cipher(cipher_alg, modes.CBC(bytes(alg.block))).encryptor()
    return enc.update(pad_m2(data, alg.block)) + enc.finalize()


def channel_decrypt(s_enc: bytes, data: bytes, alg: Algorithm) -> bytes:
    """Inverse of :func:`channel_encrypt`; raises ValueError on bad length or padding."""
    _check_key(s_enc)
    if not data or len(data) % alg.block:
        raise ValueError("encrypted data is not a whole number of blocks")
    cipher_alg = TripleDES(s_enc) if alg is Algorithm.TDES else algorithms.SM4(s_enc)
    dec = Cipher(cipher_alg, modes.CBC(bytes(alg.block))).decryptor()
    plain = dec.update(data) + dec.finalize()
    stripped = plain.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise ValueError("bad padding")
    return stripped[:-1]
