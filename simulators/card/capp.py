"""The composite (CAPP) purchase on the card: the transit record committed with the debit.

Mixed into :class:`simulators.card.os.CitizenCard`. INITIALIZE FOR CAPP PURCHASE
(``80 50 03 02``) opens a type-09 pending transaction without a PIN (buses and
gates debit the purse without one); UPDATE CAPP DATA CACHE (``80 DC``) may follow
it, any number of times, and only puts the new record in RAM; DEBIT FOR CAPP
PURCHASE (``80 54 01 00``) checks MAC1 and writes balance, offline ATC, log, proof
and the cached record in one journalled EEPROM write (label ``capp-debit``), so a
tear leaves the card with neither or both. docs/card-spec.md §15.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cardlib import crypto
from cardlib.apdu import CommandApdu
from cardlib.capp import CAPP_RECORD_LEN, CAPP_RECORDS, SFI_CAPP
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import KeyRole
from cardlib.layout import LOG_RECORDS, Ins
from cardlib.sw import SW
from simulators.card.identity import SwError
from simulators.card.pending import Pending
from simulators.eeprom import Eeprom

__all__ = ["CappCommands", "capp_records"]

MAX_ATC = 0xFFFF
_GET_BALANCE = CommandApdu(0x80, Ins.GET_BALANCE, 0x00, 0x02, b"", 4)


def capp_records(eeprom: Eeprom) -> list[bytes]:
    """The composite file's records; a card personalized before it existed has them
    all unused (zero), which is also how a fresh card starts."""
    stored: list[str] = eeprom.get("capp") or []
    records = [bytes.fromhex(r) for r in stored[:CAPP_RECORDS]]
    return records + [bytes(CAPP_RECORD_LEN)] * (CAPP_RECORDS - len(records))


@dataclass
class _CappCache:
    """Records staged by UPDATE CAPP DATA CACHE for one pending composite purchase."""

    pending: Pending
    records: dict[int, bytes] = field(default_factory=dict)


class CappCommands:
    """INITIALIZE / UPDATE CAPP DATA CACHE / DEBIT FOR CAPP PURCHASE, and SFI 19 reads."""

    eeprom: Eeprom
    _rng: Callable[[int], bytes]
    _pending: Pending | None
    _pin_verified: bool
    _capp_cache: _CappCache | None = None
    # Provided by CitizenCard:
    _require_active: Callable[[], None]
    _key_set: Callable[[int], dict[str, Any]]
    _get_balance: Callable[[CommandApdu], bytes]
    _log_entry: Callable[[Pending, bytes, bytes], str]

    def _staged(self) -> _CappCache | None:
        # The cache belongs to the pending transaction it was made for: when the card
        # drops that one (another command, SELECT, a reset), the cache goes with it.
        cache = self._capp_cache
        if cache is None or self._pending is None or cache.pending is not self._pending:
            return None
        return cache

    def _initialize_capp(self, cmd: CommandApdu) -> bytes:
        self._require_active()
        if cmd.p2 != 0x02:
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != 11:
            raise SwError(SW.WRONG_LENGTH)
        # No PIN, as for the EP purchase; a card personalized with the passbook (ED)
        # rule (the issuer's choice) demands it for every purchase, this one too.
        if self.eeprom.get("purchase_needs_pin", False) and not self._pin_verified:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        key_index = cmd.data[0]
        amount = int.from_bytes(cmd.data[1:5], "big")
        ks = self._key_set(key_index)
        balance = int(self.eeprom["balance"])
        atc = int(self.eeprom["offline_atc"])
        overdraft = int(self.eeprom["overdraft_limit"])
        if atc >= MAX_ATC:
            raise SwError(SW.ATC_EXHAUSTED)
        if amount == 0:
            raise SwError(SW.WRONG_DATA)
        if balance + overdraft < amount:
            raise SwError(SW.INSUFFICIENT_BALANCE)
        random = self._rng(4)
        pending = Pending(
            TransactionType.CAPP_PURCHASE, key_index, amount, cmd.data[5:11], atc, random, balance
        )
        self._pending = pending
        self._capp_cache = _CappCache(pending)
        # The balance field exactly as GET BALANCE encodes it.
        return (
            self._get_balance(_GET_BALANCE)
            + atc.to_bytes(2, "big")
            + overdraft.to_bytes(3, "big")
            + bytes([ks["version"], ks["alg"]])
            + random
        )

    def _update_capp_cache(self, cmd: CommandApdu) -> bytes:
        cache = self._staged()
        if cache is None or cache.pending.kind != TransactionType.CAPP_PURCHASE:
            self._pending = None
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        try:
            if cmd.p2 & 0x07 or cmd.p2 >> 3 != SFI_CAPP:
                raise SwError(SW.FILE_NOT_FOUND if not cmd.p2 & 0x07 else SW.INCORRECT_P1P2)
            if not 1 <= cmd.p1 <= CAPP_RECORDS:
                raise SwError(SW.RECORD_NOT_FOUND)
            if len(cmd.data) != CAPP_RECORD_LEN:
                raise SwError(SW.WRONG_LENGTH)
            tag = capp_records(self.eeprom)[cmd.p1 - 1][0]
            # A record keeps its application's tag for life: the bus operator cannot
            # overwrite the metro's record, nor anyone mark a record unused again.
            if cmd.data[0] == 0 or (tag != 0 and cmd.data[0] != tag):
                raise SwError(SW.WRONG_DATA)
        except SwError:
            self._pending = None  # a refused update ends the transaction
            raise
        cache.records[cmd.p1] = cmd.data
        return b""

    def _debit_capp(self, cmd: CommandApdu) -> bytes:
        cache = self._staged()
        pending, self._pending = self._pending, None
        if pending is None or cmd.p1 != 0x01 or cache is None:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        if len(cmd.data) != 15:
            raise SwError(SW.WRONG_LENGTH)
        if not cache.records:
            # A type-09 debit always carries its transit record (project rule).
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        ttc = int.from_bytes(cmd.data[0:4], "big")
        date, time, mac1 = cmd.data[4:8], cmd.data[8:11], cmd.data[11:15]
        ks = self._key_set(pending.key_index)
        alg = Algorithm(ks["alg"])
        dpk = bytes.fromhex(ks[KeyRole.PURCHASE.value])
        sk = crypto.purchase_session_key(dpk, pending.card_random, pending.atc, ttc, alg)
        ttype = TransactionType.CAPP_PURCHASE
        expected = crypto.purchase_mac1(sk, pending.amount, ttype, pending.terminal_id, date,
                                        time, alg)  # fmt: skip
        if not secrets.compare_digest(expected, mac1):
            raise SwError(SW.MAC_ERROR)
        mac2 = crypto.purchase_mac2(sk, pending.amount, alg)
        tac_k = crypto.tac_key(bytes.fromhex(ks[KeyRole.TAC.value]), alg)
        tac = crypto.purchase_tac(tac_k, pending.amount, ttype, pending.terminal_id, ttc, date,
                                  time, alg)  # fmt: skip
        records = capp_records(self.eeprom)
        for number, data in cache.records.items():
            records[number - 1] = data
        log: list[str] = list(self.eeprom["log"])
        log.insert(0, self._log_entry(pending, date, time))
        with self.eeprom.atomic("capp-debit") as w:
            w["balance"] = pending.balance - pending.amount
            w["offline_atc"] = pending.atc + 1
            w["log"] = log[:LOG_RECORDS]
            w["capp"] = [r.hex().upper() for r in records]
            w["last"] = {"type": int(ttype), "atc": pending.atc, "mac2": mac2.hex().upper(),
                         "tac": tac.hex().upper()}  # fmt: skip
        return tac + mac2

    def _read_capp_record(self, cmd: CommandApdu) -> bytes:
        if not 1 <= cmd.p1 <= CAPP_RECORDS:
            raise SwError(SW.RECORD_NOT_FOUND)
        return capp_records(self.eeprom)[cmd.p1 - 1]
