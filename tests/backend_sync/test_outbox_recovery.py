"""An outbox lost at the kiosk, against the live central: sales stop when the central
is ahead, and the documented recovery continues the chain where the central is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend_sync.central.service import Central
from backend_sync.terminal.agent import SyncAgent
from backend_sync.terminal.outbox import Outbox, OutboxUnusable, SalesStopped
from backend_sync.terminal.outbox_files import existing_traces
from backend_sync.terminal.outbox_guard import OutboxGuard
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import Terminal, ThreadServer, cards, sell, terminal

TID = "320500000001"


def test_lost_outbox_stops_sales_and_recovers_from_the_central_head(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, TID)
        (card,) = cards(central, issuer_keys, 1)
        for i in range(3):
            sell(t, card, 10, ttc=i + 1)
        assert t.agent.run_once().acked_seq == 3
        sell(t, card, 10, ttc=4)  # never uploaded: its money is on the card only
        t.outbox.close()
        path = tmp_path / f"outbox-{TID}.db"
        path.write_bytes(b"")  # the disk loses the file
        guard = OutboxGuard(path, TID)
        assert guard.problem() == "outbox_damaged"
        with pytest.raises(OutboxUnusable):
            guard.require()
        # Someone "fixes" it by deleting everything: a fresh outbox is made (no
        # trace is left), but the central knows better before the first sale.
        for p in existing_traces(path):
            p.unlink()
        guard = OutboxGuard(path, TID)
        assert guard.problem() is None
        guard.check_central(t.client)
        assert guard.problem() == "outbox_behind"
        assert guard.outbox is not None
        with pytest.raises(SalesStopped):
            sell(_with(t, guard.outbox), card, 5, ttc=9)
        guard.outbox.close()
        # The recovery: files moved aside, a new outbox continued from the
        # central's signed head; numbering and the chain go on at 4.
        aside = tmp_path / "aside"
        aside.mkdir()
        for p in existing_traces(path):
            shutil.move(p, aside / p.name)
        acked, head = t.client.terminal_head()
        assert acked == 3
        ob = Outbox.continue_from(path, TID, acked_seq=acked, head_hash=head)
        t2 = _with(t, ob)
        assert sell(t2, card, 10, ttc=5) == 4
        report = t2.agent.run_once()
        assert report.ok, report.problems
        assert report.acked_seq == 4


def _with(t: Terminal, outbox: Outbox) -> Terminal:
    agent = SyncAgent(outbox, t.client, t.agent.store, attempts=2, backoff_initial=0.05)
    return Terminal(t.terminal_id, t.key, outbox, t.client, agent)
