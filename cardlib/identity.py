"""Client for the identity half of the citizen application: PIN, PUK, card authentication.

The identity lives in the same application as the purse, so a PIN verified at the
start of a session still holds when the purse is debited. Build :class:`Identity`
from the :class:`cardlib.purse.Purse` that selected the application.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import IntEnum

from cryptography import x509

from cardlib.apdu import ApduSession
from cardlib.certs import CardCertificate, Role, validate_card_certificate, verify_card_signature
from cardlib.errors import InvalidPinError, PinBlockedError, ProtocolError
from cardlib.layout import Ins, Sfi

__all__ = [
    "PIN_BLOCK_LEN",
    "PIN_TRIES",
    "PUK_TRIES",
    "Identity",
    "PersoGroup",
    "pin_block",
    "pin_digits",
]

PIN_TRIES = 3
PUK_TRIES = 10
PIN_BLOCK_LEN = 8
INS_VERIFY = 0x20
INS_CHANGE_REFERENCE_DATA = 0x24
INS_RESET_RETRY_COUNTER = 0x2C
INS_INTERNAL_AUTHENTICATE = 0x88
PIN_REF = 0x01
PUK_REF = 0x02
CERT_CHUNK = 200


class PersoGroup(IntEnum):
    """STORE DATA groups (P1) of personalization."""

    PUBLIC_INFO = 0x01
    HOLDER = 0x02
    PURSE = 0x03
    KEYS = 0x04  # encrypted
    PIN = 0x05  # encrypted
    PUK = 0x06  # encrypted
    CERTIFICATE = 0x07  # P2 = chunk index (200-byte chunks)


def pin_block(pin: str, digits: int = 6) -> bytes:
    """'123456' -> 12 34 56 FF FF FF FF FF (BCD, padded with F to 8 bytes)."""
    if len(pin) != digits or not pin.isdigit():
        raise ValueError(f"must be exactly {digits} digits")
    return bytes.fromhex(pin.ljust(2 * PIN_BLOCK_LEN, "F"))


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
        """VERIFY; raises InvalidPinError(tries_left) or PinBlockedError."""
        self.session.send_apdu(0x00, INS_VERIFY, 0x00, PIN_REF, pin_block(pin))

    def change_pin(self, old: str, new: str) -> None:
        data = pin_block(old) + pin_block(new)
        self.session.send_apdu(0x00, INS_CHANGE_REFERENCE_DATA, 0x00, PIN_REF, data)

    def unblock_pin(self, puk: str, new_pin: str) -> None:
        """RESET RETRY COUNTER with the PUK, setting a new PIN."""
        data = pin_block(puk, 8) + pin_block(new_pin)
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
