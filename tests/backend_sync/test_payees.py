"""The payee is derived by the central (the order, or the catalog item of the
version the kiosk sold from), never taken from the kiosk: a genuine debit that
disagrees is not refused but held on the disputed account and flagged."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from backend_sync.central import documents, ledger
from backend_sync.central.models import anomalies, terminal_records
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import CardModel, Terminal, ThreadServer, cards, sell, terminal

BIKE = {
    "id": "bike_enable",
    "flow": "fixed_price",
    "payment": {"payee": "bike", "amount_fen": 1000},
}


def _catalog(central: Central, price: int) -> int:
    svc = {**BIKE, "payment": {"payee": "bike", "amount_fen": price}}
    return documents.publish(central, "catalog", {"groups": [], "services": [svc]})


def _sale(t: Terminal, card: CardModel, amount: int, ttc: int, **kw: object) -> int:
    """A sale naming its catalog item (``version``, ``service``) and ``payee``."""
    iid = t.outbox.begin_purchase(
        asn=card.asn, amount=amount, atc=card.offline_atc, ttc=ttc, date="20261128",
        time="101500", key_version=1, algorithm=int(card.alg), balance_before=card.balance,
        payee=str(kw.get("payee", "bike")), order_id=kw.get("order_id"),  # type: ignore[arg-type]
        catalog_version=kw.get("version"), service_id=kw.get("service"),  # type: ignore[arg-type]
    )  # fmt: skip
    tac = card.purchase_tac(amount, t.terminal_id, ttc, "20261128", "101500")
    card.offline_atc += 1
    card.balance -= amount
    if kw.get("torn"):
        return t.outbox.leave_unsettled(iid, "card pulled during DEBIT")
    return t.outbox.complete(iid, tac=tac, mac2="00000000", balance_after=card.balance)


def _outcomes(central: Central) -> dict[int, tuple[str, str | None]]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        q = sa.select(t.seq, t.status, t.reason).where(t.kind != "proof")
        return {int(s): (st, r) for s, st, r in conn.execute(q)}


def _flags(central: Central) -> list[tuple[int, str]]:
    with central.engine.connect() as conn:
        q = sa.select(anomalies.c.seq, anomalies.c.kind).order_by(anomalies.c.id)
        return [(int(s), str(k)) for s, k in conn.execute(q)]


def test_the_catalog_item_decides_the_payee_and_price(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    v1 = _catalog(central, 1000)
    v2 = _catalog(central, 1200)  # a new price; offline kiosks still sell on v1
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        _sale(t, card, 1000, 1, version=v1, service="bike_enable")  # 1: old version, fine
        _sale(t, card, 1200, 2, version=v2, service="bike_enable")  # 2: new version, fine
        _sale(t, card, 1000, 3, version=v1, service="bike_enable", payee="kiosk_owner")  # 3
        _sale(t, card, 900, 4, version=v1, service="bike_enable")  # 4: not its price
        _sale(t, card, 1000, 5, payee="bike")  # 5: no item named: the kiosk's word only
        _sale(t, card, 1000, 6, version=99, service="bike_enable")  # 6: no such version
        assert t.agent.run_once().acked_seq == 6
    assert _outcomes(central) == {
        1: ("posted", None), 2: ("posted", None), 3: ("suspended", "payee_disputed"),
        4: ("suspended", "price_disputed"), 5: ("suspended", "payee_underivable"),
        6: ("suspended", "payee_underivable"),
    }  # fmt: skip
    assert _flags(central) == [(3, "payee_disputed"), (4, "price_disputed"),
                               (5, "payee_underivable"), (6, "payee_underivable")]  # fmt: skip
    with central.engine.connect() as conn:
        bal = ledger.balances(conn)
    # Never refused: the card's money is all in the ledger, the disputed part held.
    assert bal[f"card:{card.asn}"] == -(1000 + 1200 + 1000 + 900 + 1000 + 1000)
    assert bal["payee:bike"] == 2200 and bal[ledger.DISPUTED] == 3900
    assert "payee:kiosk_owner" not in bal


def test_an_order_decides_the_payee_of_a_bill(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        c1, c2 = cards(central, issuer_keys, 2)
        o1 = t.client.hold_order(asn=c1.asn, payee="water", reference="W-1", amount=500)
        o2 = t.client.hold_order(asn=c2.asn, payee="water", reference="W-2", amount=700)
        sell(t, c1, 500, ttc=1, order_id=o1.order_id)  # 1: the order's payee
        sell(t, c2, 700, ttc=2, order_id=o2.order_id, payee="elsewhere")  # 2: not it
        t.agent.run_once()
    assert _outcomes(central) == {1: ("posted", None), 2: ("suspended", "payee_disputed")}
    with central.engine.connect() as conn:
        assert ledger.balance(conn, "payee:water") == 500
        assert ledger.balance(conn, ledger.DISPUTED) == 700
        assert ledger.balance(conn, "payee:elsewhere") == 0


def test_a_proof_settles_to_the_payee_of_the_unsettled_records_item(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    v = _catalog(central, 1000)
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        seq = _sale(t, card, 1000, 1, version=v, service="bike_enable", torn=True)
        t.agent.run_once()  # the unsettled record first, alone
        tac = card.purchase_tac(1000, t.terminal_id, 1, "20261128", "101500")
        t.outbox.add_proof(seq, asn=card.asn, tac=tac, mac2="00000000", balance_after=card.balance)
        t.agent.run_once()
    with central.engine.connect() as conn:
        assert ledger.balance(conn, "payee:bike") == 1000
        assert ledger.balance(conn, ledger.DISPUTED) == 0
