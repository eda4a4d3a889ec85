"""Money the central holds for a card, given back by a load: the bike deposit and a
refunded bus fare — exactly the amount, once, again after a void (the card's own
MAC1 at the same online ATC shows the credit never happened)."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from backend_sync.central import ledger
from backend_sync.central.deposits import ACCOUNT, held_deposits
from backend_sync.central.reconcile import reconcile
from backend_sync.terminal.client import CentralRefused
from cardlib import crypto
from cardlib.crypto import TransactionType
from tests.backend_sync.support import CardModel, Terminal, sell, top_up
from tests.services.conftest import World

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def _authorize_only(t: Terminal, card: CardModel, amount: int, funding: str) -> str:
    """INITIALIZE FOR LOAD's MAC1 to the central and nothing after (the power went)."""
    rnd = secrets.token_bytes(4)
    sk = crypto.load_session_key(card.dlk, rnd, card.online_atc, card.alg)
    mac1 = crypto.load_mac1(sk, card.balance, amount, TransactionType.LOAD,
                            bytes.fromhex(t.terminal_id), card.alg)  # fmt: skip
    auth = t.client.authorize_load(
        asn=card.asn, amount=amount, balance_before=card.balance, atc=card.online_atc,
        card_random=rnd.hex(), key_version=1, algorithm=int(card.alg), mac1=mac1.hex(),
        date="20261128", time="101500", funding=funding,
    )  # fmt: skip
    return auth.load_id


def _balances(w: World) -> dict[str, int]:
    with w.central.engine.connect() as conn:
        return ledger.balances(conn)


def test_a_bike_deposit_comes_back_once_exactly_and_again_after_a_void(world: World) -> None:
    w, t, card = world, world.kiosk, world.citizen
    held = t.client.hold_bike_deposit(asn=card.asn)
    assert (held.status, held.amount) == ("pending", 10_000)
    with pytest.raises(CentralRefused) as e:  # one deposit per card
        t.client.hold_bike_deposit(asn=card.asn)
    assert e.value.reason == "deposit_already_held"
    with pytest.raises(CentralRefused) as e:  # not paid yet: nothing to return
        _authorize_only(t, card, 10_000, "bike_deposit")
    assert e.value.reason == "no_deposit"
    sell(t, card, 10_000, 1, payee="bike_deposit", order_id=held.order_id)
    t.agent.run_once()
    with w.central.engine.connect() as conn:
        assert [(d.amount, d.status) for d in held_deposits(conn, card.asn)] == [(10_000, "held")]
    assert _balances(w)[ACCOUNT] == 10_000
    with pytest.raises(CentralRefused) as e:
        _authorize_only(t, card, 9_999, "bike_deposit")
    assert e.value.reason == "deposit_amount_mismatch"
    # Authorized, then the power went before CREDIT: the deposit is on its way...
    _authorize_only(t, card, 10_000, "bike_deposit")
    with w.central.engine.connect() as conn:
        assert [d.status for d in held_deposits(conn, card.asn)] == ["returning"]
    assert t.client.bike_status(asn=card.asn).status == "returning"
    # ...and the card's next MAC1 at the same online ATC voids it: claimed again, credited.
    top_up(t, card, 10_000, funding="bike_deposit")
    t.agent.run_once()
    with w.central.engine.connect() as conn:
        assert held_deposits(conn, card.asn) == []
    assert t.client.bike_status(asn=card.asn).status == "returned"
    with pytest.raises(CentralRefused) as e:  # never twice
        top_up(t, card, 10_000, funding="bike_deposit")
    assert e.value.reason == "no_deposit"
    # The ledger: the deposit went card → held → suspense → card, nothing left over.
    bal = _balances(w)
    assert bal[ACCOUNT] == 0 and bal[ledger.SUSPENSE] == 0
    assert bal[ledger.card_account(card.asn)] == 0 and card.balance == 50_000
    assert reconcile(w.central).ledger_ok


def test_a_refunded_fare_comes_back_once(world: World) -> None:
    w, t, card = world, world.kiosk, world.other
    dep = t.client.bus_timetable(day=TOMORROW).departures[0]
    hold = t.client.hold_bus_ticket(asn=card.asn, departure=dep.id)
    sell(t, card, hold.fare, 1, payee="bus", order_id=hold.order_id)
    t.agent.run_once()
    funding = f"bus_refund:{hold.ticket_id}"
    with pytest.raises(CentralRefused) as e:  # not refunded: the fare is the station's
        _authorize_only(t, card, hold.fare, funding)
    assert e.value.reason == "nothing_to_refund"
    assert t.client.refund_bus_ticket(asn=card.asn, ticket_id=hold.ticket_id).status == "refunded"
    with pytest.raises(CentralRefused) as e:  # another card cannot take it
        _authorize_only(t, w.citizen, hold.fare, funding)
    assert e.value.reason == "nothing_to_refund"
    top_up(t, card, hold.fare, funding=funding)
    t.agent.run_once()
    again = t.client.refund_bus_ticket(asn=card.asn, ticket_id=hold.ticket_id)
    assert again.status == "fare_returned"
    with pytest.raises(CentralRefused) as e:
        top_up(t, card, hold.fare, funding=funding)
    assert e.value.reason == "refund_returned"
    assert _balances(w)["payee:bus"] == 0 and card.balance == 50_000
