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
from cardlib.certs import OPERATOR_SIGN_TAG, certificate_role
from cardlib.crypto import Algorithm
from cardlib.identity import (
    P1_OPERATOR_SIGN,
    PIN_BLOCK_LEN,
    PIN_DIGITS,
    PIN_REF,
    PIN_TRIES,
    PUK_DIGITS,
    PUK_REF,
    PUK_TRIES,
    PersoGroup,
    bcd_pin,
    pin_block,
    pin_digits,
)
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

    def _spend_try(self, name: str, offered: bytes, tries_field: str) -> bool:
        """Spend one try of a PIN or PUK, committed, and only then compare.

        Real cards do it in this order so that cutting the power cannot save a guess:
        a tear before the decrement is committed comes before the comparison (nothing
        was learnt), a tear after it leaves the try spent. The write pattern is the
        same for a right and a wrong secret, so the write itself tells nothing either.
        Returns whether ``offered`` matched; the caller restores the counter on
        success, in the same atomic write as the rest of its update.
        """
        tries = int(self.eeprom[tries_field])
        if tries <= 0:
            raise SwError(SW.AUTH_METHOD_BLOCKED)
        with self.eeprom.atomic(f"{name}-try") as w:
            w[tries_field] = tries - 1
        return secrets.compare_digest(bytes.fromhex(self.eeprom[name]), offered)

    def _check_secret(self, name: str, offered: bytes, tries_field: str, max_tries: int) -> None:
        """Present a PIN or PUK: a try is spent first (63Cx / 6983), restored on success."""
        if not self._spend_try(name, offered, tries_field):
            raise SwError(0x63C0 | int(self.eeprom[tries_field]))
        with self.eeprom.atomic(f"{name}-restore") as w:
            w[tries_field] = max_tries

    def _verify(self, cmd: CommandApdu) -> bytes:
        """VERIFY ``00 20 00 00 03`` with the packed-BCD PIN (PBOC); without data it
        reports the tries left. P2 ``02`` without data reports the PUK's (the project's)."""
        self._require_personalized()
        if cmd.p1 != 0x00 or cmd.p2 not in (PIN_REF, PUK_REF):
            raise SwError(SW.INCORRECT_P1P2)
        if not cmd.data:  # ask for tries left without spending one
            tries = int(self.eeprom["pin_tries" if cmd.p2 == PIN_REF else "puk_tries"])
            if tries == 0:
                raise SwError(SW.AUTH_METHOD_BLOCKED)
            if cmd.p2 == PIN_REF and self._pin_verified:
                return b""
            raise SwError(0x63C0 | tries)
        if cmd.p2 != PIN_REF:
            raise SwError(SW.INCORRECT_P1P2)  # the PUK is only presented with RESET RETRY COUNTER
        offered = _offered(cmd.data, PIN_DIGITS)
        self._pin_verified = False
        self._check_secret("pin", offered, "pin_tries", PIN_TRIES)
        self._pin_verified = True
        return b""

    def _change_or_reload_pin(self, cmd: CommandApdu) -> bytes:
        """CHANGE PIN ``80 5E 01 00`` old ‖ FF ‖ new; RELOAD PIN ``80 5E 00 00`` new ‖ MAC
        under the PIN-reload key (DRPK)."""
        self._require_personalized()
        if cmd.p2 != 0x00 or cmd.p1 not in (0x00, 0x01):
            raise SwError(SW.INCORRECT_P1P2)
        n = PIN_DIGITS // 2
        if cmd.p1 == 0x01:
            if len(cmd.data) != 2 * n + 1:
                raise SwError(SW.WRONG_LENGTH)
            if cmd.data[n] != 0xFF:
                raise SwError(SW.WRONG_DATA)
            old, new = _offered(cmd.data[:n], PIN_DIGITS), _offered(cmd.data[n + 1 :], PIN_DIGITS)
            self._pin_verified = False
            if not self._spend_try("pin", old, "pin_tries"):
                raise SwError(0x63C0 | int(self.eeprom["pin_tries"]))
            # The new PIN and the restored counter in one write: a tear keeps the old PIN
            # with the try spent, or sets the new one with 3 tries.
            with self.eeprom.atomic("change-pin") as w:
                w["pin"] = new.hex().upper()
                w["pin_tries"] = PIN_TRIES
            self._pin_verified = True
            return b""
        if len(cmd.data) != n + 4:
            raise SwError(SW.WRONG_LENGTH)
        new_bcd, mac = cmd.data[:n], cmd.data[n:]
        new = _offered(new_bcd, PIN_DIGITS)
        ks = self._identity_keys()
        alg = Algorithm(ks["alg"])
        expected = crypto.mac(crypto.tac_key(bytes.fromhex(ks["pin_reload"]), alg), new_bcd, alg)
        if not secrets.compare_digest(expected, mac):
            raise SwError(SW.MAC_ERROR)
        with self.eeprom.atomic("reload-pin") as w:
            w["pin"] = new.hex().upper()
            w["pin_tries"] = PIN_TRIES
        self._pin_verified = False
        return b""

    def _pin_unblock(self, cmd: CommandApdu) -> bytes:
        """PIN UNBLOCK ``84 24 00 00 Lc`` E(DPUK, Lpin ‖ PIN ‖ 80 00..) ‖ MAC: the issuer
        vouches for the holder's PIN; the card checks it and restores the PIN's tries."""
        self._require_personalized()
        challenge, self._challenge = self._challenge, None
        if cmd.cla != 0x84 or challenge is None:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if cmd.p1 != 0x00 or cmd.p2 != 0x00:
            raise SwError(SW.INCORRECT_P1P2)
        ks = self._identity_keys()
        alg = Algorithm(ks["alg"])
        if len(cmd.data) != alg.block + 4:
            raise SwError(SW.WRONG_LENGTH)
        enc, mac = cmd.data[:-4], cmd.data[-4:]
        dpuk = bytes.fromhex(ks["pin_unblock"])
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2, len(cmd.data)])
        if not secrets.compare_digest(crypto.sm_mac(dpuk, header + enc, challenge, alg), mac):
            raise SwError(SW.SM_DATA_INCORRECT)
        try:
            plain = crypto.channel_decrypt(dpuk, enc, alg)  # one block: ECB
        except ValueError as exc:
            raise SwError(SW.WRONG_DATA) from exc
        if len(plain) != 1 + PIN_DIGITS // 2 or plain[0] != PIN_DIGITS // 2:
            raise SwError(SW.WRONG_DATA)
        if not secrets.compare_digest(bytes.fromhex(self.eeprom["pin"]),
                                      _offered(plain[1:], PIN_DIGITS)):  # fmt: skip
            raise SwError(SW.WRONG_DATA)  # only the issuer can ask: nothing to count
        with self.eeprom.atomic("pin-unblock") as w:
            w["pin_tries"] = PIN_TRIES
        return b""

    def _reset_retry_counter(self, cmd: CommandApdu) -> bytes:
        """RESET RETRY COUNTER ``00 2C 00 00 07`` PUK (4, BCD) ‖ new PIN (3, BCD): the
        citizen's own unblock, the project's addition beside PBOC's issuer commands."""
        self._require_personalized()
        if cmd.p1 != 0x00 or cmd.p2 != PIN_REF:
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != (PUK_DIGITS + PIN_DIGITS) // 2:
            raise SwError(SW.WRONG_LENGTH)
        puk = _offered(cmd.data[: PUK_DIGITS // 2], PUK_DIGITS)
        new = _offered(cmd.data[PUK_DIGITS // 2 :], PIN_DIGITS)
        if not self._spend_try("puk", puk, "puk_tries"):
            raise SwError(0x63C0 | int(self.eeprom["puk_tries"]))
        with self.eeprom.atomic("reset-retry-counter") as w:
            w["pin"] = new.hex().upper()
            w["pin_tries"] = PIN_TRIES
            w["puk_tries"] = PUK_TRIES
        self._pin_verified = False
        return b""

    def _identity_keys(self) -> dict[str, Any]:
        ks: dict[str, Any] | None = self.eeprom["keys"].get("1")
        if ks is None:
            raise SwError(SW.KEY_INDEX_NOT_SUPPORTED)
        return ks

    # -- card authentication ----------------------------------------------------------
    def _internal_authenticate(self, cmd: CommandApdu) -> bytes:
        """P1 00: sign a terminal's challenge (authentication, any card, no PIN). P1 01:
        an operator's request signature over the tag ‖ 32-byte digest, only on an
        operator's card (its certificate's role) whose PIN was verified in this session."""
        self._require_personalized()
        if cmd.p2 != 0x00 or cmd.p1 not in (0x00, P1_OPERATOR_SIGN):
            raise SwError(SW.INCORRECT_P1P2)
        key = ec.derive_private_key(int(self.eeprom["ec_private"], 16), ec.SECP256R1())
        if cmd.p1 == 0x00:
            if not 8 <= len(cmd.data) <= 64:
                raise SwError(SW.WRONG_LENGTH)
            if cmd.data.startswith(OPERATOR_SIGN_TAG[:8]):
                raise SwError(SW.WRONG_DATA)  # never an operator signature without the PIN
            return key.sign(cmd.data, ec.ECDSA(hashes.SHA256()))
        if len(cmd.data) != 32:
            raise SwError(SW.WRONG_LENGTH)
        role = certificate_role(bytes.fromhex(self.eeprom.get("certificate") or ""))
        if role is None or not role.is_operator or not self._pin_verified:
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        return key.sign(OPERATOR_SIGN_TAG + cmd.data, ec.ECDSA(hashes.SHA256()))

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
        elif group == PersoGroup.PURSE and len(payload) in (7, 8):
            self._stage(
                "perso-purse",
                {
                    "overdraft_limit": int.from_bytes(payload[0:3], "big"),
                    "max_balance": int.from_bytes(payload[3:7], "big"),
                    # optional flags byte: bit 0 = the passbook (ED) rule, purchases
                    # need the PIN; absent or 0 = PBOC's e-purse (EP) rule.
                    "purchase_needs_pin": len(payload) == 8 and bool(payload[7] & 0x01),
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


def _offered(raw: bytes, digits: int) -> bytes:
    """A packed-BCD PIN or PUK from a command, as the stored block (F-padded, 8 bytes);
    6A80 when it is not ``digits`` BCD digits (nothing is spent for a malformed one)."""
    try:
        value = bcd_pin(raw)
    except ValueError as exc:
        raise SwError(SW.WRONG_DATA) from exc
    if len(value) != digits:
        raise SwError(SW.WRONG_DATA)
    return pin_block(value, digits)


def _block(raw: bytes, digits: int) -> bytes:
    """Validate a PIN/PUK block (BCD digits, F-padded to 8 bytes)."""
    try:
        value = pin_digits(raw)
    except ValueError as exc:
        raise SwError(SW.WRONG_DATA) from exc
    if len(value) != digits:
        raise SwError(SW.WRONG_DATA)
    return raw
