"""Identity commands of the citizen card: PIN and PUK, card authentication, and
personalization under a secure channel with its lifecycle.

Mixed into :class:`simulators.card.os.CitizenCard`; docs/card-spec.md part 2 is
the behaviour. Personalization writes go to a staging area; only ACTIVATE moves
them into place, in one atomic EEPROM write, so a tear leaves the card either not
yet active (and personalization restarts from a new secure channel) or ACTIVE.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardlib import crypto
from cardlib.apdu import CommandApdu
from cardlib.crypto import Algorithm
from cardlib.identity import PIN_BLOCK_LEN, PIN_TRIES, PUK_TRIES, PersoGroup, pin_digits
from cardlib.keys import MaintenanceLayout, card_roles
from cardlib.sw import SW
from simulators.eeprom import Eeprom

__all__ = ["CardStatus", "IdentityCommands", "SwError"]


class CardStatus:
    """Lifecycle: BLANK -> PERSONALIZED -> ACTIVE <-> BLOCKED -> TERMINATED."""

    BLANK = "blank"
    PERSONALIZED = "personalized"  # personalization in progress: staged, not usable
    ACTIVE = "active"
    BLOCKED = "blocked"  # APPLICATION UNBLOCK restores it
    TERMINATED = "terminated"  # refuses everything (9303)


class SwError(Exception):
    """Internal control flow: answer with this status word."""

    def __init__(self, sw: int) -> None:
        self.sw = sw


@dataclass
class _Channel:
    s_enc: bytes
    s_mac: bytes
    icv: bytes
    alg: Algorithm


class IdentityCommands:
    """PIN, PUK, INTERNAL AUTHENTICATE, GET DATA, and the personalization commands."""

    eeprom: Eeprom
    _rng: Callable[[int], bytes]
    _challenge: bytes | None
    _pin_verified: bool
    _channel: _Channel | None

    # -- PIN and PUK ---------------------------------------------------------------
    def _require_personalized(self) -> None:
        if self.eeprom["status"] not in (CardStatus.ACTIVE, CardStatus.BLOCKED):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)

    def _check_secret(self, name: str, offered: bytes, tries_field: str, max_tries: int) -> None:
        """Compare a PIN or PUK block, spending a try when wrong (63Cx / 6983)."""
        tries = int(self.eeprom[tries_field])
        if tries == 0:
            raise SwError(SW.AUTH_METHOD_BLOCKED)
        if secrets.compare_digest(bytes.fromhex(self.eeprom[name]), offered):
            if tries != max_tries:
                with self.eeprom.atomic(f"{name}-reset") as w:
                    w[tries_field] = max_tries
            return
        # The try is spent before the answer leaves the card: tearing cannot save it.
        with self.eeprom.atomic(f"{name}-wrong") as w:
            w[tries_field] = tries - 1
        raise SwError(0x63C0 | (tries - 1))

    def _verify(self, cmd: CommandApdu) -> bytes:
        self._require_personalized()
        if cmd.p1 != 0x00 or cmd.p2 not in (0x01, 0x02):
            raise SwError(SW.INCORRECT_P1P2)
        secret, tries_field = ("pin", "pin_tries") if cmd.p2 == 0x01 else ("puk", "puk_tries")
        if not cmd.data:  # ask for tries left without spending one
            tries = int(self.eeprom[tries_field])
            if tries == 0:
                raise SwError(SW.AUTH_METHOD_BLOCKED)
            if cmd.p2 == 0x01 and self._pin_verified:
                return b""
            raise SwError(0x63C0 | tries)
        if cmd.p2 != 0x01:
            raise SwError(SW.INCORRECT_P1P2)  # the PUK is only presented with RESET RETRY COUNTER
        self._pin_verified = False
        self._check_secret(secret, _block(cmd.data, 6), tries_field, PIN_TRIES)
        self._pin_verified = True
        return b""

    def _change_reference_data(self, cmd: CommandApdu) -> bytes:
        self._require_personalized()
        if cmd.p1 != 0x00 or cmd.p2 != 0x01:
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != 2 * PIN_BLOCK_LEN:
            raise SwError(SW.WRONG_LENGTH)
        old, new = _block(cmd.data[:8], 6), _block(cmd.data[8:], 6)
        self._pin_verified = False
        self._check_secret("pin", old, "pin_tries", PIN_TRIES)
        with self.eeprom.atomic("change-pin") as w:
            w["pin"] = new.hex().upper()
            w["pin_tries"] = PIN_TRIES
        self._pin_verified = True
        return b""

    def _reset_retry_counter(self, cmd: CommandApdu) -> bytes:
        self._require_personalized()
        if cmd.p1 != 0x00 or cmd.p2 != 0x01:
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != 2 * PIN_BLOCK_LEN:
            raise SwError(SW.WRONG_LENGTH)
        puk, new = _block(cmd.data[:8], 8), _block(cmd.data[8:], 6)
        self._check_secret("puk", puk, "puk_tries", PUK_TRIES)
        with self.eeprom.atomic("reset-retry-counter") as w:
            w["pin"] = new.hex().upper()
            w["pin_tries"] = PIN_TRIES
        self._pin_verified = False
        return b""

    # -- card authentication ----------------------------------------------------------
    def _internal_authenticate(self, cmd: CommandApdu) -> bytes:
        self._require_personalized()
        if not 8 <= len(cmd.data) <= 64:
            raise SwError(SW.WRONG_LENGTH)
        key = ec.derive_private_key(int(self.eeprom["ec_private"], 16), ec.SECP256R1())
        return key.sign(cmd.data, ec.ECDSA(hashes.SHA256()))

    def _get_data(self, cmd: CommandApdu) -> bytes:
        tag = (cmd.p1 << 8) | cmd.p2
        if tag == 0x9F7F:  # chip serial, for deriving the personalization key
            serial = self.eeprom.get("chip_serial")
            if serial is None:  # an image written by make_card, not personalized: none
                raise SwError(SW.REFERENCE_NOT_FOUND)
            return bytes.fromhex(serial)
        if tag == 0x9F70:  # lifecycle
            states = [CardStatus.BLANK, CardStatus.PERSONALIZED, CardStatus.ACTIVE,
                      CardStatus.BLOCKED, CardStatus.TERMINATED]  # fmt: skip
            return bytes([states.index(self.eeprom["status"]) + 1])
        raise SwError(SW.REFERENCE_NOT_FOUND)

    # -- personalization --------------------------------------------------------------
    def _mutual_authenticate(self, cmd: CommandApdu) -> bytes:
        if self.eeprom["status"] not in (CardStatus.BLANK, CardStatus.PERSONALIZED):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)  # a card is personalized once
        challenge, self._challenge = self._challenge, None
        if challenge is None or len(challenge) != 8:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if len(cmd.data) != 16:
            raise SwError(SW.WRONG_LENGTH)
        rt, tc = cmd.data[:8], cmd.data[8:]
        alg = Algorithm(int(self.eeprom["perso_alg"]))
        s_enc, s_mac = crypto.channel_session_keys(
            bytes.fromhex(self.eeprom["perso_key"]), challenge, rt, alg
        )
        if not secrets.compare_digest(crypto.channel_cryptogram(s_mac, challenge + rt, alg), tc):
            raise SwError(SW.MAC_ERROR)
        # A new session starts personalization over: nothing staged survives.
        with self.eeprom.atomic("perso-restart") as w:
            w["staging"] = {}
            w["status"] = CardStatus.BLANK
        self._channel = _Channel(s_enc, s_mac, challenge[:4], alg)
        return crypto.channel_cryptogram(s_mac, rt + challenge, alg)

    def _unwrap(self, cmd: CommandApdu) -> bytes:
        """Check the command MAC (chained ICV) and return the payload without it."""
        ch = self._channel
        if ch is None or cmd.cla != 0x84:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if len(cmd.data) < 4:
            raise SwError(SW.WRONG_LENGTH)
        payload, mac = cmd.data[:-4], cmd.data[-4:]
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2, len(cmd.data)])
        expected = crypto.sm_mac(ch.s_mac, header + payload, ch.icv, ch.alg)
        if not secrets.compare_digest(expected, mac):
            self._channel = None  # a broken session is closed
            raise SwError(SW.SM_DATA_INCORRECT)
        ch.icv = mac
        return payload

    def _stage(self, label: str, updates: dict[str, Any]) -> None:
        staging = dict(self.eeprom.get("staging") or {})
        staging.update(updates)
        with self.eeprom.atomic(label) as w:
            w["staging"] = staging
            w["status"] = CardStatus.PERSONALIZED

    def _store_data(self, cmd: CommandApdu) -> bytes:
        payload = self._unwrap(cmd)
        ch = self._channel
        assert ch is not None
        group = cmd.p1 & 0x7F
        try:
            if group in (PersoGroup.KEYS, PersoGroup.PIN, PersoGroup.PUK):
                payload = crypto.channel_decrypt(ch.s_enc, payload, ch.alg)
        except ValueError as exc:
            raise SwError(SW.SM_DATA_INCORRECT) from exc
        if group == PersoGroup.PUBLIC_INFO and len(payload) == 30:
            self._stage("perso-public", {"public_info": payload.hex().upper()})
        elif group == PersoGroup.HOLDER and len(payload) == 128:
            self._stage("perso-holder", {"holder": payload.hex().upper()})
        elif group == PersoGroup.PURSE and len(payload) == 7:
            self._stage(
                "perso-purse",
                {
                    "overdraft_limit": int.from_bytes(payload[0:3], "big"),
                    "max_balance": int.from_bytes(payload[3:7], "big"),
                },
            )
        elif group == PersoGroup.KEYS and len(payload) in (3 + 16 * 6, 3 + 16 * 8):
            index, version, alg = payload[0], payload[1], payload[2]
            # Six keys: one maintenance key (DAMK); eight: block, unblock and file
            # maintenance keys of their own (docs/card-spec.md §16).
            layout = MaintenanceLayout.ONE_KEY if len(payload) == 99 else MaintenanceLayout.SEPARATE
            roles = tuple(r.value for r in card_roles(layout))
            keyset: dict[str, int | str] = {"version": version, "alg": alg}
            for n, role in enumerate(roles):
                keyset[role] = payload[3 + 16 * n : 19 + 16 * n].hex().upper()
            self._stage("perso-keys", {"keys": {str(index): keyset}})
        elif group == PersoGroup.PIN and len(payload) == PIN_BLOCK_LEN:
            self._stage("perso-pin", {"pin": _block(payload, 6).hex().upper()})
        elif group == PersoGroup.PUK and len(payload) == PIN_BLOCK_LEN:
            self._stage("perso-puk", {"puk": _block(payload, 8).hex().upper()})
        elif group == PersoGroup.CERTIFICATE:
            staged = self.eeprom.get("staging") or {}
            before = "" if cmd.p2 == 0 else staged.get("certificate", "")
            if cmd.p2 and len(before) // 2 != cmd.p2 * 200:
                raise SwError(SW.WRONG_P1P2)  # chunks of 200 bytes, in order
            self._stage("perso-certificate", {"certificate": before + payload.hex().upper()})
        else:
            raise SwError(SW.WRONG_DATA)
        return b""

    def _generate_key_pair(self, cmd: CommandApdu) -> bytes:
        """The key pair is made on the card; only the public point leaves it, with a
        response MAC so the issuer knows which card it came from."""
        self._unwrap(cmd)
        ch = self._channel
        assert ch is not None
        key = ec.generate_private_key(ec.SECP256R1())
        self._stage("perso-keypair", {"ec_private": f"{key.private_numbers().private_value:064X}"})
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return point + crypto.sm_mac(ch.s_mac, point, ch.icv, ch.alg)

    def _activate(self, cmd: CommandApdu) -> bytes:
        self._unwrap(cmd)
        staged: dict[str, Any] = dict(self.eeprom.get("staging") or {})
        needed = ("public_info", "holder", "overdraft_limit", "max_balance", "keys", "pin", "puk",
                  "ec_private", "certificate")  # fmt: skip
        if any(k not in staged for k in needed):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        with self.eeprom.atomic("activate") as w:
            w.update(staged)
            w.update(
                {
                    "balance": 0,
                    "offline_atc": 0,
                    "online_atc": 0,
                    "log": [],
                    "last": None,
                    "pin_tries": PIN_TRIES,
                    "puk_tries": PUK_TRIES,
                    "staging": {},
                    "perso_key": None,  # personalization is over for good
                    "status": CardStatus.ACTIVE,
                }
            )
        self._channel = None
        return b""


def _block(raw: bytes, digits: int) -> bytes:
    """Validate a PIN/PUK block (BCD digits, F-padded to 8 bytes)."""
    try:
        value = pin_digits(raw)
    except ValueError as exc:
        raise SwError(SW.WRONG_DATA) from exc
    if len(value) != digits:
        raise SwError(SW.WRONG_DATA)
    return raw
