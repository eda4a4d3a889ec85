"""The PSAM (terminal security access module) as a chip runs it.

Holds the terminal number (SFI 16), the purchase and maintenance master keys by
version, and the terminal transaction counter (TTC). INIT SAM FOR PURCHASE (80 70)
advances the TTC in EEPROM before it answers, so the counter moves on aborted
purchases too: unique, not contiguous.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardlib import crypto
from cardlib.apdu import CommandApdu
from cardlib.crypto import Algorithm
from cardlib.errors import ProtocolError
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import PSAM_AID, Ins, Sfi
from cardlib.sw import SW
from simulators.eeprom import Eeprom, PowerLost

__all__ = ["Psam", "make_psam"]

PSAM_ATR = bytes.fromhex("3B8880014349564950534D31")  # historical "CIVIPSM1"
MAX_TTC = 0xFFFFFFFF


class _Sw(Exception):
    def __init__(self, sw: int) -> None:
        self.sw = sw


@dataclass
class _Session:
    key: bytes
    amount: int
    alg: Algorithm


# 80 1A P1: the key's use (docs/card-spec.md §16) ◆
KEY_USAGES = {
    0x01: KeyRole.MAINTENANCE,
    0x02: KeyRole.APP_BLOCK,
    0x03: KeyRole.APP_UNBLOCK,
    0x04: KeyRole.FILE_MAINTENANCE,
}


class Psam:
    """A simulated PSAM (implements simulators.base.SimulatedDevice)."""

    def __init__(self, eeprom: Eeprom) -> None:
        self.eeprom = eeprom
        self._powered = False
        self._selected = False
        self._session: _Session | None = None
        self._mac_key: tuple[bytes, Algorithm] | None = None

    @classmethod
    def load(cls, path: Path) -> Psam:
        return cls(Eeprom.load(path))

    @property
    def terminal_id(self) -> bytes:
        return bytes.fromhex(self.eeprom["terminal_id"])

    @property
    def ttc(self) -> int:
        return int(self.eeprom["ttc"])

    def power_on(self) -> bytes:
        self.eeprom.power_up()
        self._powered = True
        self._selected = False
        self._session = None
        return PSAM_ATR

    def power_off(self) -> None:
        self._powered = False
        self._session = None

    def transmit(self, apdu: bytes) -> bytes:
        if not self._powered:
            raise PowerLost("PSAM not powered")
        try:
            cmd = CommandApdu.from_bytes(apdu)
        except ProtocolError:
            self._session = None  # still a command: 80 72 must follow 80 70 directly
            return SW.WRONG_LENGTH.to_bytes(2, "big")
        try:
            data = self._dispatch(cmd)
        except _Sw as exc:
            return exc.sw.to_bytes(2, "big")
        except PowerLost:
            self.power_off()
            raise
        if cmd.le is not None and cmd.le != 256 and cmd.le < len(data):
            return bytes([0x6C, len(data)])
        return data + b"\x90\x00"

    def _dispatch(self, cmd: CommandApdu) -> bytes:
        # 80 72 refers to the immediately preceding 80 70, 80 FA to the last 80 1A:
        # any other command ends them.
        session, self._session = self._session, None
        mac_key, self._mac_key = self._mac_key, None
        if (cmd.cla, cmd.ins) == (0x00, Ins.SELECT):
            self._selected = cmd.p1 == 0x04 and cmd.data == PSAM_AID
            if not self._selected:
                raise _Sw(SW.FILE_NOT_FOUND)
            return b""
        if not self._selected:
            raise _Sw(SW.CONDITIONS_NOT_SATISFIED)
        if (cmd.cla, cmd.ins) == (0x00, Ins.READ_BINARY):
            return self._read_binary(cmd)
        if (cmd.cla, cmd.ins) == (0x80, Ins.INIT_SAM_FOR_PURCHASE):
            return self._init_for_purchase(cmd)
        if (cmd.cla, cmd.ins) == (0x80, Ins.CREDIT_SAM_FOR_PURCHASE):
            return self._check_mac2(cmd, session)
        if (cmd.cla, cmd.ins) == (0x80, Ins.INIT_FOR_DESCRYPT):
            self._mac_key = self._init_for_descrypt(cmd)
            return b""
        if (cmd.cla, cmd.ins) == (0x80, Ins.MAINTENANCE_MAC):
            mac = self._cipher_data(cmd, mac_key)
            self._mac_key = mac_key  # the key stays chosen for further 80 FA
            return mac
        raise _Sw(SW.INS_NOT_SUPPORTED)

    def _read_binary(self, cmd: CommandApdu) -> bytes:
        if cmd.p1 == 0x80 | Sfi.HOLDER:
            data = self.terminal_id[cmd.p2 :]
            return data[: cmd.le] if cmd.le is not None and cmd.le != 256 else data
        if cmd.p1 == 0x80 | Sfi.KEYS:
            raise _Sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        raise _Sw(SW.FILE_NOT_FOUND)

    def _master(self, version: int, role: KeyRole, alg: int) -> tuple[bytes, Algorithm]:
        ks: dict[str, Any] | None = self.eeprom["keys"].get(str(version))
        if ks is None or role.value not in ks or ks["alg"] != alg:
            raise _Sw(SW.KEY_INDEX_NOT_SUPPORTED)
        return bytes.fromhex(ks[role.value]), Algorithm(alg)

    def _levels(self, version: int) -> int:
        """The key tree of a key version: 1 (ASN), or 2 (issuer id, then ASN)."""
        return int(self.eeprom["keys"][str(version)].get("levels", 1))

    def _factors(self, version: int, asn8: bytes, issuer8: bytes | None) -> tuple[bytes, ...]:
        """Diversification factors as the key record's levels want them; a two-level
        key without the issuer identifier cannot be used (6985)."""
        if self._levels(version) == 1:
            return (asn8,)  # an issuer id sent along is not part of a one-level tree
        if issuer8 is None:
            raise _Sw(SW.CONDITIONS_NOT_SATISFIED)
        return (issuer8, asn8)

    def _init_for_purchase(self, cmd: CommandApdu) -> bytes:
        # Lc 1C: the card's ASN8 alone; Lc 24: ASN8 then the issuer's identifier.
        if len(cmd.data) not in (0x1C, 0x24):
            raise _Sw(SW.WRONG_LENGTH)
        d = cmd.data
        random, atc = d[0:4], int.from_bytes(d[4:6], "big")
        amount, ttype = int.from_bytes(d[6:10], "big"), d[10]
        date, time = d[11:15], d[15:18]
        version, alg_id, asn8 = d[18], d[19], d[20:28]
        master, alg = self._master(version, KeyRole.PURCHASE, alg_id)
        factors = self._factors(version, asn8, d[28:36] if len(d) == 0x24 else None)
        ttc = self.ttc
        if ttc >= MAX_TTC:
            raise _Sw(SW.CONDITIONS_NOT_SATISFIED)
        with self.eeprom.atomic("init-sam") as w:
            w["ttc"] = ttc + 1
        dpk = crypto.diversify_path(master, factors, alg)
        sk = crypto.purchase_session_key(dpk, random, atc, ttc, alg)
        mac1 = crypto.purchase_mac1(sk, amount, ttype, self.terminal_id, date, time, alg)
        self._session = _Session(sk, amount, alg)
        return ttc.to_bytes(4, "big") + mac1

    def _check_mac2(self, cmd: CommandApdu, session: _Session | None) -> bytes:
        if session is None:
            raise _Sw(SW.CONDITIONS_NOT_SATISFIED)
        if len(cmd.data) != 4:
            raise _Sw(SW.WRONG_LENGTH)
        expected = crypto.purchase_mac2(session.key, session.amount, session.alg)
        if not secrets.compare_digest(expected, cmd.data):
            raise _Sw(SW.MAC_ERROR)
        return b""

    def _init_for_descrypt(self, cmd: CommandApdu) -> tuple[bytes, Algorithm]:
        """80 1A P1=use P2=key version, data ASN8 [‖ issuer id]: the card's key for the
        MACs that follow. A one-key PSAM answers every maintenance use with MAMK."""
        role = KEY_USAGES.get(cmd.p1)
        if role is None:
            raise _Sw(SW.INCORRECT_P1P2)
        if len(cmd.data) not in (8, 16):
            raise _Sw(SW.WRONG_LENGTH)
        ks: dict[str, Any] | None = self.eeprom["keys"].get(str(cmd.p2))
        if ks is None:
            raise _Sw(SW.KEY_INDEX_NOT_SUPPORTED)
        master_hex = ks.get(role.value)
        if master_hex is None and KeyRole.APP_BLOCK.value not in ks:
            master_hex = ks.get(KeyRole.MAINTENANCE.value)  # the one-key layout
        if master_hex is None:
            raise _Sw(SW.KEY_INDEX_NOT_SUPPORTED)
        alg = Algorithm(ks["alg"])
        issuer = cmd.data[8:16] if len(cmd.data) == 16 else None
        factors = self._factors(cmd.p2, cmd.data[:8], issuer)
        return crypto.diversify_path(bytes.fromhex(master_hex), factors, alg), alg

    def _cipher_data(self, cmd: CommandApdu, mac_key: tuple[bytes, Algorithm] | None) -> bytes:
        """80 FA 05 00, data IV (one block: the card's challenge padded with 00) ‖ the
        data to MAC: the secure-messaging MAC (4) under the key of the last 80 1A."""
        if cmd.p1 != 0x05 or cmd.p2 != 0x00:
            raise _Sw(SW.INCORRECT_P1P2)
        if mac_key is None:
            raise _Sw(SW.CONDITIONS_NOT_SATISFIED)
        key, alg = mac_key
        if len(cmd.data) < alg.block:
            raise _Sw(SW.WRONG_LENGTH)
        return crypto.sm_mac(key, cmd.data[alg.block :], cmd.data[: alg.block], alg)


def make_psam(
    keys: IssuerKeys, terminal_id: bytes, *, ttc: int = 1, path: Path | None = None
) -> Eeprom:
    """A PSAM's EEPROM image holding only the purchase and maintenance master keys."""
    if len(terminal_id) != 6:
        raise ValueError("terminal id is 6 bytes")
    sub = keys.subset(
        KeyRole.PURCHASE,
        KeyRole.MAINTENANCE,
        KeyRole.APP_BLOCK,
        KeyRole.APP_UNBLOCK,
        KeyRole.FILE_MAINTENANCE,
    )
    fields = {
        "terminal_id": terminal_id.hex().upper(),
        "ttc": ttc,
        "keys": {
            str(v): {
                "alg": int(keys.algorithm),
                "levels": keys.levels,  # the key tree the masters are diversified along
                **{r.value: k.hex().upper() for r, k in ks.items()},
            }
            for v, ks in sub.masters.items()
        },
    }
    eeprom = Eeprom(fields, path)
    eeprom.save()
    return eeprom
