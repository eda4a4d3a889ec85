"""The PIN commands in their PBOC forms, byte for byte, card side and terminal side.

VERIFY ``00 20 00 00 03`` (packed-BCD PIN), CHANGE PIN ``80 5E 01 00``, RELOAD PIN
``80 5E 00 00`` under DRPK, PIN UNBLOCK ``84 24 00 00`` under DPUK, and the project's
PUK (RESET RETRY COUNTER ``00 2C 00 00``). The 3DES MACs and the PIN cipher block
are recomputed here with plain DES from ``cryptography``, not with cardlib.crypto.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from cardlib import crypto
from cardlib.crypto import Algorithm
from cardlib.errors import (
    InvalidPinError,
    MacError,
    PinBlockedError,
    SecureMessagingError,
)
from cardlib.identity import Identity, pin_bcd, pin_unblock_data, reload_pin_data
from tests.cardlib.card_rig import PIN, PROFILES, CardRig
from tests.cardlib.test_card_apdus import X

H = bytes.fromhex
SELECT = "00A404000AF043495649434152440100"
PUK = "12345678"  # make_card's default, TEST ONLY
ALGS = pytest.mark.parametrize("alg", list(Algorithm))


def _rig(alg: Algorithm = Algorithm.TDES, *, seed: int = 3) -> CardRig:
    rig = CardRig(PROFILES[alg], seed=seed, balance=500)
    assert rig.send(SELECT)[1] == "9000"
    return rig


def _card_key(rig: CardRig, role: str) -> bytes:
    return H(rig.card.eeprom["keys"]["1"][role])


def _tries(rig: CardRig) -> tuple[int, int]:
    return int(rig.card.eeprom["pin_tries"]), int(rig.card.eeprom["puk_tries"])


# -- independent 3DES arithmetic ----------------------------------------------------


def _des_ecb(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    """Single DES (8-byte key) or two-key 3DES EDE (16-byte key), as 24-byte 3DES."""
    key24 = key * 3 if len(key) == 8 else key + key[:8]
    cipher = Cipher(TripleDES(key24), modes.ECB())
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(block) + op.finalize()


def _pad(data: bytes) -> bytes:
    data += b"\x80"
    return data + bytes(-len(data) % 8)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _des_cbc_mac(key8: bytes, data: bytes, iv: bytes) -> bytes:
    h = iv
    padded = _pad(data)
    for i in range(0, len(padded), 8):
        h = _des_ecb(key8, _xor(h, padded[i : i + 8]))
    return h


def _pboc_mac(key8: bytes, data: bytes) -> bytes:
    """The e-purse MAC: single DES CBC, zero IV, first 4 bytes."""
    return _des_cbc_mac(key8, data, bytes(8))[:4]


def _retail_mac(key16: bytes, data: bytes, iv: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (the secure-messaging MAC), first 4 bytes."""
    h = _des_cbc_mac(key16[:8], data, iv)
    return _des_ecb(key16[:8], _des_ecb(key16[8:], h, decrypt=True))[:4]


# -- VERIFY ----------------------------------------------------------------------------


def test_verify_in_the_pboc_form() -> None:
    rig = _rig()
    assert rig.send("0020000003 000000") == ("", "63C2")
    assert rig.send("0020000003 123456") == ("", "9000")
    assert rig.send("00200000") == ("", "9000")  # no data: verified in this session
    assert _tries(rig) == (3, 10)
    # The private form of earlier releases is refused, and spends nothing.
    assert rig.send("0020000108 123456FFFFFFFFFF") == ("", "6A86")
    # Malformed PINs (not 6 BCD digits) are 6A80 and spend nothing either.
    for bad in ("0020000003 12345A", "0020000008 123456FFFFFFFFFF", "0020000002 1234",
                "0020000003 12345F"):  # fmt: skip
        assert rig.send(bad) == ("", "6A80"), bad
    assert _tries(rig) == (3, 10)
    assert rig.send("00200002") == ("", "63CA")  # the PUK's tries (the project's P2)


def test_cardlib_sends_the_pboc_forms() -> None:
    rig = CardRig(PROFILES[Algorithm.TDES], seed=3)
    ident = Identity.of(rig.purse())
    rig.card_rec.take()
    with pytest.raises(InvalidPinError) as info:
        ident.verify_pin("000000")
    assert info.value.tries_left == 2
    ident.verify_pin(PIN)
    ident.change_pin(PIN, "654321")
    ident.unblock_pin(PUK, "112233")
    assert rig.card_rec.take() == [
        X("0020000003 000000", "", "63C2"),
        X("0020000003 123456", ""),
        X("805E010007 123456 FF 654321", ""),
        X("002C000007 12345678 112233", ""),
    ]
    assert pin_bcd("123456") == H("123456")
    with pytest.raises(ValueError):
        pin_bcd("１２３４５６")  # full-width digits are not digits here


# -- CHANGE PIN and RELOAD PIN -----------------------------------------------------------


def test_change_pin() -> None:
    rig = _rig()
    assert rig.send("805E010007 000000 FF 654321") == ("", "63C2")
    assert rig.send("805E010007 123456 00 654321") == ("", "6A80")  # separator must be FF
    assert rig.send("805E010006 123456 FF 6543") == ("", "6700")
    assert rig.send("805E010007 123456 FF 654321") == ("", "9000")
    assert _tries(rig) == (3, 10)
    assert rig.send("0020000003 123456") == ("", "63C2")
    assert rig.send("0020000003 654321") == ("", "9000")


def test_reload_pin_under_drpk_byte_exact() -> None:
    rig = _rig()
    for _ in range(3):
        rig.send("0020000003 999999")
    assert rig.send("0020000003 123456") == ("", "6983")  # blocked
    drpk = _card_key(rig, "pin_reload")
    mac = _pboc_mac(_xor(drpk[:8], drpk[8:]), H("246810"))  # DRPK halves XORed
    assert reload_pin_data(drpk, "246810", Algorithm.TDES) == H("246810") + mac
    wrong = bytes([mac[0] ^ 1]) + mac[1:]
    assert rig.send(f"805E000007 246810 {wrong.hex()}") == ("", "9302")
    assert _tries(rig) == (0, 10)
    assert rig.send(f"805E000007 246810 {mac.hex()}") == ("", "9000")
    assert _tries(rig) == (3, 10)
    assert rig.send("0020000003 246810") == ("", "9000")


@ALGS
def test_reload_pin_through_cardlib(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg], seed=4)
    purse = rig.purse()
    ident = Identity.of(purse)
    drpk = _card_key(rig, "pin_reload")
    with pytest.raises(MacError):
        ident.reload_pin(reload_pin_data(bytes(16), "246810", alg))
    ident.reload_pin(reload_pin_data(drpk, "246810", alg))
    ident.verify_pin("246810")


# -- PIN UNBLOCK -----------------------------------------------------------------------


def test_pin_unblock_under_dpuk_byte_exact() -> None:
    rig = CardRig(PROFILES[Algorithm.TDES], randoms=("0102030405060708",) * 2, balance=500)
    assert rig.send(SELECT)[1] == "9000"
    for _ in range(3):
        rig.send("0020000003 999999")
    dpuk = _card_key(rig, "pin_unblock")
    challenge = H("0102030405060708")
    enc = _des_ecb(dpuk, H("03 123456 80000000"))  # L || PIN || 80 00.., 3DES ECB
    mac = _retail_mac(dpuk, H("842400000C") + enc, challenge)  # IV: the whole challenge
    data = enc + mac
    assert pin_unblock_data(dpuk, PIN, challenge, Algorithm.TDES) == data
    assert rig.send(f"842400000C {data.hex()}") == ("", "6982")  # no challenge
    assert rig.send("0084000008") == ("0102030405060708", "9000")
    assert rig.send(f"802400000C {data.hex()}") == ("", "6982")  # not under SM
    assert _tries(rig) == (0, 10)
    assert rig.send("0084000008") == ("0102030405060708", "9000")
    assert rig.send(f"842400000C {data.hex()}") == ("", "9000")
    assert _tries(rig) == (3, 10)
    assert rig.send("0020000003 123456") == ("", "9000")


@ALGS
def test_pin_unblock_through_cardlib(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg], seed=5)
    purse = rig.purse()
    ident = Identity.of(purse)
    for _ in range(3):
        with pytest.raises((InvalidPinError, PinBlockedError)):
            ident.verify_pin("999999")
    dpuk = _card_key(rig, "pin_unblock")
    with pytest.raises(SecureMessagingError):  # the wrong key: 6988, nothing changes
        ident.pin_unblock(lambda c: pin_unblock_data(bytes(16), PIN, c, alg))
    # The issuer vouches for a PIN that is not the card's: refused (6A80).
    with pytest.raises(Exception, match="6A80"):
        ident.pin_unblock(lambda c: pin_unblock_data(dpuk, "000000", c, alg))
    assert _tries(rig) == (0, 10)
    ident.pin_unblock(lambda c: pin_unblock_data(dpuk, PIN, c, alg))
    assert _tries(rig) == (3, 10)
    ident.verify_pin(PIN)
    sent = [e.command for e in rig.card_rec.take()]
    unblocks = [c for c in sent if c.startswith("8424")]
    # E(DPUK, one block) || MAC: 8 + 4 bytes for 3DES, 16 + 4 for SM4 (the project's).
    lc = "0C" if alg is Algorithm.TDES else "14"
    assert len(unblocks) == 3 and all(c.startswith(f"84240000{lc}") for c in unblocks)
    assert all(len(c) == 10 + 2 * int(lc, 16) for c in unblocks)
    assert sent.count("0084000008") == 3  # an 8-byte challenge before each


# -- RESET RETRY COUNTER (the project's PUK) ------------------------------------------


def test_reset_retry_counter_with_the_puk() -> None:
    rig = _rig()
    for _ in range(3):
        rig.send("0020000003 999999")
    assert rig.send("002C000007 00000000 112233") == ("", "63C9")
    assert rig.send("002C000107 12345678 112233") == ("", "6A86")
    assert rig.send("002C000008 12345678FF 112233") == ("", "6700")
    assert rig.send("002C000007 12345678 112233") == ("", "9000")
    assert _tries(rig) == (3, 10)
    assert rig.send("0020000003 112233") == ("", "9000")


# -- the 8-byte challenge is the whole IV ------------------------------------------------


@ALGS
def test_an_8_byte_challenge_is_the_whole_iv(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg], randoms=("1122334455667788",))
    assert rig.send(SELECT)[1] == "9000"
    damk = _card_key(rig, "maintenance")
    header = H("841E000004")
    whole = crypto.sm_mac(damk, header, H("1122334455667788"), alg)
    first4 = crypto.sm_mac(damk, header, H("11223344"), alg)
    if alg is Algorithm.TDES:  # and the same as the retail MAC computed here
        assert whole == _retail_mac(damk, header, H("1122334455667788"))
    assert whole != first4
    assert rig.send("0084000008") == ("1122334455667788", "9000")
    assert rig.send(f"841E000004 {first4.hex()}") == ("", "6988")
    rig2 = CardRig(PROFILES[alg], randoms=("1122334455667788",))
    assert rig2.send(SELECT)[1] == "9000"
    assert rig2.send("0084000008")[1] == "9000"
    assert rig2.send(f"841E000004 {whole.hex()}") == ("", "9000")
    assert rig2.card.eeprom["status"] == "blocked"
