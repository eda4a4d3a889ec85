"""Client for the terminal's PSAM (secure access module in its own PC/SC slot)."""

from __future__ import annotations

from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.errors import ProtocolError
from cardlib.keys import KeyRole
from cardlib.layout import PSAM_AID, Ins, Sfi

__all__ = ["KEY_USAGE", "PsamClient"]

# INIT FOR DESCRYPT (80 1A) P1 for each maintenance key (docs/card-spec.md §16).
KEY_USAGE = {
    KeyRole.MAINTENANCE: 0x01,
    KeyRole.APP_BLOCK: 0x02,
    KeyRole.APP_UNBLOCK: 0x03,
    KeyRole.FILE_MAINTENANCE: 0x04,
}


class PsamClient:
    """The PSAM application: selects itself and reads the terminal id when built.

    ``two_level``: the PSAM's keys are a two-level tree (issuer, then card), so INIT
    SAM FOR PURCHASE carries the card's issuer identifier too (Lc 24)."""

    def __init__(self, session: ApduSession, *, two_level: bool = False) -> None:
        self.session = session
        self.two_level = two_level
        session.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, PSAM_AID)
        tid = session.send_apdu(0x00, Ins.READ_BINARY, 0x80 | Sfi.HOLDER, 0x00, le=6)
        if len(tid) != 6:
            raise ProtocolError(f"PSAM terminal id is 6 bytes, got {len(tid)}")
        self.terminal_id = tid

    def init_for_purchase(
        self,
        *,
        card_random: bytes,
        offline_atc: int,
        amount: int,
        ttype: int,
        date: bytes,
        time: bytes,
        key_version: int,
        algorithm: Algorithm,
        asn: bytes,
        issuer_id: bytes | None = None,
    ) -> tuple[int, bytes]:
        """INIT SAM FOR PURCHASE (80 70): returns (TTC, MAC1). The TTC advances even if
        the purchase is later abandoned. With ``issuer_id`` (8 bytes) the two-level
        form, Lc 24; without, Lc 1C."""
        if issuer_id is not None and len(issuer_id) != 8:
            raise ValueError("the issuer identifier is 8 bytes")
        data = (
            card_random
            + offline_atc.to_bytes(2, "big")
            + amount.to_bytes(4, "big")
            + bytes([ttype])
            + date
            + time
            + bytes([key_version, algorithm])
            + asn[-8:]
            + (issuer_id or b"")
        )
        resp = self.session.send_apdu(0x80, Ins.INIT_SAM_FOR_PURCHASE, 0x00, 0x00, data, le=8)
        if len(resp) != 8:
            raise ProtocolError(f"80 70 answer is 8 bytes, got {len(resp)}")
        return int.from_bytes(resp[:4], "big"), resp[4:]

    def check_mac2(self, mac2: bytes) -> None:
        """CREDIT SAM FOR PURCHASE (80 72): raises MacError if the card's MAC2 is wrong."""
        self.session.send_apdu(0x80, Ins.CREDIT_SAM_FOR_PURCHASE, 0x00, 0x00, mac2)

    def maintenance_mac(
        self,
        *,
        key_version: int,
        algorithm: Algorithm,
        asn: bytes,
        challenge: bytes,
        data: bytes,
        role: KeyRole = KeyRole.MAINTENANCE,
        issuer_id: bytes | None = None,
    ) -> bytes:
        """Secure-messaging MAC with the card's maintenance key for ``role``, as PSAMs
        compute it: INIT FOR DESCRYPT (80 1A: the key's use, version, and the card's
        diversification, with the issuer id for a two-level tree), then CIPHER DATA
        (80 FA 05: the challenge as IV, then the data)."""
        if not 4 <= len(challenge) <= algorithm.block:
            raise ValueError(f"challenge is 4..{algorithm.block} bytes")
        factors = asn[-8:] + (issuer_id if self.two_level and issuer_id else b"")
        self.session.send_apdu(0x80, Ins.INIT_FOR_DESCRYPT, KEY_USAGE[role], key_version, factors)
        iv = challenge + bytes(algorithm.block - len(challenge))  # the whole challenge
        return self.session.send_apdu(0x80, Ins.MAINTENANCE_MAC, 0x05, 0x00, iv + data, le=4)
