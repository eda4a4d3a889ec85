"""Uploads through a real uvicorn server: posting, idempotency, every forgery."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync.central import ledger, reconcile
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, cards, sell, terminal


def _statuses(central: Central, tid: str) -> dict[int, tuple[str, str | None]]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        rows = conn.execute(sa.select(t.seq, t.status, t.reason).where(t.terminal_id == tid))
        return {s: (st, r) for s, st, r in rows}


def test_purchases_posted_once_even_when_sent_twice(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001", batch_size=4)
        cs = list(cards(central, issuer_keys, 3))
        for i in range(10):
            sell(t, cs[i % 3], 100 + i, ttc=1000 + i)
        prev, recs = t.outbox.pending(100)
        body = t.client.build_batch(
            prev, [r.seq for r in recs], [r.body for r in recs], recs[-1].hash
        )
        first = t.client.upload(body)
        again = t.client.upload(body)
        assert (first.acked, first.status) == (10, "ok")
        assert (again.acked, again.status, again.detail) == (10, "ok", "replay")
        report = t.agent.run_once()
        assert report.acked_seq == 10 and report.pruned == 10
    with central.engine.connect() as conn:
        assert ledger.balance(conn, "payee:water") == sum(100 + i for i in range(10))
        assert ledger.balance(conn, ledger.card_account(cs[0].asn)) == -(100 + 103 + 106 + 109)
        assert ledger.unbalanced_transactions(conn) == []
    assert set(_statuses(central, t.terminal_id).values()) == {("posted", None)}
    rec = reconcile.reconcile(central)
    assert rec.total == 0 and rec.unbalanced == 0 and rec.orphans == 0
    assert rec.cards_checked == 3 and rec.counter_gaps == []
    # Card balances as reported: the latest genuine record of each card (all start
    # at 50,000 fen on the card, 0 in the ledger, so all three differ by that).
    assert {m.asn: m.reported_balance - m.shadow_balance for m in rec.mismatches} == {
        c.asn: 50_000 for c in cs
    }


def test_reconciliation_finds_a_missing_card_transaction(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0  # the ledger and the card agree at the start
        sell(t, card, 100, ttc=1)
        card.offline_atc += 1  # a purchase made at a kiosk still offline
        card.balance -= 250
        sell(t, card, 100, ttc=2)
        t.agent.run_once()
    rec = reconcile.reconcile(central)
    assert [(g.asn, g.counter, g.missing) for g in rec.counter_gaps] == [(card.asn, "offline", 1)]
    assert [(m.shadow_balance, m.reported_balance) for m in rec.mismatches] == [(-200, -450)]


def test_outbox_restored_from_an_old_copy_is_reported_not_hidden(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    import shutil

    from backend_sync.terminal.outbox import OutboxUnusable, SalesStopped

    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        for i in range(3):
            sell(t, card, 10, ttc=i + 1)
        t.outbox.close()
        db = tmp_path / "outbox-320500000001.db"
        marker = db.with_name(db.name + ".marker")
        shutil.copy(db, tmp_path / "old.db")  # a backup of the whole disk taken here
        shutil.copy(marker, tmp_path / "old.marker")
        t.outbox = type(t.outbox)(db, t.terminal_id)
        t.agent.outbox = t.outbox
        for i in range(2):
            sell(t, card, 10, ttc=10 + i)
        assert t.agent.run_once().acked_seq == 5
        t.outbox.close()
        # Only the outbox file is put back: its marker knows 5 were acknowledged.
        shutil.copy(tmp_path / "old.db", db)
        with pytest.raises(OutboxUnusable) as exc:
            type(t.outbox)(db, t.terminal_id)
        assert exc.value.code == "outbox_behind" and str(db) in str(exc.value)
        # The whole disk is restored from the backup, marker too: the central knows.
        shutil.copy(tmp_path / "old.marker", marker)
        t.outbox = type(t.outbox)(db, t.terminal_id)
        t.agent.outbox = t.outbox
        assert t.outbox.status().sales_allowed
        report = t.agent.run_once()
        assert any("disagree" in p for p in report.problems)
        assert t.outbox.status().stop_reason == "outbox_behind"
        with pytest.raises(SalesStopped):
            sell(t, card, 10, ttc=20)
        t.outbox.close()
        # ...and it stays stopped across a restart, offline too.
        assert type(t.outbox)(db, t.terminal_id).status().stop_reason == "outbox_behind"
