"""APDU fuzz of the card and PSAM simulators, with power cuts.

Hypothesis drives sequences of hostile bytes and well-formed commands (right and
wrong PINs and PUKs, valid and forged MACs, INITIALIZE/DEBIT/CREDIT pairs, PIN
reloads and unblocks) at the chip, cutting the power at random write points. After
every APDU the probe checks:

- a status word always comes back (a tear is the only other outcome, and only when
  one was armed);
- the balance stays within ``-overdraft .. maximum`` and is reported unsigned;
- the ATCs (and the PSAM's TTC) never go back;
- money moves only in a DEBIT or CREDIT carrying the valid MAC for the pending
  INITIALIZE, by exactly its amount;
- the PIN and PUK try counters fall only when a wrong secret was presented (or a
  right one torn after its try was spent), one try at a time, and rise only on an
  accepted right secret or a valid issuer command.

Small by default (part of ``make test``); ``pytest --slow`` runs a longer campaign.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardlib import crypto
from cardlib.apdu import CommandApdu
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import ProtocolError
from cardlib.identity import (
    PIN_TRIES,
    PUK_TRIES,
    bcd_pin,
    pin_bcd,
    pin_digits,
    pin_unblock_data,
    reload_pin_data,
)
from cardlib.layout import CARD_AID, PSAM_AID, Holder
from simulators.card import CitizenCard, make_card
from simulators.eeprom import PowerLost
from simulators.sam import Psam, make_psam
from tests.cardlib.rig import ASN, TERMINAL, fixed_keys

H = bytes.fromhex
PUK = "12345678"  # make_card's default, TEST ONLY
MAX_BALANCE = 10_000
DATE, TIME = H("20261128"), H("093015")
SELECT = b"\x00\xa4\x04\x00" + bytes([len(CARD_AID)]) + CARD_AID + b"\x00"
KNOWN_INS = [0xA4, 0xB0, 0xB2, 0xD6, 0xDC, 0xE2, 0x84, 0xC0, 0x50, 0x52, 0x54, 0x5A, 0x5C,
             0x18, 0x1E, 0x20, 0x24, 0x2C, 0x5E, 0x88, 0xCA, 0x82, 0x46, 0x44, 0x70, 0x72,
             0xFA]  # fmt: skip


def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes([cla, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le & 0xFF])
    return out


# -- steps -------------------------------------------------------------------------------

_byte = st.integers(0, 255)
_raw = st.tuples(
    st.just("raw"),
    st.one_of(st.sampled_from([0x00, 0x04, 0x80, 0x84, 0x90]), _byte),
    st.one_of(st.sampled_from(KNOWN_INS), _byte),
    st.one_of(st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x95, 0x96, 0x9B]), _byte),
    st.one_of(st.sampled_from([0x00, 0x01, 0x02, 0xC4, 0x06]), _byte),
    st.binary(max_size=24),
    st.one_of(st.none(), _byte),
)
_garbage = st.tuples(st.just("bytes"), st.binary(max_size=12))
_flag = st.booleans()
_amount = st.integers(0, 3 * MAX_BALANCE)
_pin = st.text("0123456789", min_size=6, max_size=6)
_step = st.one_of(
    _raw,
    _garbage,
    st.tuples(st.just("select")),
    st.tuples(st.just("power")),
    st.tuples(st.just("balance")),
    st.tuples(st.just("challenge"), st.sampled_from([4, 8])),
    st.tuples(st.just("verify"), _flag),
    st.tuples(st.just("change"), _flag, _pin),
    st.tuples(st.just("reset"), _flag, _pin),
    st.tuples(st.just("reload"), _flag, _pin),
    st.tuples(st.just("unblock"), _flag, _flag),
    st.tuples(st.just("init"), _flag, _amount),
    st.tuples(st.just("debit"), _flag),
    st.tuples(st.just("credit"), _flag),
    # Sequences a terminal sends, so that the fuzz reaches debits, credits and unblocks.
    st.tuples(st.just("purchase"), st.integers(1, 2_000), _flag),
    st.tuples(st.just("load"), st.integers(1, 2_000), _flag),
    st.tuples(st.just("issuer-unblock"), _flag, _flag),
)
_SEQUENCES = {
    "purchase": lambda s: [("select",), ("init", True, s[1]), ("debit", s[2])],
    "load": lambda s: [("select",), ("verify", True), ("init", False, s[1]), ("credit", s[2])],
    "issuer-unblock": lambda s: [("select",), ("challenge", 8), ("unblock", s[1], s[2])],
}
_tear = st.one_of(st.none(), st.none(), st.integers(0, 14))


@dataclass
class Probe:
    """The card, what the fuzzer knows, and the checks after each APDU."""

    alg: Algorithm
    overdraft: int
    card: CitizenCard = field(init=False)
    init: dict[str, Any] | None = None  # the last INITIALIZE answered 9000
    challenge: bytes | None = None  # the last GET CHALLENGE answered 9000
    ttc: int = 1

    def keys(self) -> dict[str, str]:
        ks: dict[str, str] = self.card.eeprom["keys"]["1"]
        return ks

    def key(self, role: str) -> bytes:
        return H(self.keys()[role])

    def pin(self) -> str:
        return pin_digits(H(self.card.eeprom["pin"]))

    # -- building one APDU from a step ----------------------------------------------
    def build(self, step: tuple[Any, ...]) -> tuple[bytes, str | None]:
        """(APDU, the MAC it carries: "valid", "forged" or None)."""
        kind = step[0]
        if kind == "raw":
            _, cla, ins, p1, p2, data, le = step
            return _apdu(cla, ins, p1, p2, data, le), None
        if kind == "bytes":
            return step[1], None
        if kind == "select":
            return SELECT, None
        if kind == "balance":
            return _apdu(0x80, 0x5C, 0x00, 0x02, le=4), None
        if kind == "challenge":
            return _apdu(0x00, 0x84, 0x00, 0x00, le=step[1]), None
        if kind == "verify":
            pin = self.pin() if step[1] else _other(self.pin())
            return _apdu(0x00, 0x20, 0x00, 0x00, pin_bcd(pin)), None
        if kind == "change":
            old = self.pin() if step[1] else _other(self.pin())
            return _apdu(0x80, 0x5E, 0x01, 0x00, pin_bcd(old) + b"\xff" + pin_bcd(step[2])), None
        if kind == "reset":
            puk = PUK if step[1] else _other(PUK)
            return _apdu(0x00, 0x2C, 0x00, 0x00, pin_bcd(puk, 8) + pin_bcd(step[2])), None
        if kind == "reload":
            drpk = self.key("pin_reload") if step[1] else bytes(16)
            data = reload_pin_data(drpk, step[2], self.alg)
            return _apdu(0x80, 0x5E, 0x00, 0x00, data), "valid" if step[1] else "forged"
        if kind == "unblock":
            dpuk = self.key("pin_unblock") if step[1] else bytes(16)
            pin = self.pin() if step[2] else _other(self.pin())
            data = pin_unblock_data(dpuk, pin, self.challenge or bytes(4), self.alg)
            return _apdu(0x84, 0x24, 0x00, 0x00, data), None
        if kind == "init":
            purchase, amount = step[1], step[2]
            data = b"\x01" + amount.to_bytes(4, "big") + TERMINAL
            return _apdu(0x80, 0x50, 0x01 if purchase else 0x00, 0x02, data, 0x0F if purchase
                         else 0x10), None  # fmt: skip
        init, valid = self.init, step[1]
        if kind == "debit":
            mac = bytes(4)
            if init is not None and init["purchase"] and valid:
                dpk = self.key("purchase")
                sk = crypto.purchase_session_key(
                    dpk, init["random"], init["atc"], self.ttc, self.alg
                )
                mac = crypto.purchase_mac1(sk, init["amount"], TransactionType.PURCHASE,
                                           TERMINAL, DATE, TIME, self.alg)  # fmt: skip
            data = self.ttc.to_bytes(4, "big") + DATE + TIME + mac
            self.ttc += 1
            return _apdu(0x80, 0x54, 0x01, 0x00, data, 0x08), "valid" if mac != bytes(4) else None
        assert kind == "credit"
        mac = bytes(4)
        if init is not None and not init["purchase"] and valid:
            sk = crypto.load_session_key(self.key("load"), init["random"], init["atc"], self.alg)
            mac = crypto.load_mac2(sk, init["amount"], TransactionType.LOAD, TERMINAL, DATE,
                                   TIME, self.alg)  # fmt: skip
        return _apdu(0x80, 0x52, 0x00, 0x00, DATE + TIME + mac, 0x04), (
            "valid" if mac != bytes(4) else None
        )

    # -- one APDU and the checks -----------------------------------------------------
    def run(self, step: tuple[Any, ...], tear: int | None) -> None:
        if step[0] == "power":
            self.card.power_off()
            self.card.power_on()
            self.init = self.challenge = None
            return
        apdu, mac = self.build(step)
        before = self.card.eeprom.snapshot()
        pin_before = pin_digits(H(before["pin"]))
        init, self.init = self.init, None
        self.challenge = None  # a challenge serves the very next command only
        if tear is not None:
            self.card.eeprom.arm_tear_at(tear)
        torn = False
        try:
            answer: bytes | None = self.card.transmit(apdu)
        except PowerLost:
            assert tear is not None, "power lost with no tear armed"
            torn, answer = True, None
            self.card.power_on()
        finally:
            self.card.eeprom.arm_tear(None)
        after = self.card.eeprom.snapshot()
        if answer is not None:
            assert len(answer) >= 2, f"no status word for {apdu.hex()}"
        sw = None if answer is None else int.from_bytes(answer[-2:], "big")
        data = b"" if answer is None else answer[:-2]
        cmd = _parse(apdu)
        # Balance within bounds, reported unsigned.
        assert -self.overdraft <= after["balance"] <= MAX_BALANCE
        if cmd is not None and (cmd.cla, cmd.ins) == (0x80, 0x5C) and sw == 0x9000:
            assert int.from_bytes(data, "big") == after["balance"] + self.overdraft
        # Counters never go back.
        for counter in ("offline_atc", "online_atc"):
            assert after[counter] >= before[counter]
        # Money moves only with a valid MAC, by the pending amount.
        delta = after["balance"] - before["balance"]
        if (
            delta
            or after["offline_atc"] != before["offline_atc"]
            or (after["online_atc"] != before["online_atc"])
        ):
            assert cmd is not None and mac == "valid" and init is not None, apdu.hex()
            if cmd.ins == 0x54:
                assert init["purchase"] and delta == -init["amount"]
                assert after["offline_atc"] == before["offline_atc"] + 1
            else:
                assert cmd.ins == 0x52 and not init["purchase"] and delta == init["amount"]
                assert after["online_atc"] == before["online_atc"] + 1
        # PIN and PUK counters.
        presented = _presented(cmd, pin_before)
        for ref, maximum in (("pin", PIN_TRIES), ("puk", PUK_TRIES)):
            was, now = before[f"{ref}_tries"], after[f"{ref}_tries"]
            assert 0 <= now <= maximum
            if now < was:
                assert now == was - 1, (ref, apdu.hex())
                assert presented.get(ref) == "wrong" or (presented.get(ref) == "right" and torn), (
                    ref, apdu.hex(), torn,
                )  # fmt: skip
            if now > was:
                assert sw == 0x9000 or torn, (ref, apdu.hex())
                assert cmd is not None
                issuer = (cmd.cla, cmd.ins) in ((0x80, 0x5E), (0x84, 0x24)) and cmd.p1 == 0
                puk_reset = ref == "pin" and presented.get("puk") == "right"
                assert presented.get(ref) == "right" or issuer or puk_reset, (ref, apdu.hex())
        if after["pin"] != before["pin"]:  # a new PIN only through the commands that set one
            assert cmd is not None, apdu.hex()
            reloaded = cmd.ins == 0x5E and cmd.p1 == 0x00 and mac == "valid"
            changed = cmd.ins == 0x5E and cmd.p1 == 0x01 and presented.get("pin") == "right"
            reset = cmd.ins == 0x2C and presented.get("puk") == "right"
            assert reloaded or changed or reset, apdu.hex()
        # What the next step may build on.
        if sw == 0x9000 and cmd is not None:
            if (cmd.cla, cmd.ins) == (0x80, 0x50):
                purchase = cmd.p1 == 0x01
                atc_at = 4
                self.init = {
                    "purchase": purchase,
                    "amount": int.from_bytes(cmd.data[1:5], "big"),
                    "atc": int.from_bytes(data[atc_at : atc_at + 2], "big"),
                    "random": data[11:15] if purchase else data[8:12],
                }
            if (cmd.cla, cmd.ins) == (0x00, 0x84):
                self.challenge = data


def _other(secret: str) -> str:
    return "".join(str((int(c) + 1) % 10) for c in secret)


def _parse(apdu: bytes) -> CommandApdu | None:
    try:
        return CommandApdu.from_bytes(apdu)
    except ProtocolError:
        return None


def _same(raw: bytes, secret: str) -> str | None:
    try:
        return "right" if bcd_pin(raw) == secret else "wrong"
    except ValueError:
        return None


def _presented(cmd: CommandApdu | None, pin: str) -> dict[str, str | None]:
    """Which secrets a command presents, as the card would read them."""
    if cmd is None:
        return {}
    if (cmd.cla, cmd.ins, cmd.p1, cmd.p2) == (0x00, 0x20, 0, 0) and len(cmd.data) == 3:
        return {"pin": _same(cmd.data, pin)}
    if (cmd.cla, cmd.ins, cmd.p1, cmd.p2) == (0x80, 0x5E, 1, 0) and len(cmd.data) == 7:
        return {"pin": _same(cmd.data[:3], pin)}
    if (cmd.cla, cmd.ins, cmd.p1, cmd.p2) == (0x00, 0x2C, 0, 0) and len(cmd.data) == 7:
        return {"puk": _same(cmd.data[:4], PUK)}
    return {}


def _new_probe(alg: Algorithm, overdraft: int, balance: int) -> Probe:
    probe = Probe(alg, overdraft)
    holder = Holder("测试", ASN.hex(), "320582********0000", dt.date(1990, 1, 1))
    eeprom = make_card(fixed_keys(alg), ASN, holder, balance=balance, overdraft_limit=overdraft,
                       max_balance=MAX_BALANCE)  # fmt: skip
    probe.card = CitizenCard(eeprom)
    probe.card.power_on()
    return probe


def _card_campaign(alg: Algorithm, overdraft: int, balance: int, steps: list[Any]) -> None:
    probe = _new_probe(alg, overdraft, min(balance, MAX_BALANCE))
    probe.run(("select",), None)
    for step, tear in steps:
        expand = _SEQUENCES.get(step[0])
        parts = expand(step) if expand else [step]
        for part in parts[:-1]:
            probe.run(part, None)
        probe.run(parts[-1], tear)  # the tear, if any, in the sequence's last command


_CARD_ARGS = {
    "alg": st.sampled_from(list(Algorithm)),
    "overdraft": st.sampled_from([0, 500]),
    "balance": st.integers(0, MAX_BALANCE),
    "steps": st.lists(st.tuples(_step, _tear), min_size=5, max_size=40),
}
_FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(**_CARD_ARGS)
def test_card_fuzz(alg: Algorithm, overdraft: int, balance: int, steps: list[Any]) -> None:
    _card_campaign(alg, overdraft, balance, steps)


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**_CARD_ARGS)
def test_card_fuzz_long(alg: Algorithm, overdraft: int, balance: int, steps: list[Any]) -> None:
    _card_campaign(alg, overdraft, balance, steps)


# -- the PSAM ---------------------------------------------------------------------------

_PSAM_SELECT = b"\x00\xa4\x04\x00" + bytes([len(PSAM_AID)]) + PSAM_AID
_psam_step = st.one_of(
    _raw,
    _garbage,
    st.tuples(st.just("select")),
    st.tuples(st.just("init-sam"), st.binary(min_size=4, max_size=4), _amount),
    st.tuples(st.just("mac2"), st.binary(min_size=4, max_size=4)),
)


def _psam_campaign(alg: Algorithm, steps: list[Any]) -> None:
    chip = Psam(make_psam(fixed_keys(alg), TERMINAL))
    chip.power_on()
    ttc = chip.ttc
    for step, tear in [(("select",), None), *steps]:
        kind = step[0]
        if kind == "raw":
            apdu = _apdu(*step[1:6], le=step[6])
        elif kind == "bytes":
            apdu = step[1]
        elif kind == "select":
            apdu = _PSAM_SELECT
        elif kind == "init-sam":
            data = (step[1] + b"\x00\x00" + step[2].to_bytes(4, "big") + b"\x06" + DATE + TIME
                    + bytes([1, int(alg)]) + ASN[2:])  # fmt: skip
            apdu = _apdu(0x80, 0x70, 0x00, 0x00, data, 0x08)
        else:
            apdu = _apdu(0x80, 0x72, 0x00, 0x00, step[1])
        if tear is not None:
            chip.eeprom.arm_tear_at(tear)
        try:
            answer = chip.transmit(apdu)
            assert len(answer) >= 2, f"no status word for {apdu.hex()}"
            if kind == "init-sam" and answer[-2:] == b"\x90\x00":
                assert int.from_bytes(answer[:4], "big") == ttc  # the TTC it used, then +1
        except PowerLost:
            assert tear is not None
            chip.power_on()
            chip.transmit(_PSAM_SELECT)
        finally:
            chip.eeprom.arm_tear(None)
        assert ttc <= chip.ttc <= ttc + 1  # never back, one per INIT SAM at most
        ttc = chip.ttc


@_FAST
@given(alg=st.sampled_from(list(Algorithm)),
       steps=st.lists(st.tuples(_psam_step, st.one_of(st.none(), st.integers(0, 4))),
                      max_size=30))  # fmt: skip
def test_psam_fuzz(alg: Algorithm, steps: list[Any]) -> None:
    _psam_campaign(alg, steps)


def test_the_probe_flags_a_card_that_breaks_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks are not vacuous: the valid purchase passes them, and a card that
    moves money or restores a PIN try without cause is caught."""
    probe = _new_probe(Algorithm.TDES, 0, 1_000)
    probe.run(("select",), None)
    probe.run(("init", True, 300), None)
    assert probe.init is not None
    probe.run(("debit", True), None)
    assert probe.card.balance == 700
    probe.run(("init", True, 300), None)
    probe.run(("debit", False), None)  # forged: refused, nothing moved
    assert probe.card.balance == 700
    real = probe.card.transmit

    def leaky(apdu: bytes) -> bytes:
        answer = real(apdu)
        with probe.card.eeprom.atomic("bug") as w:
            w["balance"] = probe.card.balance + 1
        return answer

    monkeypatch.setattr(probe.card, "transmit", leaky)
    with pytest.raises(AssertionError):
        probe.run(("select",), None)
    monkeypatch.undo()
    probe.run(("verify", False), None)
    assert probe.card.eeprom["pin_tries"] == 2

    def forgiving(apdu: bytes) -> bytes:
        answer = real(apdu)
        with probe.card.eeprom.atomic("bug") as w:
            w["pin_tries"] = PIN_TRIES
        return answer

    monkeypatch.setattr(probe.card, "transmit", forgiving)
    with pytest.raises(AssertionError):
        probe.run(("verify", False), None)  # a wrong PIN that gives the try back
