"""Refund and close: the balance emptied by a counter purchase whose TAC the central
verifies, the deposit refunded from the drawer, a supervisor's card above the limit,
the card terminated in the registry and blocked for good on the chip."""

from __future__ import annotations

import pytest

from backend_sync.central.counter import drawer_account
from backend_sync.central.counter_close import deposit_account
from cardlib.apdu import ApduSession
from cardlib.errors import ApduError
from cardlib.layout import Ins
from cardlib.purse import Purse
from kiosk.counter import CounterError
from tests.counter.conftest import DRAWER, Counter
from tests.counter.test_issue import APP, PIN, _blank, _issuer


def test_refund_and_close_a_card(counter: Counter) -> None:
    k = counter
    session = k.login()
    session.open_shift(10_000)
    citizen = k.insert_citizen()
    session.top_up(3_000, citizen.pin)
    receipt = session.refund_and_close()
    assert (receipt.amount_fen, dict(receipt.lines)["balance_fen"]) == (3_000, "3000")
    k.assert_reconciled()
    assert k.ledger(f"card:{citizen.asn}") == 0
    assert k.ledger(drawer_account(DRAWER)) == 0  # 3,000 in, 3,000 out
    assert k.ledger("payee:counter_refunds") == 0
    assert session.lookup(citizen.asn).status == "terminated"
    with pytest.raises(ApduError) as dead:
        Purse(ApduSession(k.citizen_reader)).balance()
    assert dead.value.sw in (0x9303, 0x6A81)  # blocked for good on the chip
    with pytest.raises(CounterError) as again:
        session.unblock()
    assert again.value.reason == "card_terminated"
    assert session.close_shift(10_000).mismatch_fen == 0


def test_a_refund_above_the_limit_needs_a_supervisor_and_returns_the_deposit(
    counter: Counter,
) -> None:
    k = counter
    issuer = _issuer(k)
    k.central.refund_supervisor_above_fen = 4_000
    session = k.login()
    session.open_shift(0)
    _blank(k, issuer)
    issued = session.issue_card(APP, 3_000, PIN)  # deposit 2,000 + fee 500 + 3,000 loaded
    with pytest.raises(CounterError) as alone:
        session.refund_and_close()
    assert alone.value.reason == "supervisor_required"
    sup = k.card("supervisor")
    k.supervisor_reader.insert(k.wallet.open_card(sup.asn))
    with pytest.raises(CounterError) as clerk_as_sup:
        k.station.supervisor(k.card("clerk").pin)  # the supervisor slot wants a supervisor
    assert clerk_as_sup.value.reason in ("operator_role", "wrong_pin")
    k.supervisor_reader.insert(k.wallet.open_card(sup.asn))
    receipt = k.station.supervisor(sup.pin)
    [pending] = k.station.unfinished_ops()  # the refused attempt (recorded first), left
    assert pending.kind == "refund"
    done = session.refund_and_close(receipt)
    assert done.amount_fen == 5_000 and dict(done.lines)["deposit_fen"] == "2000"
    assert done.op_id == pending.op_id and k.station.unfinished_ops() == []
    k.assert_reconciled()
    assert k.ledger(deposit_account(issued.card_asn)) == 0
    assert k.ledger(drawer_account(DRAWER)) == -500  # only the fee stays
    report = session.close_shift(500)
    assert report.mismatch_fen == 0
    assert report.by_kind == {"card_deposit": 2_000, "issue_fee": 500, "load_authorized": 3_000,
                              "refund_balance": -3_000, "refund_deposit": -2_000}  # fmt: skip


def test_a_card_pulled_during_the_emptying_purchase_is_refunded_once(counter: Counter) -> None:
    k = counter
    session = k.login()
    session.open_shift(0)
    citizen = k.insert_citizen()
    session.top_up(1_200, citizen.pin)
    k.citizen_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=True)
    with pytest.raises(CounterError) as torn:
        session.refund_and_close()
    assert torn.value.reason == "citizen_card_gone"
    [entry] = k.station.unfinished_ops()
    k.insert_citizen()
    receipt = session.resume(entry)
    assert receipt is not None and receipt.amount_fen == 1_200
    k.assert_reconciled()
    assert k.ledger(f"card:{citizen.asn}") == 0 and k.ledger(drawer_account(DRAWER)) == 0
