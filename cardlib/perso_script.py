"""The issuer's side of personalization as a script of commands: no I/O.

The same protocol as :class:`cardlib.personalization.Personalizer` (docs/card-spec.md
part 2), cut into the steps whose inputs are the card's answers, so that the
holder of the personalization and card keys (the central's issuer, where an HSM
would sit) computes every command and checks every answer, and the counter only
relays them to the card and its answers back:

1. the counter reads the chip serial and a GET CHALLENGE; :meth:`PersoScript.open`
   derives the card's personalization key and answers MUTUAL AUTHENTICATE;
2. :meth:`PersoScript.write` checks the card's cryptogram and answers the STORE DATA
   commands (keys, PIN and PUK encrypted under the session key) and GENERATE KEY PAIR;
3. :meth:`PersoScript.certify` checks the card's public point (its response MAC) and,
   with the certificate the issuer signed for it, answers the certificate's STORE
   DATA commands and ACTIVATE.

Nothing the counter relays reveals a key: keys, PIN and PUK travel encrypted, the
rest is MACed. :meth:`state` / :meth:`from_state` carry the session between steps.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from cardlib import crypto
from cardlib.crypto import Algorithm
from cardlib.identity import CERT_CHUNK, PersoGroup, pin_block
from cardlib.keys import CardKeys, KeyRole, MaintenanceLayout, card_roles
from cardlib.layout import Holder, Ins, PublicInfo

__all__ = ["Command", "PersoScript", "PersoScriptError"]


class PersoScriptError(Exception):
    """The card's answer is not what a genuine card of ours answers."""


@dataclass(frozen=True)
class Command:
    """One command APDU for the counter to send as it is."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cla": self.cla, "ins": self.ins, "p1": self.p1, "p2": self.p2,
                               "data": self.data.hex().upper()}  # fmt: skip
        if self.le is not None:
            out["le"] = self.le
        return out


class PersoScript:
    """One card's personalization session, on the issuer's side."""

    def __init__(self, alg: Algorithm, s_enc: bytes, s_mac: bytes, icv: bytes, rc: bytes,
                 rt: bytes) -> None:  # fmt: skip
        self.alg = alg
        self._s_enc, self._s_mac, self._icv, self._rc, self._rt = s_enc, s_mac, icv, rc, rt

    @classmethod
    def open(
        cls, perso_master: bytes, alg: Algorithm, chip_serial: bytes, challenge: bytes
    ) -> tuple[PersoScript, Command]:
        """Step 1: the session and the MUTUAL AUTHENTICATE command."""
        if len(chip_serial) != 8 or len(challenge) != 8:
            raise PersoScriptError("chip serial and challenge are 8 bytes each")
        perso_key = crypto.diversify(perso_master, chip_serial, alg)
        rt = secrets.token_bytes(8)
        s_enc, s_mac = crypto.channel_session_keys(perso_key, challenge, rt, alg)
        tc = crypto.channel_cryptogram(s_mac, challenge + rt, alg)
        cmd = Command(0x80, Ins.MUTUAL_AUTHENTICATE, 0, 0, rt + tc, 8)
        return cls(alg, s_enc, s_mac, challenge[:4], challenge, rt), cmd

    def state(self) -> dict[str, Any]:
        """The session between steps (kept at the issuer, never sent to the counter)."""
        return {"alg": int(self.alg), "s_enc": self._s_enc.hex(), "s_mac": self._s_mac.hex(),
                "icv": self._icv.hex(), "rc": self._rc.hex(), "rt": self._rt.hex()}  # fmt: skip

    @classmethod
    def from_state(cls, st: dict[str, Any]) -> PersoScript:
        return cls(Algorithm(int(st["alg"])), *(bytes.fromhex(str(st[k])) for k in
                   ("s_enc", "s_mac", "icv", "rc", "rt")))  # fmt: skip

    def _sm(self, ins: int, p1: int, p2: int, payload: bytes = b"",
            le: int | None = None) -> Command:  # fmt: skip
        header = bytes([0x84, ins, p1, p2, len(payload) + 4])
        mac = crypto.sm_mac(self._s_mac, header + payload, self._icv, self.alg)
        self._icv = mac
        return Command(0x84, ins, p1, p2, payload + mac, le)

    def _store(self, group: PersoGroup, data: bytes, p2: int = 0) -> Command:
        if group in (PersoGroup.KEYS, PersoGroup.PIN, PersoGroup.PUK):
            data = crypto.channel_encrypt(self._s_enc, data, self.alg)
        return self._sm(Ins.STORE_DATA, group, p2, data)

    def write(
        self,
        card_cryptogram: bytes,
        *,
        public_info: PublicInfo,
        holder: Holder,
        card_keys: CardKeys,
        pin: str,
        puk: str,
        overdraft_limit: int,
        max_balance: int,
        key_index: int = 1,
    ) -> list[Command]:
        """Step 2: check the card's cryptogram; the data, keys, PIN, PUK, key pair."""
        expected = crypto.channel_cryptogram(self._s_mac, self._rt + self._rc, self.alg)
        if not secrets.compare_digest(card_cryptogram, expected):
            raise PersoScriptError("the card's cryptogram is wrong: not a card of ours")
        if card_keys.algorithm is not self.alg:
            raise PersoScriptError("card keys and personalization use different algorithms")
        purse = overdraft_limit.to_bytes(3, "big") + max_balance.to_bytes(4, "big")
        separate = KeyRole.APP_BLOCK in card_keys.keys
        roles = card_roles(MaintenanceLayout.SEPARATE if separate else MaintenanceLayout.ONE_KEY)
        keys = bytes([key_index, card_keys.version, self.alg])
        keys += b"".join(card_keys[role] for role in roles)
        return [
            self._store(PersoGroup.PUBLIC_INFO, public_info.to_bytes()),
            self._store(PersoGroup.HOLDER, holder.to_bytes()),
            self._store(PersoGroup.PURSE, purse),
            self._store(PersoGroup.KEYS, keys),
            self._store(PersoGroup.PIN, pin_block(pin)),
            self._store(PersoGroup.PUK, pin_block(puk, 8)),
            self._sm(Ins.GENERATE_KEY_PAIR, 0, 0, le=256),
        ]

    def public_point(self, answer: bytes) -> bytes:
        """The card's public key from GENERATE KEY PAIR's answer, its MAC checked."""
        if len(answer) != 69 or answer[0] != 0x04:
            raise PersoScriptError("GENERATE KEY PAIR answer is a 65-byte point and a MAC")
        point, mac = answer[:65], answer[65:]
        if not secrets.compare_digest(crypto.sm_mac(self._s_mac, point, self._icv, self.alg), mac):
            raise PersoScriptError("the public key did not come from this card")
        return point

    def certify(self, certificate_der: bytes) -> list[Command]:
        """Step 3: the certificate's STORE DATA commands, then ACTIVATE."""
        cmds = [
            self._store(PersoGroup.CERTIFICATE, certificate_der[off : off + CERT_CHUNK], p2=n)
            for n, off in enumerate(range(0, len(certificate_der), CERT_CHUNK))
        ]
        return [*cmds, self._sm(Ins.ACTIVATE, 0, 0)]


def card_dates(today: dt.date, years: int) -> tuple[dt.date, dt.date]:
    """A new card's start and expiry dates (``years`` of validity)."""
    try:
        return today, today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today, today.replace(year=today.year + years, day=28)
