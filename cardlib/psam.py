"""Client for the terminal's PSAM (secure access module in its own PC/SC slot)."""

from __future__ import annotations

from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.errors import ProtocolError
from cardlib.layout import PSAM_AID, Ins, Sfi

__all__ = ["PsamClient"]


class PsamClient:
    """The PSAM application: selects itself and reads the terminal id when built."""

    def __init__(self, session: ApduSession) -> None:
        self.session = session
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
    ) -> tuple[int, bytes]:
        """INIT SAM FOR PURCHASE (80 70): returns (TTC, MAC1). The TTC advances even if
        the purchase is later abandoned."""
        data = (
            card_random
            + offline_atc.to_bytes(2, "big")
            + amount.to_bytes(4, "big")
            + bytes([ttype])
            + date
            + time
            + bytes([key_version, algorithm])
            + asn[-8:]
        )
        resp = self.session.send_apdu(0x80, Ins.INIT_SAM_FOR_PURCHASE, 0x00, 0x00, data, le=8)
        if len(resp) != 8:
            raise ProtocolError(f"80 70 answer is 8 bytes, got {len(resp)}")
        return int.from_bytes(resp[:4], "big"), resp[4:]

    def check_mac2(self, mac2: bytes) -> None:
        """CREDIT SAM FOR PURCHASE (80 72): raises MacError if the card's MAC2 is wrong."""
        self.session.send_apdu(0x80, Ins.CREDIT_SAM_FOR_PURCHASE, 0x00, 0x00, mac2)

    def maintenance_mac(
        self, *, key_version: int, algorithm: Algorithm, asn: bytes, challenge: bytes, data: bytes
    ) -> bytes:
        """Secure-messaging MAC with the card's diversified maintenance key (DAMK)."""
        if len(challenge) < 4:
            raise ValueError("challenge is at least 4 bytes")
        payload = bytes([key_version, algorithm]) + asn[-8:] + challenge[:4] + data
        return self.session.send_apdu(0x80, Ins.MAINTENANCE_MAC, 0x00, 0x00, payload, le=4)
