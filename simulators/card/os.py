"""The citizen card's operating system: the e-purse application as a chip runs it.

Not canned answers: every command is parsed, checked against the card's state and
access conditions, and answered with the same cryptography a real card computes
(cardlib.crypto). Balance, ATC, log and the last-transaction proof are committed
in one atomic EEPROM write (simulators.eeprom), so a tear leaves the card exactly
before or after. docs/card-spec.md is the behaviour this class implements.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from cardlib import crypto, tlv
from cardlib.apdu import CommandApdu
from cardlib.capp import CAPP_P1, INS_UPDATE_CAPP_DATA_CACHE, SFI_CAPP
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import ProtocolError
from cardlib.keys import KeyRole
from cardlib.layout import (
    CARD_AID,
    LOG_RECORD_LEN,
    LOG_RECORDS,
    Ins,
    LogRecord,
    Sfi,
)
from cardlib.sw import SW
from simulators.card.capp import CappCommands
from simulators.card.identity import CardStatus, IdentityCommands, SwError, _Channel
from simulators.card.pending import Pending as _Pending
from simulators.eeprom import Eeprom, PowerLost

__all__ = ["CardStatus", "CitizenCard"]

DEFAULT_ATR = bytes.fromhex("3B8880014349564943415244")  # T=1, historical "CIVICARD"
MAX_ATC = 0xFFFF


class CitizenCard(IdentityCommands, CappCommands):
    """A simulated citizen card (implements simulators.base.SimulatedDevice).

    ``rng`` supplies card randoms and challenges (inject a seeded one for byte-exact
    tests); ``clock`` is unused by the card (cards have no clock) and kept out.
    """

    def __init__(self, eeprom: Eeprom, rng: Callable[[int], bytes] | None = None) -> None:
        self.eeprom = eeprom
        self._rng = rng or secrets.token_bytes
        self._powered = False
        self._selected = False
        self._pending: _Pending | None = None
        self._challenge: bytes | None = None
        self._response_buffer = b""
        self._pin_verified = False
        self._channel: _Channel | None = None
        self._current_ef: int | None = None

    # -- construction ------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, rng: Callable[[int], bytes] | None = None) -> CitizenCard:
        return cls(Eeprom.load(path), rng)

    @property
    def asn(self) -> bytes:
        return bytes.fromhex(self.eeprom["public_info"])[10:20]

    @property
    def balance(self) -> int:
        return int(self.eeprom["balance"])

    # -- SimulatedDevice ---------------------------------------------------------------
    def power_on(self) -> bytes:
        self.eeprom.power_up()
        self._powered = True
        self._selected = False
        self._pending = None
        self._challenge = None
        self._response_buffer = b""
        self._pin_verified = False
        self._channel = None
        self._current_ef = None
        return bytes.fromhex(self.eeprom.get("atr", DEFAULT_ATR.hex()))

    def power_off(self) -> None:
        self._powered = False
        self._selected = False
        self._pending = None
        self._challenge = None
        self._pin_verified = False
        self._channel = None

    def transmit(self, apdu: bytes) -> bytes:
        """One command; a tear (PowerLost) propagates: the reader sees the card gone."""
        if not self._powered:
            raise PowerLost("card not powered")
        try:
            cmd = CommandApdu.from_bytes(apdu)
        except ProtocolError:
            # Still a command: it cancels an INITIALIZE and uses up a challenge.
            self._pending = None
            self._challenge = None
            return SW.WRONG_LENGTH.to_bytes(2, "big")
        try:
            data = self._dispatch(cmd)
        except SwError as exc:
            if cmd.ins not in (Ins.GET_RESPONSE, Ins.GET_CHALLENGE):
                self._challenge = None
            return exc.sw.to_bytes(2, "big")
        except PowerLost:
            self.power_off()
            raise
        if cmd.ins not in (Ins.GET_RESPONSE, Ins.GET_CHALLENGE):
            self._challenge = None  # a challenge serves the very next command only
        return self._deliver(cmd, data)

    def _deliver(self, cmd: CommandApdu, data: bytes) -> bytes:
        """T=0 style delivery: 61xx when Le was absent, 6Cxx when it was too short."""
        if not data:
            return b"\x90\x00"
        if cmd.le is None:
            self._response_buffer = data
            return bytes([0x61, len(data) & 0xFF])
        if cmd.le < len(data) and cmd.le != 256:
            return bytes([0x6C, len(data) & 0xFF])
        return data + b"\x90\x00"

    # -- dispatch ----------------------------------------------------------------------
    def _dispatch(self, cmd: CommandApdu) -> bytes:
        if cmd.ins != Ins.GET_RESPONSE:
            self._response_buffer_reset()
        else:
            return self._get_response(cmd)
        if cmd.cla != 0x80 or cmd.ins not in (
            Ins.DEBIT_FOR_PURCHASE, Ins.CREDIT_FOR_LOAD, INS_UPDATE_CAPP_DATA_CACHE
        ):  # fmt: skip
            # INITIALIZE must be followed directly by its command (a composite purchase's
            # DEBIT by UPDATE CAPP DATA CACHE first): any other one, even one refused
            # below (unknown INS, wrong CLA, chaining), cancels it.
            self._pending = None
        if cmd.cla & 0x10:
            raise SwError(SW.CHAINING_NOT_SUPPORTED)
        if cmd.ins == Ins.SELECT and cmd.cla == 0x00:
            return self._select(cmd)
        if not self._selected:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        status = self.eeprom["status"]
        if status == CardStatus.TERMINATED:
            raise SwError(SW.APPLICATION_LOCKED)
        key = (cmd.cla & 0xF0, cmd.ins)
        if status in (CardStatus.BLANK, CardStatus.PERSONALIZED) and key not in _PERSO_COMMANDS:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        handler = self._HANDLERS.get(key)
        if handler is None:
            known_ins = {ins for _, ins in self._HANDLERS}
            raise SwError(SW.CLA_NOT_SUPPORTED if cmd.ins in known_ins else SW.INS_NOT_SUPPORTED)
        return handler(self, cmd)

    def _response_buffer_reset(self) -> None:
        self._response_buffer = b""

    def _get_response(self, cmd: CommandApdu) -> bytes:
        if not self._response_buffer:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        data, self._response_buffer = self._response_buffer, b""
        if cmd.le is not None and cmd.le != 256 and cmd.le < len(data):
            self._response_buffer = data
            raise SwError(0x6C00 | len(data))
        return data

    def _select(self, cmd: CommandApdu) -> bytes:
        if cmd.p1 != 0x04 or cmd.data != CARD_AID:
            self._selected = False
            raise SwError(SW.FILE_NOT_FOUND)
        self._selected = True
        self._pending = None
        self._pin_verified = False  # security state does not survive reselection
        self._channel = None
        self._current_ef = None
        status = self.eeprom["status"]
        if status == CardStatus.TERMINATED:
            raise SwError(SW.APPLICATION_LOCKED)
        if status in (CardStatus.BLANK, CardStatus.PERSONALIZED):
            return tlv.build([(0x6F, tlv.build([(0x84, CARD_AID)]))])
        public = bytes.fromhex(self.eeprom["public_info"])
        fci = tlv.build(
            [(0x6F, tlv.build([(0x84, CARD_AID), (0xA5, tlv.build([(0x9F0C, public)]))]))]
        )
        if status == CardStatus.BLOCKED:
            # The application stays selected so that it can be read and unblocked.
            raise SwError(SW.FUNCTION_NOT_SUPPORTED)
        return fci

    # -- files -------------------------------------------------------------------------
    def _read_binary(self, cmd: CommandApdu) -> bytes:
        if cmd.p1 & 0x80:  # SFI in P1, offset in P2; the file becomes the current EF
            sfi, offset = cmd.p1 & 0x1F, cmd.p2
        elif self._current_ef is not None:  # 15-bit offset in the current EF
            sfi, offset = self._current_ef, (cmd.p1 << 8) | cmd.p2
        else:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        content = self._binary_file(sfi)
        self._current_ef = sfi
        if offset > len(content):
            raise SwError(SW.WRONG_P1P2)
        want = cmd.le if cmd.le is not None and cmd.le != 256 else len(content) - offset
        return content[offset : offset + want]

    def _binary_file(self, sfi: int) -> bytes:
        if sfi == Sfi.PUBLIC_INFO:
            return bytes.fromhex(self.eeprom["public_info"])
        if sfi == Sfi.HOLDER:
            return bytes.fromhex(self.eeprom["holder"])
        if sfi == Sfi.CERTIFICATE:
            return bytes.fromhex(self.eeprom.get("certificate") or "")
        if sfi in (Sfi.PURSE, Sfi.KEYS, Sfi.LOG):
            raise SwError(
                SW.SECURITY_STATUS_NOT_SATISFIED if sfi != Sfi.LOG else SW.COMMAND_INCOMPATIBLE
            )
        raise SwError(SW.FILE_NOT_FOUND)

    def _read_record(self, cmd: CommandApdu) -> bytes:
        sfi = cmd.p2 >> 3
        if cmd.p2 & 0x07 != 0x04:
            raise SwError(SW.INCORRECT_P1P2)
        if sfi in (Sfi.PURSE, Sfi.KEYS):
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if sfi in (Sfi.PUBLIC_INFO, Sfi.HOLDER):
            raise SwError(SW.COMMAND_INCOMPATIBLE)
        if sfi == SFI_CAPP:
            return self._read_capp_record(cmd)
        if sfi != Sfi.LOG:
            raise SwError(SW.FILE_NOT_FOUND)
        log: list[str] = self.eeprom["log"]
        if not 1 <= cmd.p1 <= len(log):
            raise SwError(SW.RECORD_NOT_FOUND)
        return bytes.fromhex(log[cmd.p1 - 1])

    def _update_binary(self, cmd: CommandApdu) -> bytes:
        """Holder and public info are writable only under secure messaging (CLA 04)."""
        if not cmd.p1 & 0x80:
            raise SwError(SW.INCORRECT_P1P2)
        sfi = cmd.p1 & 0x1F
        if sfi not in (Sfi.PUBLIC_INFO, Sfi.HOLDER):
            if sfi in (Sfi.PURSE, Sfi.KEYS, Sfi.LOG):
                raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
            raise SwError(SW.FILE_NOT_FOUND)
        if cmd.cla & 0x0C != 0x04:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if len(cmd.data) < 5:
            raise SwError(SW.WRONG_LENGTH)
        payload, mac = cmd.data[:-4], cmd.data[-4:]
        self._check_sm(cmd, payload, mac)
        name = "public_info" if sfi == Sfi.PUBLIC_INFO else "holder"
        content = bytearray(bytes.fromhex(self.eeprom[name]))
        if cmd.p2 + len(payload) > len(content):
            raise SwError(SW.WRONG_LENGTH)
        content[cmd.p2 : cmd.p2 + len(payload)] = payload
        with self.eeprom.atomic("update-binary") as w:
            w[name] = content.hex().upper()
        return b""

    def _write_record(self, cmd: CommandApdu) -> bytes:
        sfi = cmd.p2 >> 3
        if sfi in (Sfi.LOG, Sfi.PURSE, Sfi.KEYS, SFI_CAPP):
            # The log is written by the card alone, the transit record by a composite
            # purchase alone.
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if sfi in (Sfi.PUBLIC_INFO, Sfi.HOLDER):
            raise SwError(SW.COMMAND_INCOMPATIBLE)
        raise SwError(SW.FILE_NOT_FOUND)

    # -- keys and secure messaging -----------------------------------------------------
    def _key_set(self, key_index: int) -> dict[str, Any]:
        ks: dict[str, Any] | None = self.eeprom["keys"].get(str(key_index))
        if ks is None:
            raise SwError(SW.KEY_INDEX_NOT_SUPPORTED)
        return ks

    def _alg(self, ks: dict[str, Any]) -> Algorithm:
        return Algorithm(ks["alg"])

    def _key(self, ks: dict[str, Any], role: KeyRole) -> bytes:
        return bytes.fromhex(ks[role.value])

    def _get_challenge(self, cmd: CommandApdu) -> bytes:
        n = 4 if cmd.le is None else cmd.le
        if n not in (4, 8):
            raise SwError(SW.WRONG_LENGTH)
        self._challenge = self._rng(n)
        return self._challenge

    def _check_sm(self, cmd: CommandApdu, payload: bytes, mac: bytes) -> None:
        """MAC over header || Lc || payload with DAMK; IV = the whole last challenge
        (4 or 8 bytes) padded with zeros to the block (docs/card-spec.md §7)."""
        challenge, self._challenge = self._challenge, None
        if challenge is None:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        ks = self._key_set(1)
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2, len(cmd.data)])
        expected = crypto.sm_mac(
            self._key(ks, self._sm_role(cmd, ks)), header + payload, challenge, self._alg(ks)
        )
        if not secrets.compare_digest(expected, mac):
            raise SwError(SW.SM_DATA_INCORRECT)

    def _sm_role(self, cmd: CommandApdu, ks: dict[str, Any]) -> KeyRole:
        """The maintenance key of a command: its own key in the separate layout, DAMK
        in the one-key layout (docs/card-spec.md §16)."""
        role = _SM_ROLES.get(cmd.ins, KeyRole.MAINTENANCE)
        return role if role.value in ks else KeyRole.MAINTENANCE

    def _application_block(self, cmd: CommandApdu) -> bytes:
        if cmd.cla != 0x84 or len(cmd.data) != 4 or cmd.p1 != 0 or cmd.p2 not in (0, 1):
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED if cmd.cla != 0x84 else SW.WRONG_DATA)
        self._check_sm(cmd, b"", cmd.data)
        with self.eeprom.atomic("application-block") as w:
            w["status"] = CardStatus.TERMINATED if cmd.p2 == 1 else CardStatus.BLOCKED
        return b""

    def _application_unblock(self, cmd: CommandApdu) -> bytes:
        if cmd.cla != 0x84 or len(cmd.data) != 4:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED if cmd.cla != 0x84 else SW.WRONG_DATA)
        self._check_sm(cmd, b"", cmd.data)
        if self.eeprom["status"] != CardStatus.BLOCKED:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        with self.eeprom.atomic("application-unblock") as w:
            w["status"] = CardStatus.ACTIVE
        return b""

    # -- purse -------------------------------------------------------------------------
    def _require_active(self) -> None:
        if self.eeprom["status"] == CardStatus.BLOCKED:
            raise SwError(SW.FUNCTION_NOT_SUPPORTED)

    def _card_balance(self, balance: int | None = None) -> int:
        """The balance as PBOC cards report and MAC it: unsigned, the unused overdraft
        included (money held + overdraft limit), so it never reads negative. The
        EEPROM keeps the money held (negative in overdraft); only this value leaves."""
        held = int(self.eeprom["balance"]) if balance is None else balance
        return held + int(self.eeprom["overdraft_limit"])

    def _get_balance(self, cmd: CommandApdu) -> bytes:
        self._require_active()
        if cmd.p1 != 0 or cmd.p2 != 2:
            raise SwError(SW.INCORRECT_P1P2)
        return self._card_balance().to_bytes(4, "big")

    def _initialize(self, cmd: CommandApdu) -> bytes:
        self._require_active()
        if cmd.p2 != 0x02 or cmd.p1 not in (0x00, 0x01):
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != 11:
            raise SwError(SW.WRONG_LENGTH)
        key_index = cmd.data[0]
        amount = int.from_bytes(cmd.data[1:5], "big")
        terminal_id = cmd.data[5:11]
        ks = self._key_set(key_index)
        alg = self._alg(ks)
        balance = int(self.eeprom["balance"])
        random = self._rng(4)
        if cmd.p1 == 0x01:  # purchase
            # PBOC: an e-purse (EP) purchase needs no PIN (buses, gates and shops debit
            # without one); a card personalized with the passbook (ED) rule demands it.
            if self.eeprom.get("purchase_needs_pin", False) and not self._pin_verified:
                raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
            atc = int(self.eeprom["offline_atc"])
            overdraft = int(self.eeprom["overdraft_limit"])
            if atc >= MAX_ATC:
                raise SwError(SW.ATC_EXHAUSTED)
            if amount == 0:
                raise SwError(SW.WRONG_DATA)
            if balance + overdraft < amount:
                raise SwError(SW.INSUFFICIENT_BALANCE)
            self._pending = _Pending(
                TransactionType.PURCHASE, key_index, amount, terminal_id, atc, random, balance
            )
            return (
                self._card_balance(balance).to_bytes(4, "big")
                + atc.to_bytes(2, "big")
                + overdraft.to_bytes(3, "big")
                + bytes([ks["version"], alg])
                + random
            )
        # A load needs the holder's PIN verified on the card (FMCOS: the load key's
        # usage right as PBOC issuers set it), at a kiosk and at the counter alike.
        if not self._pin_verified:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        atc = int(self.eeprom["online_atc"])
        if atc >= MAX_ATC:
            raise SwError(SW.ATC_EXHAUSTED)
        if amount == 0 or balance + amount > int(self.eeprom["max_balance"]):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED if amount else SW.WRONG_DATA)
        sk = crypto.load_session_key(self._key(ks, KeyRole.LOAD), random, atc, alg)
        mac1 = crypto.load_mac1(
            sk, self._card_balance(balance), amount, TransactionType.LOAD, terminal_id, alg
        )
        self._pending = _Pending(
            TransactionType.LOAD, key_index, amount, terminal_id, atc, random, balance
        )
        return (
            self._card_balance(balance).to_bytes(4, "big")
            + atc.to_bytes(2, "big")
            + bytes([ks["version"], alg])
            + random
            + mac1
        )

    def _take_pending(self, kind: TransactionType, cmd: CommandApdu, length: int) -> _Pending:
        pending, self._pending = self._pending, None
        if pending is None or pending.kind != kind or cmd.p1 != (0x01 if kind == 6 else 0x00):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        if len(cmd.data) != length:
            raise SwError(SW.WRONG_LENGTH)
        return pending

    def _log_entry(self, p: _Pending, date: bytes, time: bytes) -> str:
        record = LogRecord(
            atc=p.atc,
            overdraft_limit=int(self.eeprom["overdraft_limit"]),
            amount=p.amount,
            ttype=p.kind,
            terminal_id=p.terminal_id,
            date=date,
            time=time,
        ).to_bytes()
        assert len(record) == LOG_RECORD_LEN
        return record.hex().upper()

    def _debit(self, cmd: CommandApdu) -> bytes:
        p = self._take_pending(TransactionType.PURCHASE, cmd, 15)
        ttc = int.from_bytes(cmd.data[0:4], "big")
        date, time, mac1 = cmd.data[4:8], cmd.data[8:11], cmd.data[11:15]
        ks = self._key_set(p.key_index)
        alg = self._alg(ks)
        sk = crypto.purchase_session_key(
            self._key(ks, KeyRole.PURCHASE), p.card_random, p.atc, ttc, alg
        )
        ttype = TransactionType.PURCHASE
        expected = crypto.purchase_mac1(sk, p.amount, ttype, p.terminal_id, date, time, alg)
        if not secrets.compare_digest(expected, mac1):
            raise SwError(SW.MAC_ERROR)
        mac2 = crypto.purchase_mac2(sk, p.amount, alg)
        tac = crypto.purchase_tac(
            crypto.tac_key(self._key(ks, KeyRole.TAC), alg),
            p.amount,
            ttype,
            p.terminal_id,
            ttc,
            date,
            time,
            alg,
        )
        self._commit(p, p.balance - p.amount, "offline_atc", date, time, mac2, tac, "debit")
        return tac + mac2

    def _credit(self, cmd: CommandApdu) -> bytes:
        p = self._take_pending(TransactionType.LOAD, cmd, 11)
        date, time, mac2 = cmd.data[0:4], cmd.data[4:7], cmd.data[7:11]
        ks = self._key_set(p.key_index)
        alg = self._alg(ks)
        sk = crypto.load_session_key(self._key(ks, KeyRole.LOAD), p.card_random, p.atc, alg)
        ttype = TransactionType.LOAD
        expected = crypto.load_mac2(sk, p.amount, ttype, p.terminal_id, date, time, alg)
        if not secrets.compare_digest(expected, mac2):
            raise SwError(SW.MAC_ERROR)
        new_balance = p.balance + p.amount
        tac = crypto.load_tac(
            crypto.tac_key(self._key(ks, KeyRole.TAC), alg),
            self._card_balance(new_balance),
            p.atc,
            p.amount,
            ttype,
            p.terminal_id,
            date,
            time,
            alg,
        )
        self._commit(p, new_balance, "online_atc", date, time, mac2, tac, "credit")
        return tac

    def _commit(
        self,
        p: _Pending,
        new_balance: int,
        counter: str,
        date: bytes,
        time: bytes,
        mac2: bytes,
        tac: bytes,
        label: str,
    ) -> None:
        log: list[str] = list(self.eeprom["log"])
        log.insert(0, self._log_entry(p, date, time))
        with self.eeprom.atomic(label) as w:
            w["balance"] = new_balance
            w[counter] = p.atc + 1
            w["log"] = log[:LOG_RECORDS]
            w["last"] = {
                "type": int(p.kind),
                "atc": p.atc,
                "mac2": mac2.hex().upper(),
                "tac": tac.hex().upper(),
            }

    def _transaction_prove(self, cmd: CommandApdu) -> bytes:
        if cmd.p1 != 0 or cmd.p2 not in (
            TransactionType.PURCHASE, TransactionType.LOAD, TransactionType.CAPP_PURCHASE
        ):  # fmt: skip
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != 2:
            raise SwError(SW.WRONG_LENGTH)
        atc = int.from_bytes(cmd.data, "big")
        last = self.eeprom.get("last")
        if not last or last["type"] != cmd.p2 or last["atc"] != atc:
            raise SwError(SW.NO_TRANSACTION_TO_PROVE)
        return bytes.fromhex(last["mac2"]) + bytes.fromhex(last["tac"])

    def _initialize_any(self, cmd: CommandApdu) -> bytes:
        if cmd.p1 == CAPP_P1:
            return self._initialize_capp(cmd)
        return self._initialize(cmd)

    def _debit_any(self, cmd: CommandApdu) -> bytes:
        if self._pending is not None and self._pending.kind == TransactionType.CAPP_PURCHASE:
            return self._debit_capp(cmd)
        return self._debit(cmd)

    _HANDLERS: ClassVar[dict[tuple[int, int], Callable[[CitizenCard, CommandApdu], bytes]]] = {
        (0x00, Ins.READ_BINARY): _read_binary,
        (0x00, Ins.READ_RECORD): _read_record,
        (0x00, Ins.UPDATE_BINARY): _update_binary,
        (0x00, Ins.UPDATE_RECORD): _write_record,
        (0x00, Ins.APPEND_RECORD): _write_record,
        (0x00, Ins.GET_CHALLENGE): _get_challenge,
        (0x80, Ins.INITIALIZE): _initialize_any,
        (0x80, Ins.DEBIT_FOR_PURCHASE): _debit_any,
        (0x80, INS_UPDATE_CAPP_DATA_CACHE): CappCommands._update_capp_cache,
        (0x80, Ins.CREDIT_FOR_LOAD): _credit,
        (0x80, Ins.GET_BALANCE): _get_balance,
        (0x80, Ins.GET_TRANSACTION_PROVE): _transaction_prove,
        (0x80, Ins.APPLICATION_BLOCK): _application_block,
        (0x80, Ins.APPLICATION_UNBLOCK): _application_unblock,
        (0x00, Ins.VERIFY): IdentityCommands._verify,
        (0x80, Ins.CHANGE_PIN): IdentityCommands._change_or_reload_pin,
        (0x80, Ins.PIN_UNBLOCK): IdentityCommands._pin_unblock,
        (0x00, Ins.RESET_RETRY_COUNTER): IdentityCommands._reset_retry_counter,
        (0x00, Ins.INTERNAL_AUTHENTICATE): IdentityCommands._internal_authenticate,
        (0x80, Ins.GET_DATA): IdentityCommands._get_data,
        (0x80, Ins.MUTUAL_AUTHENTICATE): IdentityCommands._mutual_authenticate,
        (0x80, Ins.STORE_DATA): IdentityCommands._store_data,
        (0x80, Ins.GENERATE_KEY_PAIR): IdentityCommands._generate_key_pair,
        (0x80, Ins.ACTIVATE): IdentityCommands._activate,
    }


_SM_ROLES: dict[int, KeyRole] = {
    Ins.APPLICATION_BLOCK: KeyRole.APP_BLOCK,
    Ins.APPLICATION_UNBLOCK: KeyRole.APP_UNBLOCK,
    Ins.UPDATE_BINARY: KeyRole.FILE_MAINTENANCE,
}

_PERSO_COMMANDS = {
    (0x00, Ins.GET_CHALLENGE),
    (0x80, Ins.GET_DATA),
    (0x80, Ins.MUTUAL_AUTHENTICATE),
    (0x80, Ins.STORE_DATA),
    (0x80, Ins.GENERATE_KEY_PAIR),
    (0x80, Ins.ACTIVATE),
}
