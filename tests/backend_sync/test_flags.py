"""Impossible reported data is flagged for the ledger auditor (a genuine TAC still
posts): amounts and balances no card can hold, a counter value used twice, card
dates and times that are not real; an ATC merely arriving late is not flagged."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from backend_sync.central import reconcile
from backend_sync.central.models import anomalies, terminal_records
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, cards, sell, terminal, top_up


def _flags(central: Central) -> list[tuple[int, str]]:
    with central.engine.connect() as conn:
        q = sa.select(anomalies.c.seq, anomalies.c.kind).order_by(anomalies.c.id)
        return [(int(s), str(k)) for s, k in conn.execute(q)]


def _status(central: Central) -> dict[int, str]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        return {int(s): str(st) for s, st in conn.execute(sa.select(t.seq, t.status))}


def test_impossible_reported_data_is_flagged_and_still_posted(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        top_up(t, card, 5_000)  # 1
        sell(t, card, 100, ttc=1, date="99999999")  # 2: no such day
        sell(t, card, 100, ttc=2, date="20260230")  # 3: no 30 February
        sell(t, card, 100, ttc=3, time_="246000")  # 4: no such time
        card.balance = 250_000  # 5: more than a purse can hold (max 100,000 fen)
        sell(t, card, 150_000, ttc=4)
        card.balance = 4_700
        sell(t, card, 100, ttc=5)  # 6: fine
        assert t.agent.run_once().acked_seq == 6
    assert _flags(central) == [
        (2, "bad_card_datetime"), (3, "bad_card_datetime"), (4, "bad_card_datetime"),
        (5, "amount_impossible"), (5, "balance_impossible"),
    ]  # fmt: skip
    assert set(_status(central).values()) == {"posted"}  # each TAC is genuine


def test_a_counter_used_twice_is_flagged_a_late_atc_is_not(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        top_up(a, card, 5_000)  # a1
        sell(b, card, 100, ttc=1)  # b1: offline ATC 0, uploaded late
        sell(a, card, 200, ttc=1)  # a2: offline ATC 1, uploaded first
        a.agent.run_once()
        assert _flags(central) == []
        b.agent.run_once()
        # Late but no gap: not flagged, and the chain joins.
        rec = reconcile.reconcile(central)
        assert _flags(central) == [] and rec.clean, rec
        card.offline_atc = 1  # a kiosk reports ATC 1 again, for another debit
        sell(a, card, 300, ttc=2)  # a3
        a.agent.run_once()
    assert _flags(central) == [(3, "atc_duplicate")]
    assert _status(central)[3] == "rejected"
