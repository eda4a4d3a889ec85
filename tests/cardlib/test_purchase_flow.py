"""A full purchase and a full load end to end in-process: cardlib <-> card and PSAM."""

from __future__ import annotations

import pytest

from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import InsufficientBalanceError, MacError
from cardlib.keys import KeyRole
from cardlib.purse import LoadAuthorization, LoadRequest, PurchaseIntent
from tests.cardlib.rig import NOW, TERMINAL, Rig, central_authorize, purchase_tac_ok


@pytest.mark.parametrize("alg", list(Algorithm))
def test_full_purchase(alg: Algorithm) -> None:
    rig = Rig(alg=alg, balance=5_000)
    intents: list[PurchaseIntent] = []
    result = rig.purse.purchase(rig.psam, 1_234, on_intent=intents.append, now=NOW)

    # The intent was handed over before DEBIT, with what settling needs.
    assert intents == [result.intent]
    it = result.intent
    assert (it.amount, it.balance_before, it.offline_atc, it.terminal_id) == (
        1_234,
        5_000,
        0,
        TERMINAL,
    )
    assert it.ttc == 1 and rig.psam_chip.ttc == 2
    assert result.mac2_verified
    # The central's view: the TAC verifies with the TAC master key alone.
    assert purchase_tac_ok(rig.keys, it, result.tac)
    assert rig.purse.balance() == 5_000 - 1_234 == result.balance_after
    log = rig.purse.log()
    assert len(log) == 1
    assert (log[0].atc, log[0].amount, log[0].ttype) == (0, 1_234, TransactionType.PURCHASE)
    assert log[0].when == NOW
    # A second purchase moves the ATC and the TTC on.
    second = rig.purse.purchase(rig.psam, 100, on_intent=lambda _i: None, now=NOW)
    assert (second.intent.offline_atc, second.intent.ttc) == (1, 2)
    assert [r.atc for r in rig.purse.log()] == [1, 0]


@pytest.mark.parametrize("alg", list(Algorithm))
def test_full_load(alg: Algorithm) -> None:
    rig = Rig(alg=alg, balance=200)
    result = rig.purse.load(TERMINAL, 5_000, authorize=central_authorize(rig.keys))
    assert rig.purse.balance() == 5_200 == result.balance_after
    req = result.request
    # The central's check of the load TAC.
    dtk = crypto.diversify(rig.keys.master(KeyRole.TAC, 1), req.asn, alg)
    auth = result.authorization
    expected = crypto.load_tac(
        crypto.tac_key(dtk, alg), 5_200, req.online_atc, 5_000, TransactionType.LOAD,
        TERMINAL, auth.date, auth.time, alg,
    )  # fmt: skip
    assert result.tac == expected
    assert rig.purse.log()[0].ttype == TransactionType.LOAD
    # The proof can be fetched again (lost answer) for the last transaction.
    mac2, tac = rig.purse.transaction_prove(TransactionType.LOAD, req.online_atc)
    assert (mac2, tac) == (auth.mac2, result.tac)


def test_load_with_a_forged_mac2_changes_nothing() -> None:
    rig = Rig(balance=200)

    def forger(req: LoadRequest) -> LoadAuthorization:
        # A kiosk without the load key can only guess.
        good = central_authorize(rig.keys)(req)
        return LoadAuthorization(good.date, good.time, bytes(4))

    with pytest.raises(MacError):
        rig.purse.load(TERMINAL, 5_000, authorize=forger)
    assert rig.purse.balance() == 200
    assert rig.purse.log() == []


def test_purchase_beyond_balance_is_refused_before_the_psam_is_asked() -> None:
    rig = Rig(balance=100, overdraft=50)
    with pytest.raises(InsufficientBalanceError):
        rig.purse.purchase(rig.psam, 151, on_intent=lambda _i: None, now=NOW)
    assert rig.psam_chip.ttc == 1
    # Within the overdraft limit it goes through: the card holds -50 fen and reports
    # PBOC's unsigned balance, the unused overdraft included: 0.
    rig.purse.purchase(rig.psam, 150, on_intent=lambda _i: None, now=NOW)
    assert rig.card.balance == -50
    assert rig.purse.balance() == 0


def test_failing_to_persist_the_intent_stops_the_debit() -> None:
    rig = Rig(balance=1_000)

    def disk_full(_intent: PurchaseIntent) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        rig.purse.purchase(rig.psam, 300, on_intent=disk_full, now=NOW)
    assert rig.purse.balance() == 1_000
    assert rig.psam_chip.ttc == 2  # the PSAM counter moved on: unique, not contiguous


def test_hotlisted_card_is_blocked_on_the_card_and_unblocked_at_the_counter() -> None:
    rig = Rig()
    rig.purse.block(rig.psam)
    purse = rig.insert()
    assert purse.blocked
    assert purse.holder().name == "测试"  # still readable
    purse.unblock(rig.psam)
    assert rig.insert().balance() == 10_000
