"""Tearing: power cut at every write point of purchase and load, and cards pulled
before / after a command; then recovery. Nothing lost, nothing doubled."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import (
    CardRemovedError,
    ConditionsNotSatisfiedError,
    InsufficientBalanceError,
    NoTransactionToProveError,
)
from cardlib.layout import Ins
from cardlib.purse import DebitOutcomeUnknown, PurchaseIntent, SettlementKind
from tests.cardlib.rig import NOW, TERMINAL, Rig, central_authorize, purchase_tac_ok


def _points(label: str, run: str) -> list[str]:
    """The card's write points for one operation, found by running it once."""
    rig = Rig()
    rig.card.eeprom.points_seen.clear()
    if run == "purchase":
        rig.purse.purchase(rig.psam, 100, on_intent=lambda _i: None, now=NOW)
    else:
        rig.purse.load(TERMINAL, 100, authorize=central_authorize(rig.keys))
    points = [p for p in rig.card.eeprom.points_seen if p.startswith(label + ":")]
    assert points, "the operation passed no write point"
    return points


PURCHASE_POINTS = _points("debit", "purchase")
LOAD_POINTS = _points("credit", "load")


def test_write_points_are_enumerated() -> None:
    assert PURCHASE_POINTS == [
        "debit:journal:balance",
        "debit:journal:last",
        "debit:journal:log",
        "debit:journal:offline_atc",
        "debit:commit",
        "debit:apply:balance",
        "debit:apply:last",
        "debit:apply:log",
        "debit:apply:offline_atc",
        "debit:clear",
    ]
    assert [p.replace("credit", "debit").replace("online", "offline") for p in LOAD_POINTS] == (
        PURCHASE_POINTS
    )


@dataclass
class Ledger:
    """What the central would post: one entry per (ASN, ATC, type), never two."""

    entries: dict[tuple[bytes, int, int], int]

    def post(self, asn: bytes, atc: int, ttype: int, amount: int) -> None:
        key = (asn, atc, ttype)
        assert key not in self.entries, f"posted twice: {key}"
        self.entries[key] = amount


@pytest.mark.parametrize("alg", list(Algorithm))
@pytest.mark.parametrize("point", PURCHASE_POINTS)
def test_purchase_torn_at_every_write_point(alg: Algorithm, point: str) -> None:
    rig = Rig(alg=alg, balance=1_000)
    intents: list[PurchaseIntent] = []
    rig.card.eeprom.arm_tear(lambda p: p == point)
    with pytest.raises(DebitOutcomeUnknown) as info:
        rig.purse.purchase(rig.psam, 300, on_intent=intents.append, now=NOW)
    assert info.value.intent == intents[0]

    purse = rig.insert()  # power-up settles the journal
    committed = PURCHASE_POINTS.index(point) > PURCHASE_POINTS.index("debit:commit")
    settlement = purse.settle(intents[0])
    assert settlement == purse.settle(intents[0])  # asking again changes nothing
    ledger = Ledger({})
    if settlement.kind is SettlementKind.DEBITED:
        assert settlement.tac is not None
        assert purchase_tac_ok(rig.keys, intents[0], settlement.tac)
        ledger.post(intents[0].asn, intents[0].offline_atc, 6, 300)
    expected = 700 if committed else 1_000
    assert settlement.kind is (SettlementKind.DEBITED if committed else SettlementKind.NOT_DEBITED)
    assert purse.balance() == expected == 1_000 - sum(ledger.entries.values())
    assert len(purse.log()) == (1 if committed else 0)
    # The card goes on working, with the next ATC.
    nxt = purse.purchase(rig.psam, 1, on_intent=lambda _i: None, now=NOW)
    assert nxt.intent.offline_atc == (1 if committed else 0)


@pytest.mark.parametrize("point", LOAD_POINTS)
def test_load_torn_at_every_write_point(point: str) -> None:
    rig = Rig(balance=1_000)
    rig.card.eeprom.arm_tear(lambda p: p == point)
    with pytest.raises(CardRemovedError):
        rig.purse.load(TERMINAL, 500, authorize=central_authorize(rig.keys))
    purse = rig.insert()
    committed = LOAD_POINTS.index(point) > LOAD_POINTS.index("credit:commit")
    assert purse.balance() == (1_500 if committed else 1_000)
    if committed:
        _mac2, tac = purse.transaction_prove(TransactionType.LOAD, 0)
        assert len(tac) == 4
    else:
        with pytest.raises(NoTransactionToProveError):
            purse.transaction_prove(TransactionType.LOAD, 0)


@pytest.mark.parametrize("after", [False, True], ids=["before-debit", "after-debit"])
def test_card_pulled_around_debit(after: bool) -> None:
    rig = Rig(balance=1_000)
    intents: list[PurchaseIntent] = []
    rig.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=after)
    with pytest.raises(DebitOutcomeUnknown):
        rig.purse.purchase(rig.psam, 250, on_intent=intents.append, now=NOW)
    purse = rig.insert()
    settlement = purse.settle(intents[0])
    if after:
        assert settlement.kind is SettlementKind.DEBITED
        assert settlement.tac is not None and purchase_tac_ok(rig.keys, intents[0], settlement.tac)
        assert purse.balance() == 750
    else:
        assert settlement.kind is SettlementKind.NOT_DEBITED
        assert purse.balance() == 1_000


def test_debited_but_no_longer_provable_is_found_in_the_log() -> None:
    rig = Rig(balance=1_000)
    intents: list[PurchaseIntent] = []
    rig.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=True)
    with pytest.raises(DebitOutcomeUnknown):
        rig.purse.purchase(rig.psam, 250, on_intent=intents.append, now=NOW)
    purse = rig.insert()
    # Another kiosk did a load in between: the purchase is no longer the last one.
    purse.load(TERMINAL, 100, authorize=central_authorize(rig.keys))
    assert purse.settle(intents[0]).kind is SettlementKind.DEBITED_UNPROVEN


def test_settle_refuses_another_card() -> None:
    rig = Rig()
    intents: list[PurchaseIntent] = []
    rig.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=False)
    with pytest.raises(DebitOutcomeUnknown):
        rig.purse.purchase(rig.psam, 1, on_intent=intents.append, now=NOW)
    other = Rig()
    forged = PurchaseIntent(**{**intents[0].__dict__, "asn": bytes(10)})
    with pytest.raises(ValueError, match="not the card"):
        other.purse.settle(forged)


# -- property: any sequence of purchases, loads and tears --------------------------------

_op = st.tuples(
    st.sampled_from(["purchase", "load"]),
    st.integers(min_value=1, max_value=4_000),
    st.one_of(st.none(), st.integers(min_value=0, max_value=len(PURCHASE_POINTS) - 1)),
)


@given(ops=st.lists(_op, max_size=10), alg=st.sampled_from(list(Algorithm)))
def test_any_sequence_keeps_the_purse_consistent(
    ops: list[tuple[str, int, int | None]], alg: Algorithm
) -> None:
    overdraft, maximum, start = 500, 10_000, 2_000
    rig = Rig(alg=alg, balance=start, overdraft=overdraft, max_balance=maximum)
    ledger = Ledger({})
    atcs = {"offline_atc": 0, "online_atc": 0}
    for kind, amount, tear in ops:
        purse = rig.purse
        if tear is not None:
            rig.card.eeprom.arm_tear_at(tear)
        intents: list[PurchaseIntent] = []
        try:
            if kind == "purchase":
                r = purse.purchase(rig.psam, amount, on_intent=intents.append, now=NOW)
                ledger.post(r.intent.asn, r.intent.offline_atc, 6, -amount)
            else:
                lr = purse.load(TERMINAL, amount, authorize=central_authorize(rig.keys))
                ledger.post(lr.request.asn, lr.request.online_atc, 2, amount)
        except DebitOutcomeUnknown as exc:
            purse = rig.insert()
            s = purse.settle(exc.intent)
            if s.kind is not SettlementKind.NOT_DEBITED:
                ledger.post(exc.intent.asn, exc.intent.offline_atc, 6, -amount)
        except CardRemovedError:
            # A torn load: the host learns the outcome by GET TRANSACTION PROVE.
            purse = rig.insert()
            atc = atcs["online_atc"]
            try:
                purse.transaction_prove(TransactionType.LOAD, atc)
                ledger.post(purse.asn, atc, 2, amount)
            except NoTransactionToProveError:
                pass  # not loaded
        except (InsufficientBalanceError, ConditionsNotSatisfiedError):
            pass  # refused by the card: beyond balance + overdraft, or above the maximum
        finally:
            rig.card.eeprom.arm_tear(None)
        if not rig.card_reader.present:
            rig.insert()
        state = rig.card.eeprom
        balance = int(state["balance"])
        assert -overdraft <= balance <= maximum
        assert balance == start + sum(ledger.entries.values())  # value conserved
        for counter in atcs:
            assert int(state[counter]) >= atcs[counter]  # never goes back
            atcs[counter] = int(state[counter])
    # ATCs strictly increasing: one per committed transaction of each type.
    assert atcs["offline_atc"] == sum(1 for k in ledger.entries if k[2] == 6)
    assert atcs["online_atc"] == sum(1 for k in ledger.entries if k[2] == 2)
