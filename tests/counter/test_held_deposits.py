"""Deposits other services hold for a card (the public bike's, held at the central by
backend_sync/central/deposits.py) go with it: refunded in cash when the card is
closed, carried to the new card when it is replaced, and neither while the deposit's
load back to the purse is still open."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from backend_sync.central import deposits, ledger
from backend_sync.central.counter import drawer_account
from backend_sync.central.models import orders
from backend_sync.central.service_models import bike_deposits
from kiosk.counter import CounterError
from tests.counter.conftest import DRAWER, Counter
from tests.counter.test_issue import APP, PIN, _blank, _issuer

BIKE = 10_000


def _hold_bike_deposit(k: Counter, asn: str, status: str = "held") -> str:
    """A deposit as the bike flow leaves it once its purchase posted: the order paid,
    the money in ``payee:bike_deposit`` (here from a test funding account, so the
    card's own ledger is untouched), the deposit row ``held``."""
    now = k.central.now_ms()
    order_id, deposit_id = uuid.uuid4().hex, uuid.uuid4().hex
    with k.central.engine.begin() as conn:
        conn.execute(orders.insert().values(
            id=order_id, terminal_id="T0000001", request_id=f"bike-{deposit_id}", asn=asn,
            payee=deposits.PAYEE, reference=deposit_id, amount=BIKE, status="paid",
            created_ms=now,
        ))  # fmt: skip
        conn.execute(bike_deposits.insert().values(
            id=deposit_id, asn=asn, order_id=order_id, amount=BIKE, status=status,
            created_ms=now,
        ))  # fmt: skip
        ids = ledger.account_ids(conn, ["funding:test", deposits.ACCOUNT])
        ledger.post(conn, [ledger.posting("bike_deposit_test", deposit_id,
                                          (ids["funding:test"], -BIKE),
                                          (ids[deposits.ACCOUNT], BIKE))], now)  # fmt: skip
    return deposit_id


def _held(k: Counter, asn: str) -> list[deposits.HeldDeposit]:
    with k.central.engine.connect() as conn:
        return deposits.held_deposits(conn, asn)


def test_closing_a_card_refunds_its_bike_deposit_in_cash(counter: Counter) -> None:
    k = counter
    k.central.refund_supervisor_above_fen = 50_000
    session = k.login()
    session.open_shift(20_000)
    citizen = k.insert_citizen()
    session.top_up(1_000, citizen.pin)
    _hold_bike_deposit(k, citizen.asn)
    receipt = session.refund_and_close()
    assert receipt.amount_fen == 1_000 + BIKE
    assert _held(k, citizen.asn) == []
    assert k.ledger(deposits.ACCOUNT) == 0
    # 1,000 in (top-up: -1,000 on the drawer's account), 1,000 + 10,000 paid out.
    assert k.ledger(drawer_account(DRAWER)) == BIKE
    k.assert_reconciled()
    assert session.close_shift(20_000 - BIKE).mismatch_fen == 0


def test_a_bike_deposit_counts_towards_the_supervisor_limit(counter: Counter) -> None:
    k = counter
    k.central.refund_supervisor_above_fen = 5_000  # the card's balance alone is under it
    session = k.login()
    session.open_shift(20_000)
    citizen = k.insert_citizen()
    session.top_up(1_000, citizen.pin)
    _hold_bike_deposit(k, citizen.asn)
    with pytest.raises(CounterError) as alone:
        session.refund_and_close()
    assert alone.value.reason == "supervisor_required"
    assert [d.status for d in _held(k, citizen.asn)] == ["held"]  # nothing refunded


def test_a_deposit_whose_load_is_open_is_neither_refunded_nor_carried(counter: Counter) -> None:
    k = counter
    k.central.refund_supervisor_above_fen = 50_000
    session = k.login()
    session.open_shift(20_000)
    citizen = k.insert_citizen()
    _hold_bike_deposit(k, citizen.asn, status="returning")
    with pytest.raises(CounterError) as refund:
        session.refund_and_close()
    assert refund.value.reason == "deposit_returning"
    with pytest.raises(CounterError) as replace:
        session.begin_replacement()
    assert replace.value.reason == "deposit_returning"
    assert [d.status for d in _held(k, citizen.asn)] == ["returning"]
    assert session.lookup(citizen.asn).status == "active"  # neither closed nor replaced


def test_a_replacement_carries_the_bike_deposit_to_the_new_card(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    old = k.insert_citizen()
    deposit_id = _hold_bike_deposit(k, old.asn)
    repl = session.begin_replacement()
    _blank(k, issuer)
    receipt = session.complete_replacement(repl, APP, PIN)
    assert _held(k, old.asn) == []
    [moved] = _held(k, receipt.card_asn)
    assert (moved.deposit_id, moved.amount, moved.status) == (deposit_id, BIKE, "held")
    assert k.ledger(deposits.ACCOUNT) == BIKE  # the money stayed where it is held
    k.assert_reconciled()
    with k.central.engine.connect() as conn:
        asns = conn.execute(sa.select(bike_deposits.c.asn)).scalars().all()
    assert asns == [receipt.card_asn]


def test_a_citizen_is_found_by_name_or_masked_id_and_only_by_them(counter: Counter) -> None:
    """Look up a citizen (issue 17, item 7): the cards the central issued to a holder,
    by the name or the masked ID number written at issue; nothing for a stranger, and
    a LIKE wildcard is a character like any other."""
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    _blank(k, issuer)
    issued = session.issue_card(APP, 0, PIN)
    for query in (APP.name, APP.id_masked):
        [match] = session.find(query).cards
        assert (match.asn, match.name, match.status) == (issued.card_asn, APP.name, "active")
    assert session.find("陈小").cards == []  # exact, not a prefix
    assert session.find("320582********1112").cards == []
    assert session.find("%%").cards == [] and session.find("陈_明").cards == []  # literal
