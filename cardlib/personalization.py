"""Personalization of a blank citizen card under a secure channel (issuer side).

Steps (docs/card-spec.md part 2): read the chip serial, derive the card's
personalization key from the issuer's personalization master, mutual authentication
(GET CHALLENGE, MUTUAL AUTHENTICATE), then under secure messaging (command MAC
chained from the card's challenge; keys, PIN and PUK encrypted): public info, holder
data, purse limits, the diversified purse keys, PIN, PUK; GENERATE KEY PAIR on the
card (only the public key leaves it, under a response MAC); the issuer signs the
certificate, which is stored; ACTIVATE last. A tear anywhere leaves the card not yet
active, and :meth:`Personalizer.open_channel` starts it over.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cardlib import crypto
from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.errors import MacError, ProtocolError, SecureChannelError
from cardlib.identity import CERT_CHUNK, PersoGroup, pin_block
from cardlib.keys import CARD_ROLES, CardKeys, KeyRole, MaintenanceLayout, card_roles
from cardlib.layout import CARD_AID, Holder, Ins, PublicInfo

__all__ = ["Lifecycle", "PersoData", "Personalizer"]

LIFECYCLE = {1: "blank", 2: "personalized", 3: "active", 4: "blocked", 5: "terminated"}


class Lifecycle:
    BLANK = "blank"
    PERSONALIZED = "personalized"
    ACTIVE = "active"
    BLOCKED = "blocked"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class PersoData:
    """Everything written to one card."""

    public_info: PublicInfo
    holder: Holder
    card_keys: CardKeys
    pin: str
    puk: str
    overdraft_limit: int = 0
    max_balance: int = 100_000
    key_index: int = 1
    purchase_needs_pin: bool = False  # the passbook (ED) rule; PBOC's e-purse: False


class Personalizer:
    """The issuer's side of the personalization protocol on one card."""

    def __init__(self, session: ApduSession, perso_master: bytes, algorithm: Algorithm) -> None:
        self.session = session
        self.perso_master = perso_master
        self.algorithm = algorithm
        self._s_enc = b""
        self._s_mac = b""
        self._icv = b""
        session.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, CARD_AID, le=256)

    def chip_serial(self) -> bytes:
        return self.session.send_apdu(0x80, Ins.GET_DATA, 0x9F, 0x7F, le=8)

    def lifecycle(self) -> str:
        raw = self.session.send_apdu(0x80, Ins.GET_DATA, 0x9F, 0x70, le=1)
        return LIFECYCLE.get(raw[0], f"unknown ({raw[0]:02X})")

    def open_channel(self) -> None:
        """Mutual authentication; raises SecureChannelError if either side is not who
        it claims (wrong key, or a card that is not ours)."""
        perso_key = crypto.diversify(self.perso_master, self.chip_serial(), self.algorithm)
        rc = self.session.send_apdu(0x00, Ins.GET_CHALLENGE, 0x00, 0x00, le=8)
        rt = secrets.token_bytes(8)
        s_enc, s_mac = crypto.channel_session_keys(perso_key, rc, rt, self.algorithm)
        tc = crypto.channel_cryptogram(s_mac, rc + rt, self.algorithm)
        try:
            cc = self.session.send_apdu(0x80, Ins.MUTUAL_AUTHENTICATE, 0, 0, rt + tc, le=8)
        except MacError as exc:
            raise SecureChannelError("the card rejected our cryptogram (wrong key?)") from exc
        if not secrets.compare_digest(
            cc, crypto.channel_cryptogram(s_mac, rt + rc, self.algorithm)
        ):
            raise SecureChannelError("the card's cryptogram is wrong: not a card of ours")
        self._s_enc, self._s_mac, self._icv = s_enc, s_mac, rc[:4]

    def _send(
        self, ins: int, p1: int, p2: int, payload: bytes = b"", le: int | None = None
    ) -> bytes:
        if not self._s_mac:
            raise SecureChannelError("no secure channel open")
        header = bytes([0x84, ins, p1, p2, len(payload) + 4])
        mac = crypto.sm_mac(self._s_mac, header + payload, self._icv, self.algorithm)
        self._icv = mac
        return self.session.send_apdu(0x84, ins, p1, p2, payload + mac, le)

    def store(self, group: PersoGroup, data: bytes, *, p2: int = 0) -> None:
        if group in (PersoGroup.KEYS, PersoGroup.PIN, PersoGroup.PUK):
            data = crypto.channel_encrypt(self._s_enc, data, self.algorithm)
        self._send(Ins.STORE_DATA, group, p2, data)

    def generate_key_pair(self) -> bytes:
        """The card makes its ECDSA P-256 key; returns the uncompressed public point,
        checked against the card's response MAC."""
        resp = self._send(Ins.GENERATE_KEY_PAIR, 0, 0, le=256)
        if len(resp) != 69 or resp[0] != 0x04:
            raise ProtocolError("GENERATE KEY PAIR answer is a 65-byte point and a MAC")
        point, mac = resp[:65], resp[65:]
        if crypto.sm_mac(self._s_mac, point, self._icv, self.algorithm) != mac:
            raise SecureChannelError("the public key did not come from this card")
        return point

    def store_certificate(self, der: bytes) -> None:
        for n, offset in enumerate(range(0, len(der), CERT_CHUNK)):
            self.store(PersoGroup.CERTIFICATE, der[offset : offset + CERT_CHUNK], p2=n)

    def activate(self) -> None:
        self._send(Ins.ACTIVATE, 0, 0)
        self._s_enc = self._s_mac = b""

    def personalize(self, data: PersoData, certify: Callable[[bytes], bytes]) -> None:
        """The whole sequence. ``certify`` takes the card's public point and returns the
        DER certificate the issuer signed for it."""
        if data.card_keys.algorithm is not self.algorithm:
            raise ValueError("card keys and personalization use different algorithms")
        self.open_channel()
        self.store(PersoGroup.PUBLIC_INFO, data.public_info.to_bytes())
        self.store(PersoGroup.HOLDER, data.holder.to_bytes())
        purse = data.overdraft_limit.to_bytes(3, "big") + data.max_balance.to_bytes(4, "big")
        if data.purchase_needs_pin:  # the optional flags byte, bit 0 (docs/card-spec.md §13)
            purse += b"\x01"
        self.store(PersoGroup.PURSE, purse)
        keys = bytes([data.key_index, data.card_keys.version, self.algorithm])
        # The maintenance layout is the key set's: DAMK, or DABK DAUK DFMK.
        separate = KeyRole.APP_BLOCK in data.card_keys.keys
        roles = card_roles(MaintenanceLayout.SEPARATE if separate else MaintenanceLayout.ONE_KEY)
        keys += b"".join(data.card_keys[role] for role in roles)
        self.store(PersoGroup.KEYS, keys)
        self.store(PersoGroup.PIN, pin_block(data.pin))
        self.store(PersoGroup.PUK, pin_block(data.puk, 8))
        point = self.generate_key_pair()
        self.store_certificate(certify(point))
        self.activate()


assert tuple(CARD_ROLES) == (
    KeyRole.PURCHASE,
    KeyRole.LOAD,
    KeyRole.TAC,
    KeyRole.PIN_UNBLOCK,
    KeyRole.PIN_RELOAD,
    KeyRole.MAINTENANCE,
), "STORE DATA key order is fixed by docs/card-spec.md"
