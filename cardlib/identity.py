"""Client for the identity half of the citizen application: PIN, PUK, card authentication.

The identity lives in the same application as the purse, so a PIN verified at the
start of a session still holds when the purse is debited. Build :class:`Identity`
from the :class:`cardlib.purse.Purse` that selected the application.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from enum import IntEnum

from cryptography import x509

from cardlib import crypto
from cardlib.apdu import ApduSession
from cardlib.certs import (
    OPERATOR_SIGN_TAG,
    CardCertificate,
    Role,
    validate_card_certificate,
    verify_card_signature,
)
from cardlib.crypto import Algorithm
from cardlib.errors import InvalidPinError, PinBlockedError, ProtocolError
from cardlib.layout import Ins, Sfi

__all__ = [
    "OPERATOR_SIGN_TAG",
    "PIN_BLOCK_LEN",
    "PIN_DIGITS",
    "PIN_TRIES",
    "PUK_DIGITS",
    "PUK_TRIES",
    "Identity",
    "PersoGroup",
    "bcd_pin",
    "pin_bcd",
    "pin_block",
    "pin_digits",
    "pin_unblock_data",
    "reload_pin_data",
]

PIN_TRIES = 3
PUK_TRIES = 10
PIN_DIGITS = 6  # the city's PINs
PUK_DIGITS = 8
PIN_BLOCK_LEN = 8  # personalization's F-padded block (STORE DATA groups 05/06)
INS_VERIFY = 0x20  # 00 20 00 00 Lc PIN (PBOC)
INS_PIN_UNBLOCK = 0x24  # 84 24 00 00 Lc E(DPUK, PIN) || MAC (PBOC)
INS_RESET_RETRY_COUNTER = 0x2C  # 00 2C 00 00 Lc PUK || new PIN (the project's)
INS_CHANGE_PIN = 0x5E  # 80 5E 01 00 change, 80 5E 00 00 reload under DRPK (PBOC)
INS_INTERNAL_AUTHENTICATE = 0x88
PIN_REF = 0x00  # PBOC's P2 for the application PIN
PUK_REF = 0x02  # P2 of VERIFY without data asking the PUK's tries (the project's)
CERT_CHUNK = 200
P1_OPERATOR_SIGN = 0x01  # INTERNAL AUTHENTICATE P1: an operator's signature (the project's)


def _ascii_digits(text: str, digits: int) -> str:
    if len(text) != digits or not (text.isascii() and text.isdigit()):
        raise ValueError(f"must be exactly {digits} digits 0-9")
    return text


def pin_bcd(pin: str, digits: int = PIN_DIGITS) -> bytes:
    """'123456' -> 12 34 56: packed BCD, an odd digit count padded with F (PBOC)."""
    text = _ascii_digits(pin, digits)
    return bytes.fromhex(text + "F" * (len(text) % 2))


def bcd_pin(raw: bytes) -> str:
    """Inverse of :func:`pin_bcd`; ValueError when not packed BCD digits (F only last)."""
    text = raw.hex().upper()
    if text.endswith("F"):
        text = text[:-1]
    if not text or not text.isdigit():
        raise ValueError("a PIN is packed BCD digits")
    return text


def reload_pin_data(drpk: bytes, new_pin: str, alg: Algorithm) -> bytes:
    """RELOAD PIN data, made by the issuer (who holds DRPK): new PIN (BCD) || MAC, the
    e-purse MAC over the PIN with zero IV, keyed like the TAC (DRPK's halves XORed for
    3DES; DRPK itself for SM4, the project's rule)."""
    bcd = pin_bcd(new_pin)
    return bcd + crypto.mac(crypto.tac_key(drpk, alg), bcd, alg)


def pin_unblock_data(
    dpuk: bytes, pin: str, challenge: bytes, alg: Algorithm, *, cla: int = 0x84
) -> bytes:
    """PIN UNBLOCK data, made by the issuer (who holds DPUK) for the card's challenge:
    E(DPUK, L ‖ PIN ‖ 80 00..) (one block, ECB) ‖ the secure-messaging MAC over
    ``84 24 00 00 Lc`` ‖ the encrypted block with the challenge as IV."""
    bcd = pin_bcd(pin)
    enc = crypto.channel_encrypt(dpuk, bytes([len(bcd)]) + bcd, alg)  # CBC, zero IV, 1 block
    header = bytes([cla, INS_PIN_UNBLOCK, 0, 0, len(enc) + 4])
    return enc + crypto.sm_mac(dpuk, header + enc, challenge, alg)


class PersoGroup(IntEnum):
    """STORE DATA groups (P1) of personalization."""

    PUBLIC_INFO = 0x01
    HOLDER = 0x02
    PURSE = 0x03
    KEYS = 0x04  # encrypted
    PIN = 0x05  # encrypted
    PUK = 0x06  # encrypted
    CERTIFICATE = 0x07  # P2 = chunk index (200-byte chunks)


def pin_block(pin: str, digits: int = PIN_DIGITS) -> bytes:
    """'123456' -> 12 34 56 FF FF FF FF FF (BCD, padded with F to 8 bytes): how
    personalization carries and the card stores a PIN or PUK."""
    return bytes.fromhex(_ascii_digits(pin, digits).ljust(2 * PIN_BLOCK_LEN, "F"))


def pin_digits(block: bytes) -> str:
    """Inverse of :func:`pin_block`; ValueError when not a well-formed block."""
    if len(block) != PIN_BLOCK_LEN:
        raise ValueError("a PIN block is 8 bytes")
    text = block.hex().upper().rstrip("F")
    if not text.isdigit():
        raise ValueError("a PIN block is BCD digits padded with F")
    return text


class Identity:
    """PIN, PUK and authentication on an already selected citizen application."""

    def __init__(self, session: ApduSession, asn: bytes) -> None:
        self.session = session
        self.asn = asn

    @classmethod
    def of(cls, purse: object) -> Identity:
        """The identity half of a selected :class:`cardlib.purse.Purse`."""
        from cardlib.purse import Purse

        if not isinstance(purse, Purse):
            raise TypeError("expected a Purse")
        return cls(purse.session, purse.asn)

    # -- PIN and PUK -------------------------------------------------------------------
    def _tries(self, ref: int) -> int:
        try:
            self.session.send_apdu(0x00, INS_VERIFY, 0x00, ref)
        except InvalidPinError as exc:
            return exc.tries_left
        except PinBlockedError:
            return 0
        return PIN_TRIES  # already verified in this session

    def pin_tries(self) -> int:
        """Tries left for the PIN, without spending one."""
        return self._tries(PIN_REF)

    def puk_tries(self) -> int:
        """Tries left for the PUK, without spending one."""
        return self._tries(PUK_REF)

    def verify_pin(self, pin: str) -> None:
        """VERIFY ``00 20 00 00 03``; raises InvalidPinError(tries_left) or PinBlockedError."""
        self.session.send_apdu(0x00, INS_VERIFY, 0x00, PIN_REF, pin_bcd(pin))

    def change_pin(self, old: str, new: str) -> None:
        """CHANGE PIN ``80 5E 01 00 07`` old ‖ FF ‖ new; the new PIN is then verified."""
        data = pin_bcd(old) + b"\xff" + pin_bcd(new)
        self.session.send_apdu(0x80, INS_CHANGE_PIN, 0x01, 0x00, data)

    def reload_pin(self, data: bytes) -> None:
        """RELOAD PIN ``80 5E 00 00 07`` with :func:`reload_pin_data` from the issuer:
        a new PIN with 3 tries, the old one not needed (a clerk's reset)."""
        self.session.send_apdu(0x80, INS_CHANGE_PIN, 0x00, 0x00, data)

    def pin_unblock(self, make_data: Callable[[bytes], bytes]) -> None:
        """PIN UNBLOCK ``84 24 00 00``: GET CHALLENGE (8 bytes), then the data the issuer
        makes for that challenge (:func:`pin_unblock_data`); the PIN's tries back to 3."""
        challenge = self.session.send_apdu(0x00, Ins.GET_CHALLENGE, 0, 0, le=8)
        self.session.send_apdu(0x84, INS_PIN_UNBLOCK, 0x00, 0x00, make_data(challenge))

    def unblock_pin(self, puk: str, new_pin: str) -> None:
        """RESET RETRY COUNTER ``00 2C 00 00 07`` with the PUK, setting a new PIN."""
        data = pin_bcd(puk, PUK_DIGITS) + pin_bcd(new_pin)
        self.session.send_apdu(0x00, INS_RESET_RETRY_COUNTER, 0x00, PIN_REF, data)

    # -- authentication ----------------------------------------------------------------
    def read_certificate(self) -> bytes:
        """The card's X.509 certificate (DER), from SFI 1B."""
        first = self.session.send_apdu(0x00, Ins.READ_BINARY, 0x80 | Sfi.CERTIFICATE, 0, le=4)
        if len(first) < 4 or first[0] != 0x30 or first[1] != 0x82:
            raise ProtocolError("certificate file does not hold a DER SEQUENCE")
        total = 4 + int.from_bytes(first[2:4], "big")
        out = bytearray()
        while len(out) < total:
            n = min(240, total - len(out))
            offset = len(out)
            out += self.session.send_apdu(0x00, Ins.READ_BINARY, offset >> 8, offset & 0xFF, le=n)
        return bytes(out)

    def internal_authenticate(self, challenge: bytes) -> bytes:
        return self.session.send_apdu(0x00, INS_INTERNAL_AUTHENTICATE, 0, 0, challenge, le=256)

    def operator_sign(self, digest: bytes) -> bytes:
        """INTERNAL AUTHENTICATE ``00 88 01 00 20`` digest: the operator card's ECDSA
        signature over :data:`OPERATOR_SIGN_TAG` ‖ ``digest`` (DER). The card answers 6982
        unless it is an operator's card whose PIN was verified in this session."""
        if len(digest) != 32:
            raise ValueError("an operator signs a 32-byte digest")
        return self.session.send_apdu(
            0x00, INS_INTERNAL_AUTHENTICATE, P1_OPERATOR_SIGN, 0, digest, le=256
        )

    def authenticate(
        self, *, trusted: list[x509.Certificate], now: dt.datetime, role: Role | None = Role.CITIZEN
    ) -> CardCertificate:
        """Prove the card genuine: its certificate chains to ``trusted``, is valid now,
        names this ASN and ``role``, and the card signs a fresh challenge with its key."""
        card = validate_card_certificate(
            self.read_certificate(), trusted=trusted, asn=self.asn, now=now, role=role
        )
        challenge = secrets.token_bytes(16)
        verify_card_signature(card, challenge, self.internal_authenticate(challenge))
        return card
