"""Every access condition and limit the card and PSAM enforce (docs/card-spec.md §2-§6).

Each refusal is checked twice over: the status word on the wire, and that the
card's persistent state (its EEPROM image) did not move. Where the same command can
succeed, a sibling case shows that it does, so a check that never fires cannot pass
unnoticed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib import crypto
from cardlib.apdu import CommandApdu
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import (
    AccessDeniedError,
    ApplicationBlockedError,
    ApplicationLockedError,
    AtcExhaustedError,
    ConditionsNotSatisfiedError,
    FileNotFoundCardError,
    InsufficientBalanceError,
)
from cardlib.identity import Identity
from cardlib.keys import KeyRole
from cardlib.layout import Ins
from cardlib.purse import LoadAuthorization, LoadRequest
from tests.cardlib.card_rig import (
    ASN,
    PROFILES,
    PURCHASE_NOW,
    TERMINAL,
    VERIFY_PIN,
    CardRig,
    H,
    Profile,
)

ALGS = pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
AID = "F0434956494341524401"
SELECT = f"00A404000A{AID}00"
TDES = PROFILES[Algorithm.TDES]


def _state(rig: CardRig) -> dict[str, Any]:
    return rig.card.eeprom.snapshot()


def _selected(profile: Profile = TDES, **kwargs: Any) -> CardRig:
    """A card with its application selected and the PIN verified (loads need it)."""
    rig = CardRig(profile, seed=7, **kwargs)
    assert rig.send(SELECT)[1] == "9000"
    assert rig.send(VERIFY_PIN) == ("", "9000")
    return rig


class Host:
    """Stand-in for the central's load authorization, with the load master key."""

    def __init__(self, p: Profile, when: datetime = PURCHASE_NOW) -> None:
        self.p, self.when = p, when
        self.calls: list[LoadRequest] = []

    def __call__(self, req: LoadRequest) -> LoadAuthorization:
        self.calls.append(req)
        alg, ttype = self.p.alg, TransactionType.LOAD
        dlk = crypto.diversify(H(self.p.masters[KeyRole.LOAD]), req.asn, alg)
        sk = crypto.load_session_key(dlk, req.card_random, req.online_atc, alg)
        mac1 = crypto.load_mac1(sk, req.balance_before, req.amount, ttype, req.terminal_id, alg)
        assert mac1 == req.mac1
        d, t = H(self.when.strftime("%Y%m%d")), H(self.when.strftime("%H%M%S"))
        mac2 = crypto.load_mac2(sk, req.amount, ttype, req.terminal_id, d, t, alg)
        return LoadAuthorization(d, t, mac2)


def _damk_mac(p: Profile, asn: str, data: str, challenge: str) -> str:
    damk = crypto.diversify(H(p.masters[KeyRole.MAINTENANCE]), H(asn), p.alg)
    return crypto.sm_mac(damk, H(data), H(challenge), p.alg).hex().upper()


# -- 6982: files and commands the card never allows ----------------------------------

MAC = "AABBCCDD"
RECORD = "00" * 23
NEVER_ALLOWED = {
    "plain UPDATE BINARY of public info (15)": "00D6950004 01020304",
    "plain UPDATE BINARY of holder data (16)": "00D6960004 01020304",
    "SM UPDATE BINARY of 15 without a challenge": f"04D6950008 01020304 {MAC}",
    "SM UPDATE BINARY of 16 without a challenge": f"04D6960008 01020304 {MAC}",
    "UPDATE BINARY of the purse (17)": "00D6970001 00",
    "SM UPDATE BINARY of the purse (17)": f"04D6970005 00 {MAC}",
    "UPDATE BINARY of the log (18)": "00D6980001 00",
    "UPDATE BINARY of the keys (1A)": "00D69A0001 00",
    "UPDATE RECORD of the log": f"00DC01C417 {RECORD}",
    "APPEND RECORD to the log": f"00E200C017 {RECORD}",
    "UPDATE RECORD of the purse": "00DC01BC01 00",
    "APPEND RECORD to the keys": "00E200D001 00",
    "READ BINARY of the purse": "00B0970000",
    "READ BINARY of the keys": "00B09A0000",
    "READ RECORD of the purse": "00B201BC00",
    "READ RECORD of the keys": "00B201D400",
    "APPLICATION BLOCK without GET CHALLENGE": f"841E000004 {MAC}",
    "permanent APPLICATION BLOCK without GET CHALLENGE": f"841E000104 {MAC}",
    "APPLICATION UNBLOCK without GET CHALLENGE": f"8418000004 {MAC}",
    "APPLICATION BLOCK without secure messaging (CLA 80)": f"801E000004 {MAC}",
}


@ALGS
@pytest.mark.parametrize("apdu", NEVER_ALLOWED.values(), ids=NEVER_ALLOWED.keys())
def test_card_refuses_with_6982(alg: Algorithm, apdu: str) -> None:
    rig = _selected(PROFILES[alg], balance=500)
    before = _state(rig)
    assert rig.send(apdu) == ("", "6982")
    assert _state(rig) == before
    # The same through cardlib: its own typed error.
    cmd = CommandApdu.from_bytes(H(apdu.replace(" ", "")))
    with pytest.raises(AccessDeniedError):
        rig.card_session.send_apdu(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.le)
    assert _state(rig) == before


def test_psam_key_file_is_never_readable() -> None:
    rig = CardRig(TDES)
    assert rig.send_psam("00A404000AF0434956494341524450") == ("", "9000")
    assert rig.send_psam("00B09A0000") == ("", "6982")
    assert rig.send_psam("00B09A0010") == ("", "6982")
    assert rig.send_psam("00B0960006") == (TERMINAL, "9000")  # the terminal id is


@ALGS
def test_challenge_serves_the_very_next_command_only(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=("11111111", "22222222", "33333333"))
    rig.send(SELECT)
    # A correct MAC for challenge 1, but a GET BALANCE came in between.
    assert rig.send("0084000004") == ("11111111", "9000")
    rig.send("805C000204")
    assert rig.send(f"841E000004 {_damk_mac(p, ASN, '841E000004', '11111111')}")[1] == "6982"
    # The same with a malformed command in between: it is a command too.
    assert rig.send("0084000004") == ("22222222", "9000")
    assert rig.send("805C")[1] == "6700"
    assert rig.send(f"841E000004 {_damk_mac(p, ASN, '841E000004', '22222222')}")[1] == "6982"
    assert rig.card.eeprom["status"] == "active"
    # Directly after its challenge the MAC is accepted, once: a replay finds no challenge.
    good = _damk_mac(p, ASN, "841E000004", "33333333")
    assert rig.send("0084000004") == ("33333333", "9000")
    assert rig.send(f"841E000004 {good}") == ("", "9000")
    assert rig.card.eeprom["status"] == "blocked"
    assert rig.send(f"8418000004 {good}")[1] == "6982"


# -- PIN rules: EP purchases without, loads with (PBOC) -----------------------------


@ALGS
def test_purse_purchase_needs_no_pin(alg: Algorithm) -> None:
    """PBOC: the e-purse (EP) is debited without VERIFY (buses, gates, shops)."""
    rig = CardRig(PROFILES[alg], seed=17, balance=500)
    psam, purse = rig.psam(), rig.purse()
    assert Identity.of(purse).pin_tries() == 3  # nothing verified
    result = purse.purchase(psam, 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert result.balance_after == 400 == rig.card.balance == purse.balance()
    assert rig.send(SELECT)[1] == "9000"
    assert _debit_after_init(rig, None)[1] == "9000"  # the raw commands too
    assert rig.card.balance == 300


@ALGS
def test_load_needs_the_pin_verified_since_the_last_select(alg: Algorithm) -> None:
    """PBOC / FMCOS: INITIALIZE FOR LOAD wants the holder's PIN verified on the card."""
    p = PROFILES[alg]
    rig = CardRig(p, seed=17, balance=500)
    host = Host(p)
    before = _state(rig)
    with pytest.raises(AccessDeniedError):
        rig.purse().load(H(TERMINAL), 100, authorize=host)
    assert rig.send(SELECT)[1] == "9000"
    assert rig.send(f"805000020B 01 00000064 {TERMINAL} 10") == ("", "6982")
    assert host.calls == [] and _state(rig) == before  # refused before the host is asked
    # Verified: accepted. Reselected, or powered off and on: the PIN is needed again.
    assert rig.send(VERIFY_PIN) == ("", "9000")
    assert rig.send(f"805000020B 01 00000064 {TERMINAL} 10")[1] == "9000"
    rig.send(SELECT)
    assert rig.send(f"805000020B 01 00000064 {TERMINAL} 10") == ("", "6982")
    assert rig.send(VERIFY_PIN) == ("", "9000")
    rig.card_reader.insert(rig.card)
    rig.send(SELECT)
    assert rig.send(f"805000020B 01 00000064 {TERMINAL} 10") == ("", "6982")
    rig.paying_purse().load(H(TERMINAL), 100, authorize=host)
    assert rig.card.balance == 600


@ALGS
def test_passbook_rule_option_gates_purchases_with_the_pin(alg: Algorithm) -> None:
    """A card personalized with the passbook (ED) rule answers 6982 to INITIALIZE and
    DEBIT FOR PURCHASE until the PIN is verified since the last SELECT."""
    rig = CardRig(PROFILES[alg], seed=17, balance=500, purchase_needs_pin=True)
    psam, purse = rig.psam(), rig.purse()
    before, ttc = _state(rig), rig.psam_chip.ttc
    with pytest.raises(AccessDeniedError):
        purse.purchase(psam, 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert rig.send(f"805001020B 01 00000064 {TERMINAL} 0F") == ("", "6982")
    assert rig.send("805401000F 00000001 20261121 091507 00000000 08") == ("", "6985")
    assert _state(rig) == before and rig.psam_chip.ttc == ttc  # refused before the PSAM
    assert rig.send(VERIFY_PIN) == ("", "9000")
    assert _debit_after_init(rig, None)[1] == "9000"
    rig.send(SELECT)
    assert rig.send(f"805001020B 01 00000064 {TERMINAL} 0F") == ("", "6982")
    assert rig.send(VERIFY_PIN) == ("", "9000")
    rig.card_reader.insert(rig.card)
    rig.send(SELECT)
    assert rig.send(f"805001020B 01 00000064 {TERMINAL} 0F") == ("", "6982")


# -- secure messaging ----------------------------------------------------------------

# Vectors *-sm-mac-02 (made outside cardlib): UPDATE BINARY of SFI 16 with
# "ZHOU XIAOMING" on the card with ASN 32058200000020260001.
SM_ASN = "32058200000020260001"
SM_UPDATE = {
    Algorithm.TDES: ("A2D1B7DA", "0C5C385C"),
    Algorithm.SM4: ("5DAB8723", "98E34115"),
}
NEW_BYTES = "5A484F55205849414F4D494E47"


@ALGS
def test_sm_update_binary_with_the_right_mac_writes(alg: Algorithm) -> None:
    challenge, mac = SM_UPDATE[alg]
    rig = CardRig(PROFILES[alg], randoms=(challenge,), asn=SM_ASN)
    rig.send(SELECT)
    old = rig.send("00B0960000")[0]
    assert rig.send("0084000004") == (challenge, "9000")
    assert rig.send(f"04D6960011 {NEW_BYTES} {mac}") == ("", "9000")
    assert rig.send("00B0960000") == (NEW_BYTES + old[len(NEW_BYTES) :], "9000")


@ALGS
def test_sm_update_binary_with_a_wrong_mac_is_6988(alg: Algorithm) -> None:
    challenge, mac = SM_UPDATE[alg]
    wrong = f"{int(mac, 16) ^ 1:08X}"
    rig = CardRig(PROFILES[alg], randoms=(challenge, challenge, challenge), asn=SM_ASN)
    rig.send(SELECT)
    before = _state(rig)
    rig.send("0084000004")
    assert rig.send(f"04D6960011 {NEW_BYTES} {wrong}") == ("", "6988")
    # The MAC binds the header: the right MAC sent for another file, or offset, fails too.
    rig.send("0084000004")
    assert rig.send(f"04D6950011 {NEW_BYTES} {mac}") == ("", "6988")
    rig.send("0084000004")
    assert rig.send(f"04D6960111 {NEW_BYTES} {mac}") == ("", "6988")
    assert _state(rig) == before


@ALGS
def test_sm_update_of_public_info_and_past_the_end(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=("01020304", "05060708"))
    rig.send(SELECT)
    header = "04D6951808"  # the expiry date: 4 bytes at offset 24, then the MAC
    rig.send("0084000004")
    mac = _damk_mac(p, ASN, header + "20361231", "01020304")
    assert rig.send(f"{header} 20361231 {mac}") == ("", "9000")
    assert rig.send("00B095001E")[0][48:56] == "20361231"
    # Four bytes at offset 28 of a 30-byte file: refused, nothing written.
    before = _state(rig)
    header = "04D6951C08"
    rig.send("0084000004")
    mac = _damk_mac(p, ASN, header + "01010101", "05060708")
    assert rig.send(f"{header} 01010101 {mac}") == ("", "6700")
    assert _state(rig) == before


# -- order of commands ---------------------------------------------------------------


def _debit_after_init(rig: CardRig, between: str | None) -> tuple[str, str]:
    """INITIALIZE FOR PURCHASE, the PSAM's MAC1, optionally one more card command, DEBIT."""
    psam = rig.psam()
    init, sw = rig.send(f"805001020B 01 00000064 {TERMINAL} 0F")
    assert sw == "9000"
    ttc, mac1 = psam.init_for_purchase(
        card_random=H(init[22:30]),
        offline_atc=int(init[8:12], 16),
        amount=100,
        ttype=TransactionType.PURCHASE,
        date=H("20261121"),
        time=H("091507"),
        key_version=1,
        algorithm=rig.profile.alg,
        asn=H(rig.asn),
    )
    if between is not None:
        rig.send(between)
    return rig.send(f"805401000F {ttc:08X} 20261121 091507 {mac1.hex()} 08")


@ALGS
def test_debit_directly_after_initialize_is_accepted(alg: Algorithm) -> None:
    rig = _selected(PROFILES[alg], balance=500)
    data, sw = _debit_after_init(rig, None)
    assert sw == "9000" and len(data) == 16
    assert (rig.card.balance, rig.card.eeprom["offline_atc"]) == (400, 1)


BETWEEN = {
    "GET BALANCE": "805C000204",
    "READ BINARY": "00B095001E",
    "READ RECORD": "00B201C417",
    "GET CHALLENGE": "0084000004",
    "SELECT (same application)": SELECT,
    "INITIALIZE FOR LOAD": f"805000020B 01 00000064 {TERMINAL} 10",
    "GET TRANSACTION PROVE": "805A000602000008",
    "refused UPDATE BINARY": "00D6950001 00",
    "GET DATA": "80CA9F7000",
    "GET DATA of an absent object": "80CA9F7F00",
    "unknown INS": "80CC000000",
    "known INS, wrong CLA": "005C000204",
    "chained command": "905C000204",
    "malformed (too short)": "805C",
}


@ALGS
@pytest.mark.parametrize("between", BETWEEN.values(), ids=BETWEEN.keys())
def test_any_command_between_initialize_and_debit_cancels_it(alg: Algorithm, between: str) -> None:
    rig = _selected(PROFILES[alg], balance=500)
    assert _debit_after_init(rig, between) == ("", "6985")
    assert (rig.card.balance, rig.card.eeprom["offline_atc"], rig.card.eeprom["log"]) == (
        500,
        0,
        [],
    )


def test_get_response_does_not_cancel_initialize() -> None:
    # T=0: INITIALIZE without Le answers 610F and GET RESPONSE fetches it; that is
    # still the same command, so DEBIT must follow it fine.
    rig = _selected(balance=500)
    psam = rig.psam()
    assert rig.send(f"805001020B 01 00000064 {TERMINAL}") == ("", "610F")
    init, sw = rig.send("00C000000F")
    assert sw == "9000"
    ttc, mac1 = psam.init_for_purchase(
        card_random=H(init[22:30]), offline_atc=0, amount=100, ttype=6, date=H("20261121"),
        time=H("091507"), key_version=1, algorithm=Algorithm.TDES, asn=H(ASN),
    )  # fmt: skip
    assert rig.send(f"805401000F {ttc:08X} 20261121 091507 {mac1.hex()} 08")[1] == "9000"
    assert rig.card.balance == 400


def test_debit_and_credit_without_their_initialize_are_6985() -> None:
    rig = _selected(balance=500)
    before = _state(rig)
    assert rig.send("805401000F 00000001 20261121 091507 00000000 08") == ("", "6985")
    assert rig.send("805200000B 20261121 091507 00000000 04") == ("", "6985")
    # ... or after the other kind's INITIALIZE.
    rig.send(f"805000020B 01 00000064 {TERMINAL} 10")
    assert rig.send("805401000F 00000001 20261121 091507 00000000 08") == ("", "6985")
    rig.send(f"805001020B 01 00000064 {TERMINAL} 0F")
    assert rig.send("805200000B 20261121 091507 00000000 04") == ("", "6985")
    with pytest.raises(ConditionsNotSatisfiedError):
        rig.card_session.send_apdu(0x80, 0x54, 0x01, 0x00, bytes(15), le=8)
    assert _state(rig) == before


def test_wrong_mac1_is_9302_and_ends_the_transaction() -> None:
    rig = _selected(balance=500)
    before = _state(rig)
    rig.send(f"805001020B 01 00000064 {TERMINAL} 0F")
    assert rig.send("805401000F 00000001 20261121 091507 00000000 08") == ("", "9302")
    assert rig.send("805401000F 00000001 20261121 091507 00000000 08") == ("", "6985")
    assert _state(rig) == before


def test_wrong_load_mac2_is_9302() -> None:
    rig = _selected(balance=500)
    before = _state(rig)
    rig.send(f"805000020B 01 00000064 {TERMINAL} 10")
    assert rig.send("805200000B 20261121 091507 00000000 04") == ("", "9302")
    assert _state(rig) == before


def test_psam_80_72_needs_the_immediately_preceding_80_70() -> None:
    rig = CardRig(TDES)
    psam = rig.psam()
    assert rig.send_psam("8072000004 00000000") == ("", "6985")
    args: dict[str, Any] = {
        "card_random": H("01020304"), "offline_atc": 0, "amount": 1, "ttype": 6,
        "date": H("20261121"), "time": H("091507"), "key_version": 1,
        "algorithm": Algorithm.TDES, "asn": H(ASN),
    }  # fmt: skip
    for between in ("00B0960006", "00A404000AF0434956494341524450", "80FA", "80CA000000"):
        psam.init_for_purchase(**args)
        rig.send_psam(between)
        assert rig.send_psam("8072000004 00000000") == ("", "6985"), between
    psam.init_for_purchase(**args)
    assert rig.send_psam("8072000004 00000000") == ("", "9302")  # a session: the MAC is checked


# -- selection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "apdu",
    ["805C000204", "00B095001E", "00B201C417", "0084000004", f"805001020B0100000064{TERMINAL}0F"],
)
def test_no_application_selected_is_6985(apdu: str) -> None:
    rig = CardRig(TDES, seed=1, balance=500)
    before = _state(rig)
    assert rig.send(apdu) == ("", "6985")
    # A failed SELECT deselects.
    assert rig.send(SELECT)[1] == "9000"
    assert rig.send("00A404000AF043495649434152440200") == ("", "6A82")
    assert rig.send(apdu) == ("", "6985")
    assert _state(rig) == before


def test_psam_without_selection_is_6985() -> None:
    rig = CardRig(TDES)
    assert rig.send_psam("00B0960006") == ("", "6985")
    assert rig.send_psam("00A404000AF0434956494341524401") == ("", "6A82")  # the card's AID
    assert rig.send_psam("00B0960006") == ("", "6985")


@pytest.mark.parametrize(
    "apdu",
    [
        "00A404000AF043495649434152440200",  # another application
        "00A4040005F04349564900",  # a prefix of ours (no partial selection)
        "00A4000C023F00",  # by file id: not supported
    ],
)
def test_unknown_aid_is_6a82(apdu: str) -> None:
    rig = CardRig(TDES)
    assert rig.send(apdu) == ("", "6A82")
    cmd = CommandApdu.from_bytes(H(apdu))
    with pytest.raises(FileNotFoundCardError):
        rig.card_session.send_apdu(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.le)


def test_unknown_sfi_is_6a82() -> None:
    rig = _selected()
    assert rig.send("00B0810000") == ("", "6A82")
    assert rig.send("00B201E400") == ("", "6A82")  # READ RECORD of SFI 1C (19 is CAPP)


# -- limits --------------------------------------------------------------------------


@ALGS
def test_offline_atc_exhausted_at_65535(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, seed=3, balance=500, offline_atc=65534)
    purse, psam = rig.paying_purse(), rig.psam()
    last = purse.purchase(psam, 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert last.intent.offline_atc == 65534 and rig.card.eeprom["offline_atc"] == 65535
    before, ttc = _state(rig), rig.psam_chip.ttc
    with pytest.raises(AtcExhaustedError):
        purse.purchase(psam, 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert rig.send(f"805001020B 01 00000064 {TERMINAL} 0F") == ("", "9402")
    assert _state(rig) == before and rig.psam_chip.ttc == ttc  # refused before the PSAM
    # Loads count on their own ATC and still work.
    purse.load(H(TERMINAL), 100, authorize=Host(p))
    assert rig.card.balance == 500


@ALGS
def test_online_atc_exhausted_at_65535(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, seed=3, balance=500, online_atc=65535)
    purse = rig.paying_purse()
    host = Host(p)
    before = _state(rig)
    with pytest.raises(AtcExhaustedError):
        purse.load(H(TERMINAL), 100, authorize=host)
    assert host.calls == [] and _state(rig) == before
    purse.purchase(rig.psam(), 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert rig.card.balance == 400


@ALGS
@pytest.mark.parametrize(
    ("balance", "overdraft", "amount", "allowed"),
    [
        (100, 0, 100, True),
        (100, 0, 101, False),
        (100, 50, 150, True),
        (100, 50, 151, False),
        (-50, 50, 1, False),
        (-49, 50, 1, True),
        (0, 0, 1, False),
    ],
)
def test_insufficient_balance_honours_the_overdraft_limit(
    alg: Algorithm, balance: int, overdraft: int, amount: int, allowed: bool
) -> None:
    rig = CardRig(PROFILES[alg], seed=5, balance=balance, overdraft_limit=overdraft)
    purse, psam = rig.paying_purse(), rig.psam()
    before, ttc = _state(rig), rig.psam_chip.ttc
    if allowed:
        purse.purchase(psam, amount, on_intent=lambda _i: None, now=PURCHASE_NOW)
        # PBOC: the card reports the unused overdraft in its (unsigned) balance.
        assert purse.balance() == balance + overdraft - amount >= 0
        assert rig.card.balance == balance - amount >= -overdraft
        return
    with pytest.raises(InsufficientBalanceError):
        purse.purchase(psam, amount, on_intent=lambda _i: None, now=PURCHASE_NOW)
    assert _state(rig) == before and rig.psam_chip.ttc == ttc


def test_amount_zero_is_6a80() -> None:
    rig = _selected(balance=500)
    assert rig.send(f"805001020B 01 00000000 {TERMINAL} 0F") == ("", "6A80")
    assert rig.send(f"805000020B 01 00000000 {TERMINAL} 10") == ("", "6A80")


@ALGS
@pytest.mark.parametrize(("amount", "allowed"), [(1_000, True), (1_001, False)])
def test_load_above_the_maximum_balance_is_refused(
    alg: Algorithm, amount: int, allowed: bool
) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, seed=9, balance=9_000, max_balance=10_000)
    purse = rig.paying_purse()
    host = Host(p)
    before = _state(rig)
    if allowed:
        purse.load(H(TERMINAL), amount, authorize=host)
        assert purse.balance() == 10_000
        return
    with pytest.raises(ConditionsNotSatisfiedError):
        purse.load(H(TERMINAL), amount, authorize=host)
    assert host.calls == [] and _state(rig) == before


# -- blocked and locked --------------------------------------------------------------


@ALGS
def test_blocked_application_refuses_purse_commands_but_stays_readable(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, seed=11, balance=500)
    psam = rig.psam()
    rig.purse().block(psam)
    purse = rig.purse()  # SELECT answers 6A81 and leaves the application selected
    assert purse.blocked
    before, ttc = _state(rig), rig.psam_chip.ttc
    assert purse.public_info().asn == H(ASN)
    assert purse.holder().name == "张伟"
    assert purse.log() == []
    with pytest.raises(ApplicationBlockedError):
        purse.balance()
    with pytest.raises(ApplicationBlockedError):
        purse.purchase(psam, 100, on_intent=lambda _i: None, now=PURCHASE_NOW)
    with pytest.raises(ApplicationBlockedError):
        purse.load(H(TERMINAL), 100, authorize=Host(p))
    assert rig.send(f"805001020B 01 00000064 {TERMINAL} 0F") == ("", "6A81")
    assert _state(rig) == before and rig.psam_chip.ttc == ttc
    purse.unblock(psam)
    with pytest.raises(ConditionsNotSatisfiedError):
        purse.unblock(psam)  # only a blocked application can be unblocked
    assert rig.purse().balance() == 500


@ALGS
def test_permanently_locked_application_answers_9303_to_everything(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, seed=13, balance=500)
    psam = rig.psam()
    purse = rig.purse()
    purse.public_info()
    purse.block(psam, permanent=True)
    before = _state(rig)
    with pytest.raises(ApplicationLockedError):
        rig.purse()
    for apdu in ("00B095001E", "00B0960000", "00B201C417", "805C000204", "0084000004",
                 f"805001020B 01 00000064 {TERMINAL} 0F", "8418000004 00000000"):  # fmt: skip
        assert rig.send(apdu) == ("", "9303"), apdu
    # Power does not bring it back.
    rig.card_reader.insert(rig.card)
    assert rig.send(SELECT) == ("", "9303")
    assert rig.send("805C000204") == ("", "9303")
    assert _state(rig) == before


# -- malformed commands --------------------------------------------------------------

MALFORMED = {
    "one byte": "80",
    "three bytes": "805C00",
    "Lc 11, two data bytes": "805001020B0100",
    "Lc 2, twelve data bytes": f"8050010202 01 00000064 {TERMINAL} 0F",
    "extended Lc past the end": "8050010200000B01",
    "INITIALIZE with 10 data bytes": "805001020A 01 00000064 3205820000 0F",
    "INITIALIZE with 12 data bytes": f"805001020C 01 00000064 {TERMINAL} 00 0F",
    "GET TRANSACTION PROVE with 3 data bytes": "805A00060300000008",
    "GET CHALLENGE of 5 bytes": "0084000005",
}


@pytest.mark.parametrize("apdu", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_apdu_is_6700_and_changes_nothing(apdu: str) -> None:
    rig = _selected(balance=500)
    before = _state(rig)
    assert rig.send(apdu) == ("", "6700")
    assert _state(rig) == before
    assert rig.send("805C000204") == ("000001F4", "9000")  # the card still works


def test_debit_with_a_wrong_length_is_6700_and_debits_nothing() -> None:
    rig = _selected(balance=500)
    before = _state(rig)
    rig.send(f"805001020B 01 00000064 {TERMINAL} 0F")
    assert rig.send("805401000E 00000001 20261121 091507 000000 08") == ("", "6700")
    assert _state(rig) == before


@given(
    cla=st.sampled_from([0x00, 0x04, 0x0C, 0x80, 0x84, 0x90]),
    ins=st.one_of(st.sampled_from(sorted({int(i) for i in Ins})), st.integers(0, 255)),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=40),
    le=st.sampled_from([None, 1, 4, 8, 15, 256]),
)
def test_any_command_gets_a_status_word_never_an_exception(
    cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    rig = _selected(balance=500)
    out = rig.card.transmit(CommandApdu(cla, ins, p1, p2, data, le).to_bytes())
    assert len(out) >= 2 and out[-2] in (0x61, 0x62, 0x63, 0x67, 0x68, 0x69, 0x6A, 0x6B,
                                          0x6C, 0x6D, 0x6E, 0x6F, 0x90, 0x93, 0x94)  # fmt: skip
