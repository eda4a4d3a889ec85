"""Exactly once under concurrency: one terminal's batches sent from several
connections at once, and many terminals at once, on both engines. The central
serializes each terminal's writes (its row locked for the batch's transaction);
whatever the interleaving, every record is held once and posted once."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import Terminal, ThreadServer, cards, sell, terminal

TERMINALS = 6
RECORDS = 60  # per terminal
BATCH = 10
SENDERS = 3  # connections sending the same terminal's batches at once


def _bodies(t: Terminal, n_batches: int) -> list[tuple[int, bytes]]:
    """(last seq, signed body) of each batch, built as the agent builds them."""
    out = []
    prev, recs = t.outbox.pending(RECORDS)
    for b in range(n_batches):
        part = recs[b * BATCH : (b + 1) * BATCH]
        body = t.client.build_batch(
            prev, [r.seq for r in part], [r.body for r in part], part[-1].hash
        )
        out.append((part[-1].seq, body))
        prev = part[-1].hash
    return out


def test_same_terminal_from_several_connections_and_many_terminals(
    central: Central,
    tmp_path: Path,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    card_list = list(cards(central, issuer_keys, TERMINALS * 2))
    with ThreadServer(central) as srv:
        terms = [
            terminal(central, srv.url, tmp_path, f"3205000030{i:02d}") for i in range(TERMINALS)
        ]
        for i, t in enumerate(terms):
            for ttc in range(1, RECORDS + 1):
                sell(t, card_list[2 * i + ttc % 2], 100 + ttc % 3, ttc)
        plans = {t.terminal_id: _bodies(t, RECORDS // BATCH) for t in terms}
        answers: dict[str, int] = {}
        lock = threading.Lock()

        def sender(tid: str) -> None:
            with httpx.Client(base_url=srv.url, timeout=30) as http:
                for last, body in plans[tid]:
                    for _ in range(200):  # until the central holds this batch
                        resp = http.post("/v1/batches", content=body,
                                         headers={"content-type": "application/json"})  # fmt: skip
                        doc = resp.json()
                        with lock:
                            key = f"{resp.status_code} {doc.get('status', doc.get('reason'))}"
                            answers[key] = answers.get(key, 0) + 1
                        assert resp.status_code in (200, 503), doc
                        if resp.status_code == 200:
                            assert doc["status"] in ("ok", "gap"), doc
                            if doc["acked"] >= last:
                                break
                    else:
                        raise AssertionError(f"{tid}: batch to {last} never acknowledged")

        threads = [threading.Thread(target=sender, args=(t.terminal_id,))
                   for t in terms for _ in range(SENDERS)]  # fmt: skip
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        assert not any(th.is_alive() for th in threads)
        for t in terms:
            t.client.close()
            t.outbox.close()
    with central.engine.connect() as conn:
        held = {r[0]: tuple(r[1:]) for r in conn.exec_driver_sql(
            "SELECT terminal_id, COUNT(*), COUNT(DISTINCT seq), MAX(seq),"
            " SUM(CASE WHEN status = 'posted' THEN 1 ELSE 0 END) FROM terminal_records"
            " GROUP BY terminal_id")}  # fmt: skip
        doubled = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM (SELECT ref FROM ledger_txns GROUP BY ref HAVING COUNT(*) > 1) d"
        ).scalar_one()
        acked: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT terminal_id, acked_seq FROM terminals").all()
        )
        card_total = conn.exec_driver_sql(
            "SELECT SUM(e.amount) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id"
            " WHERE a.kind = 'card'"
        ).scalar_one()
    for t in terms:
        assert held[t.terminal_id] == (RECORDS,) * 4, (t.terminal_id, held[t.terminal_id])
        assert acked[t.terminal_id] == RECORDS
    assert doubled == 0
    assert card_total == -TERMINALS * sum(100 + ttc % 3 for ttc in range(1, RECORDS + 1))
    # Several senders did race: replays answered ok (the same ack), none refused.
    assert sum(answers.values()) >= TERMINALS * SENDERS * (RECORDS // BATCH)
