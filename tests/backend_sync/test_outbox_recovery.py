"""An outbox lost at the kiosk, against the live central: sales stop when the central
is ahead, and the documented recovery continues the chain where the central is."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_sync import chain
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
        # The recovery, with the technician's commands: check, keep the files,
        # continue from the central's signed head; numbering and the chain go on.
        from kiosk.cli import main

        pub, tkey = tmp_path / "central.pub", tmp_path / "terminal-key.pem"
        pub.write_bytes(chain.public_key_pem(central.signing_key.public_key()))
        tkey.write_bytes(chain.private_key_pem(t.key))
        box = ["--outbox", str(path)]
        assert main(["outbox", "check", *box, "--terminal-id", TID]) == 1
        assert main(["outbox", "quarantine", *box]) == 0
        assert not existing_traces(path)
        kept = [q for q in tmp_path.iterdir() if q.name.startswith(path.name + ".quarantine-")]
        assert len(kept) == 1 and (kept[0] / path.name).exists()
        assert main(["outbox", "continue", *box, "--terminal-id", TID, "--central", srv.url,
                     "--central-key", str(pub), "--terminal-key", str(tkey)]) == 0  # fmt: skip
        assert main(["outbox", "check", *box, "--terminal-id", TID]) == 0
        acked, head = t.client.terminal_head()
        assert acked == 3
        ob = Outbox(path, TID)
        assert ob.pending()[0] == head  # the next record chains onto the central's head
        t2 = _with(t, ob)
        assert sell(t2, card, 10, ttc=5) == 4
        report = t2.agent.run_once()
        assert report.ok, report.problems
        assert report.acked_seq == 4


def _with(t: Terminal, outbox: Outbox) -> Terminal:
    agent = SyncAgent(outbox, t.client, t.agent.store, attempts=2, backoff_initial=0.05)
    return Terminal(t.terminal_id, t.key, outbox, t.client, agent, t.prices)
