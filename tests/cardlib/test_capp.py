"""The composite (CAPP) purchase, type 09: byte-exact commands, the order rules around
UPDATE CAPP DATA CACHE, GET TRANSACTION PROVE for type 09, and tears at every write
point of DEBIT FOR CAPP PURCHASE settled by transaction prove.

MAC1, MAC2 and TAC are those of the vectors *-capp-purchase-01 (made without
cardlib, scripts/make_vectors.py), so cardlib never computed the values pinned here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardlib import crypto
from cardlib.bcd import CARD_TZ
from cardlib.capp import TAG_BUS, TransitRecord, TransitUpdate
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import (
    ApduError,
    ConditionsNotSatisfiedError,
    InsufficientBalanceError,
    NoTransactionToProveError,
)
from cardlib.keys import KeyRole
from cardlib.purse import DebitOutcomeUnknown, PurchaseIntent, SettlementKind
from tests.cardlib.card_rig import ASN, PROFILES, TERMINAL, CardRig, H
from tests.cardlib.rig import NOW, Rig, purchase_tac_ok
from tests.cardlib.transcript import Exchange

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ALGS = pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
RIDE_NOW = datetime(2026, 11, 21, 7, 30, 12, tzinfo=CARD_TZ)  # vectors *-capp-purchase-01
AID = "F0434956494341524401"
PSAM_AID = "F0434956494341524450"
PUBLIC = "32150000000000010101" + ASN + "202501012035123101"
# tag 01 (bus), flat ride, line 12, vehicle 345, terminal, date, time, fare 200, ATC 0, ride 1
RECORD = "01 00 000C 0159 320582000001 20261121 073012 000000C8 0000 0001 0000000000"


def X(command: str, response: str, sw: str = "9000") -> Exchange:
    return Exchange(command.replace(" ", ""), response.replace(" ", ""), sw)


def _vector(alg: Algorithm) -> dict[str, str]:
    name = "tdes" if alg is Algorithm.TDES else "sm4"
    v = json.loads((VECTORS / f"{name}-capp-purchase-01.json").read_text())
    p = PROFILES[alg]
    i = v["inputs"]
    # The vector's inputs are this card's: same masters, ASN, random, counters, terminal.
    assert (i["purchase_master_key"], i["tac_master_key"]) == (
        p.masters[KeyRole.PURCHASE],
        p.masters[KeyRole.TAC],
    )
    assert (i["asn"], i["card_random"], i["terminal_id"]) == (ASN, p.purchase_random, TERMINAL)
    assert (i["offline_atc"], i["ttc"], i["amount"], i["transaction_type"]) == (0, 1, 200, "09")
    assert (i["date"], i["time"]) == ("20261121", "073012")
    out: dict[str, str] = v["outputs"]
    return out


def _bus(rides: int = 1, fare: int = 200) -> TransitUpdate:
    def make(atc: int, date: bytes, time: bytes) -> bytes:
        return TransitRecord(TAG_BUS, 0, 12, 345, H(TERMINAL), date, time, fare, atc,
                             rides).to_bytes()  # fmt: skip

    return TransitUpdate(1, make)


@ALGS
def test_capp_purchase_transcript(alg: Algorithm) -> None:
    p, v = PROFILES[alg], _vector(alg)
    rig = CardRig(p, randoms=(p.purchase_random,), balance=5000)
    psam = rig.psam()
    purse = rig.purse()  # no PIN: a bus debits the purse without one
    intents: list[PurchaseIntent] = []
    result = purse.purchase(psam, 200, on_intent=intents.append, now=RIDE_NOW, transit=_bus())
    alg_id = f"{int(alg):02X}"
    assert rig.card_rec.take() == [
        X(f"00A40400 0A {AID} 00", f"6F2F 840A{AID} A521 9F0C1E {PUBLIC}{alg_id}"),
        X("00B09500 1E", f"{PUBLIC}{alg_id}"),
        X("80500302 0B 01 000000C8 320582000001 0F",
          f"00001388 0000 000000 01 {alg_id} {p.purchase_random}"),
        X(f"80DC01C8 20 {RECORD}", ""),
        X(f"80540100 0F 00000001 20261121 073012 {v['mac1']} 08", f"{v['tac']} {v['mac2']}"),
    ]  # fmt: skip
    assert rig.psam_rec.take() == [
        X(f"00A40400 0A {PSAM_AID}", ""),
        X("00B09600 06", "320582000001"),
        X(f"80700000 1C {p.purchase_random} 0000 000000C8 09 20261121 073012 01 {alg_id} "
          f"8200000000000001 08", f"00000001 {v['mac1']}"),
        X(f"80720000 04 {v['mac2']}", ""),
    ]  # fmt: skip
    assert (result.tac, result.mac2, result.mac2_verified) == (H(v["tac"]), H(v["mac2"]), True)
    assert intents == [result.intent] and result.intent.ttype == TransactionType.CAPP_PURCHASE
    # The log says type 09; the transit record is committed; the proof answers for 09.
    assert purse.balance() == 4800
    (entry,) = purse.log()
    assert (entry.ttype, entry.atc, entry.amount, entry.terminal_id) == (9, 0, 200, H(TERMINAL))
    rec = purse.transit_record(1)
    assert rec is not None and rec.to_bytes() == H(RECORD.replace(" ", ""))
    assert purse.transit_record(2) is None
    rig.card_rec.take()
    assert purse.transaction_prove(0x09, 0) == (H(v["mac2"]), H(v["tac"]))
    with pytest.raises(NoTransactionToProveError):
        purse.transaction_prove(0x06, 0)
    assert rig.card_rec.take() == [
        X("805A0009020000 08", f"{v['mac2']}{v['tac']}"),
        X("805A0006020000 08", "", "9406"),
    ]
    assert rig.send("00B201CC 20") == (RECORD.replace(" ", ""), "9000")
    assert rig.send("00B203CC 20") == ("", "6A83")


def _init(rig: CardRig, p1: str = "03") -> None:
    assert rig.send(f"8050{p1}02 0B 01 000000C8 320582000001 0F")[1] == "9000"


def test_update_capp_data_cache_rules() -> None:
    p = PROFILES[Algorithm.TDES]
    rig = CardRig(p, seed=1, balance=5000)
    rig.paying_purse()  # so that a DEBIT with nothing pending answers 6985 under any PIN rule
    rec = RECORD.replace(" ", "")
    debit = "80540100 0F 00000001 20261121 073012 00000000 08"
    # Between the initialize and the debit, and repeatable (the last one wins).
    _init(rig)
    assert rig.send(f"80DC01C8 20 {rec}") == ("", "9000")
    assert rig.send(f"80DC01C8 20 {rec}") == ("", "9000")
    assert rig.send(debit) == ("", "9302")  # wrong MAC1: nothing written
    assert rig.card.eeprom.get("capp") is None and rig.card.balance == 5000
    # Any other command in between cancels the pending purchase and its cache.
    for between in ("805C000204", "00B201C420", f"00DC01C820{rec}"):
        _init(rig)
        rig.send(between)
        assert rig.send(f"80DC01C8 20 {rec}") == ("", "6985"), between
    _init(rig)
    assert rig.send(f"80DC01C8 20 {rec}")[1] == "9000"
    rig.send("805C000204")
    assert rig.send(debit) == ("", "6985")
    # Only after INITIALIZE FOR CAPP PURCHASE; not after a plain purchase's initialize.
    assert rig.send(f"80DC01C8 20 {rec}") == ("", "6985")
    _init(rig, "01")
    assert rig.send(f"80DC01C8 20 {rec}") == ("", "6985")
    # A composite debit carries its record.
    _init(rig)
    assert rig.send(debit) == ("", "6985")
    # Malformed updates are refused and end the transaction.
    bad = {
        f"80DC01D0 20 {rec}": "6A82",  # another SFI
        f"80DC01CC 20 {rec}": "6A86",  # P2 not "by record number"
        f"80DC03C8 20 {rec}": "6A83",  # no record 3
        f"80DC01C8 1F {rec[:-2]}": "6700",  # short record
        f"80DC01C8 20 00{rec[2:]}": "6A80",  # tag 00 would mark it unused
    }
    for apdu, sw in bad.items():
        _init(rig)
        assert rig.send(apdu) == ("", sw), apdu
        assert rig.send(f"80DC01C8 20 {rec}") == ("", "6985"), apdu
    # The composite file is written by a composite purchase only.
    assert rig.send(f"00DC01CC 20 {rec}")[1] == "6982"
    assert rig.send(f"00E200C8 20 {rec}")[1] == "6982"


def test_a_record_keeps_its_application_tag() -> None:
    rig = Rig(balance=1_000)
    purse = rig.insert(pin=None)
    purse.purchase(rig.psam, 200, on_intent=lambda _i: None, now=NOW, transit=_bus())

    def metro(atc: int, date: bytes, time: bytes) -> bytes:
        return TransitRecord(0x02, 0, 1, 1, rig.psam.terminal_id, date, time, 300, atc,
                             1).to_bytes()  # fmt: skip

    with pytest.raises(ApduError) as info:  # record 1 is the bus operator's
        purse.purchase(rig.psam, 300, on_intent=lambda _i: None, transit=TransitUpdate(1, metro))
    assert info.value.sw == 0x6A80
    ttc = rig.psam_chip.ttc
    purse.purchase(rig.psam, 300, on_intent=lambda _i: None, transit=TransitUpdate(2, metro))
    assert rig.psam_chip.ttc == ttc + 1  # the refused record cost no TTC
    two = purse.transit_record(2)
    assert two is not None and two.tag == 0x02 and purse.balance() == 500


def _capp_points() -> list[str]:
    rig = Rig()
    rig.card.eeprom.points_seen.clear()
    rig.purse.purchase(rig.psam, 100, on_intent=lambda _i: None, now=NOW, transit=_bus())
    return [p for p in rig.card.eeprom.points_seen if p.startswith("capp-debit:")]


CAPP_POINTS = _capp_points()


def test_capp_write_points_are_enumerated() -> None:
    fields = ("balance", "capp", "last", "log", "offline_atc")
    assert [
        *(f"capp-debit:journal:{f}" for f in fields),
        "capp-debit:commit",
        *(f"capp-debit:apply:{f}" for f in fields),
        "capp-debit:clear",
    ] == CAPP_POINTS


@pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
@pytest.mark.parametrize("point", CAPP_POINTS)
def test_capp_purchase_torn_at_every_write_point(alg: Algorithm, point: str) -> None:
    rig = Rig(alg=alg, balance=1_000)
    purse = rig.insert(pin=None)
    intents: list[PurchaseIntent] = []
    rig.card.eeprom.arm_tear(lambda p: p == point)
    with pytest.raises(DebitOutcomeUnknown):
        purse.purchase(rig.psam, 200, on_intent=intents.append, now=NOW, transit=_bus())
    purse = rig.insert(pin=None)  # power-up settles the journal
    committed = CAPP_POINTS.index(point) > CAPP_POINTS.index("capp-debit:commit")
    settlement = purse.settle(intents[0])
    assert settlement == purse.settle(intents[0])
    if committed:
        assert settlement.kind is SettlementKind.DEBITED and settlement.tac is not None
        assert purchase_tac_ok_09(rig, intents[0], settlement.tac)
        assert purse.balance() == 800 and [r.ttype for r in purse.log()] == [9]
        rec = purse.transit_record(1)
        assert rec is not None and rec.atc == 0 and rec.fare == 200
    else:
        assert settlement.kind is SettlementKind.NOT_DEBITED
        assert purse.balance() == 1_000 and purse.log() == []
        assert purse.transit_record(1) is None  # neither the debit nor the record
    nxt = purse.purchase(rig.psam, 200, on_intent=lambda _i: None, now=NOW, transit=_bus(2))
    assert nxt.intent.offline_atc == (1 if committed else 0)


def purchase_tac_ok_09(rig: Rig, intent: PurchaseIntent, tac: bytes) -> bool:
    """The central's check of a type-09 TAC (type 06 must not verify it)."""
    assert not purchase_tac_ok(rig.keys, intent, tac)  # rig's check hard-codes type 06
    dtk = crypto.diversify(rig.keys.master(KeyRole.TAC, 1), intent.asn, intent.algorithm)
    return tac == crypto.purchase_tac(
        crypto.tac_key(dtk, intent.algorithm), intent.amount, 9, intent.terminal_id,
        intent.ttc, intent.date, intent.time, intent.algorithm,
    )  # fmt: skip


def test_purse_purchase_and_capp_share_the_offline_atc() -> None:
    rig = Rig(balance=1_000)
    purse = rig.insert()
    a = purse.purchase(rig.psam, 100, on_intent=lambda _i: None, now=NOW)
    b = purse.purchase(rig.psam, 200, on_intent=lambda _i: None, now=NOW, transit=_bus())
    c = purse.purchase(rig.psam, 50, on_intent=lambda _i: None, now=NOW)
    assert [r.intent.offline_atc for r in (a, b, c)] == [0, 1, 2]
    assert [(r.ttype, r.atc) for r in purse.log()] == [(6, 2), (9, 1), (6, 0)]
    with pytest.raises(ConditionsNotSatisfiedError):
        purse.session.send_apdu(0x80, 0x54, 0x01, 0x00, bytes(15), le=8)  # nothing pending


# -- property: purse purchases, composite purchases and tears, in any order ---------------

_mixed = st.tuples(
    st.sampled_from(["purchase", "ride"]),
    st.integers(min_value=1, max_value=900),
    st.one_of(st.none(), st.integers(min_value=0, max_value=len(CAPP_POINTS) - 1)),
)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(_mixed, max_size=8))
def test_any_mix_of_purchases_rides_and_tears_keeps_card_and_record_consistent(
    ops: list[tuple[str, int, int | None]],
) -> None:
    rig = Rig(balance=3_000)
    taken: dict[int, int] = {}  # offline ATC -> amount, each counted once
    for kind, amount, tear in ops:
        purse = rig.purse
        if tear is not None:
            rig.card.eeprom.arm_tear_at(tear)
        transit = _bus(fare=amount) if kind == "ride" else None
        try:
            r = purse.purchase(rig.psam, amount, on_intent=lambda _i: None, now=NOW,
                               transit=transit)  # fmt: skip
            taken[r.intent.offline_atc] = amount
        except DebitOutcomeUnknown as exc:
            s = rig.insert().settle(exc.intent)
            if s.kind is not SettlementKind.NOT_DEBITED:
                taken[exc.intent.offline_atc] = amount
        except InsufficientBalanceError:
            pass
        finally:
            rig.card.eeprom.arm_tear(None)
        if not rig.card_reader.present:
            rig.insert()
    purse = rig.insert()
    assert purse.balance() == 3_000 - sum(taken.values())
    assert int(rig.card.eeprom["offline_atc"]) == len(taken)
    rides = [r for r in purse.log() if r.ttype == 9]
    record = purse.transit_record(1)
    # The transit record is exactly the newest committed ride's, or none.
    assert (record is None) == (not rides)
    if record is not None:
        assert (record.atc, record.fare) == (rides[0].atc, rides[0].amount)


def test_a_passbook_rule_card_wants_the_pin_for_a_ride_too() -> None:
    rig = CardRig(PROFILES[Algorithm.TDES], seed=2, balance=5000)
    rig.purse()
    with rig.card.eeprom.atomic("issuer-rule") as w:
        w["purchase_needs_pin"] = True  # the issuer's passbook (ED) rule, §11
    assert rig.send("80500302 0B 01 000000C8 320582000001 0F") == ("", "6982")
    rig.paying_purse()
    _init(rig)
