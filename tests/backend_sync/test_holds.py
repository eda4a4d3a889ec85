"""Holds on bills: released by the holding terminal when the debit never began,
expired after the window unless an unsettled record cites them, and a purchase
arriving after its hold lapsed paid when the bill is free, suspended when not."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from backend_sync.central import orders
from backend_sync.central.models import anomalies, terminal_records
from backend_sync.central.models import orders as orders_t
from backend_sync.central.service import Central
from backend_sync.terminal.client import CentralRefused
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ADMIN, Terminal, ThreadServer, cards, sell, terminal


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _status(central: Central, order_id: str) -> str:
    with central.engine.connect() as conn:
        q = sa.select(orders_t.c.status).where(orders_t.c.id == order_id)
        return str(conn.execute(q).scalar_one())


def _hold(t: Terminal, asn: str, reference: str = "W-1", amount: int = 500) -> str:
    return t.client.hold_order(asn=asn, payee="water", reference=reference, amount=amount).order_id


def test_release_frees_the_bill_once_and_only_for_its_holder(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        (card,) = cards(central, issuer_keys, 1)
        oid = _hold(a, card.asn)
        with pytest.raises(CentralRefused) as held:
            _hold(b, card.asn)
        assert held.value.reason == "order_held"
        with pytest.raises(CentralRefused) as foreign:
            b.client.release_order(oid, reason="not mine")
        assert (foreign.value.status, foreign.value.reason) == (403, "foreign_order")
        assert a.client.release_order(oid, reason="card left").status == "released"
        assert a.client.release_order(oid, reason="again").status == "released"  # idempotent
        oid2 = _hold(b, card.asn)  # the bill is free again
        sell(b, card, 500, ttc=1, order_id=oid2)
        b.agent.run_once()
        assert _status(central, oid2) == "paid"
        with pytest.raises(CentralRefused) as paid:
            b.client.release_order(oid2, reason="too late")
        assert (paid.value.status, paid.value.reason) == (409, "order_paid")
        with pytest.raises(CentralRefused) as unknown:
            a.client.release_order("f" * 32, reason="?")
        assert unknown.value.status == 404


def test_holds_expire_unless_an_unsettled_record_cites_them(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    import time

    clock = Clock(time.time())
    central.clock = clock
    # A short window, so the terminals' signed requests stay fresh as time moves on.
    central.order_hold_s = 60
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        c1, c2 = cards(central, issuer_keys, 2)
        stale = _hold(a, c1.asn, "W-1")
        doubt = _hold(a, c2.asn, "W-2")
        iid = a.outbox.begin_purchase(
            asn=c2.asn, amount=500, atc=0, ttc=1, date="20261128", time="101500",
            key_version=1, algorithm=int(c2.alg), balance_before=c2.balance, payee="water",
            order_id=doubt,
        )  # fmt: skip
        a.outbox.leave_unsettled(iid, "card pulled during DEBIT")
        a.agent.run_once()
        assert orders.expire_holds(central) == 0  # within the window
        clock.t += central.order_hold_s + 1
        # Another kiosk asking for the same bill frees a stale hold at once.
        fresh = _hold(b, c1.asn, "W-1")
        assert _status(central, stale) == "expired" and _status(central, fresh) == "held"
        assert orders.expire_holds(central) == 0  # the other is in doubt: kept
        assert _status(central, doubt) == "held"
        with pytest.raises(CentralRefused):
            _hold(b, c2.asn, "W-2")
        clock.t += central.order_hold_s + 1
        # ``fresh``, never used, expires through the admin endpoint.
        auth = {"Authorization": f"Bearer {ADMIN}"}
        assert httpx.post(f"{srv.url}/v1/admin/orders/expire-holds").status_code == 401
        res = httpx.post(f"{srv.url}/v1/admin/orders/expire-holds", headers=auth)
        assert res.json() == {"expired": 1}


def test_a_purchase_after_its_hold_lapsed_pays_if_the_bill_is_free(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        c1, c2 = cards(central, issuer_keys, 2)
        # Released (wrongly, or the release raced an offline debit), then uploaded.
        late = _hold(a, c1.asn, "W-1")
        a.client.release_order(late, reason="card left")
        sell(a, c1, 500, ttc=1, order_id=late)
        # Released, the bill paid again elsewhere, then the first debit arrives.
        lost = _hold(a, c2.asn, "W-2")
        a.client.release_order(lost, reason="card left")
        again = _hold(b, c2.asn, "W-2")
        sell(b, c2, 500, ttc=1, order_id=again)
        b.agent.run_once()
        sell(a, c2, 500, ttc=2, order_id=lost)
        a.agent.run_once()
    t = terminal_records.c
    with central.engine.connect() as conn:
        got = {
            o: f"{st}/{r or ''}"
            for o, st, r in conn.execute(sa.select(t.order_id, t.status, t.reason))
        }
        flags = [str(k) for k in conn.execute(sa.select(anomalies.c.kind)).scalars()]
    assert got == {late: "posted/", again: "posted/", lost: "suspended/order_superseded"}
    assert _status(central, late) == "paid" and _status(central, lost) == "released"
    assert sorted(flags) == ["order_superseded", "paid_after_release"]
