"""Failover: the central's PostgreSQL primary killed mid-upload, its synchronous
standby promoted, kiosks selling offline meanwhile and catching up; and kiosks
re-sending, from their retention window, what a central whose head went back no
longer holds. Zero lost, zero doubled (docs/scale.md, "Failover")."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central.service import Central
from backend_sync.pgreplica import ReplicatedPostgres
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    CardModel,
    ThreadServer,
    cards,
    make_central,
    sell,
    terminal,
)

FAST = {"attempts": 2, "backoff_initial": 0.02, "backoff_max": 0.1}


def _held(central: Central) -> dict[str, tuple[int, int, int]]:
    """Per terminal: (records, distinct seqs, posted) the central holds."""
    with central.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT terminal_id, COUNT(*), COUNT(DISTINCT seq),"
            " SUM(CASE WHEN status = 'posted' THEN 1 ELSE 0 END) FROM terminal_records"
            " GROUP BY terminal_id"
        ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def _doubled(central: Central) -> int:
    with central.engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT COUNT(*) FROM (SELECT ref FROM ledger_txns WHERE kind = 'purchase'"
                " GROUP BY ref HAVING COUNT(*) > 1) d"
            ).scalar_one()
        )


@pytest.mark.postgres
def test_primary_killed_mid_upload_standby_promoted(
    tmp_path: Path, issuer_keys: IssuerKeys, central_signing_key: ec.EllipticCurvePrivateKey
) -> None:
    cluster = ReplicatedPostgres().start()
    try:
        url = cluster.create_database("central")
        central = make_central(url, issuer_keys, central_signing_key)
        card_list = list(cards(central, issuer_keys, 6))
        with ThreadServer(central) as srv:
            terms = [
                terminal(
                    central,
                    srv.url,
                    tmp_path,
                    f"3205000010{i:02d}",
                    batch_size=50,
                    retain_s=3600,
                    **FAST,
                )
                for i in range(3)
            ]
            for t in terms:
                t.prices.item("water", 100)  # published before: the catalog is the central's
            _run_failover(cluster, central, terms, card_list)
    finally:
        central.engine.dispose()
        cluster.stop()


def _run_failover(
    cluster: ReplicatedPostgres, central: Central, terms: list[Any], card_list: list[CardModel]
) -> None:
    stop = threading.Event()
    uploading = threading.Event()
    state: dict[str, Any] = {"offline_sales": 0, "killed_at": None, "first_ack_after": None}
    lock = threading.Lock()
    t0 = terms[0]
    real_upload = t0.client.upload

    def upload(body: bytes) -> Any:
        uploading.set()  # the main thread kills the primary now, mid-request
        return real_upload(body)

    t0.client.upload = upload

    def kiosk(i: int) -> None:
        t, mine = terms[i], card_list[2 * i : 2 * i + 2]
        ttc = 0
        while not stop.is_set():
            ttc += 1
            sell(t, mine[ttc % 2], 100, ttc)
            with lock:
                if state["killed_at"] is not None and state["first_ack_after"] is None:
                    state["offline_sales"] += 1
            if ttc % 10 == 0:
                with lock:  # an upload begun before the kill may be answered after it
                    after_kill = state["killed_at"] is not None
                try:
                    report = t.agent.upload_pending()
                except (CentralUnavailable, CentralRefused):
                    continue  # offline: go on selling, send later
                with lock:
                    if after_kill and report.uploaded and state["first_ack_after"] is None:
                        state["first_ack_after"] = time.monotonic()
            time.sleep(0.005)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(len(terms))]
    for th in threads:
        th.start()
    try:
        time.sleep(0.5)
        uploading.clear()
        assert uploading.wait(10)
        cluster.kill_primary()
        with lock:
            state["killed_at"] = time.monotonic()
        time.sleep(1.0)  # the kiosks sell offline
        promoted_in = cluster.promote()
        promoted_at = time.monotonic()
        deadline = time.monotonic() + 30
        while state["first_ack_after"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        for th in threads:
            th.join(30)
    resent = 0
    for t in terms:  # the last uploads: everything sold reaches the new primary
        report = t.agent.upload_pending()
        assert report.ok, report.problems
        resent += report.resent
    assert state["first_ack_after"] is not None, "no kiosk caught up after the promotion"
    recover = state["first_ack_after"] - state["killed_at"]
    print(f"\nfailover: primary killed mid-upload; promoted in {promoted_in:.2f} s; first ack"
          f" {recover:.2f} s after the kill ({state['first_ack_after'] - promoted_at:.2f} s after"
          f" the promotion); {state['offline_sales']} sales made offline meanwhile")  # fmt: skip
    assert state["offline_sales"] > 0
    with central.engine.connect() as conn:
        port = conn.exec_driver_sql("SELECT inet_server_port()").scalar_one()
    assert port == cluster.ports["standby"]  # the central now writes to the promoted standby
    held = _held(central)
    for t in terms:
        head = t.outbox.status().head_seq
        assert t.outbox.acked_seq() == head
        assert held[t.terminal_id] == (head, head, head), (t.terminal_id, held[t.terminal_id])
    assert _doubled(central) == 0
    # Synchronous replication: nothing the central acknowledged was lost with the
    # primary, so no kiosk had to send anything again.
    assert resent == 0


@pytest.mark.parametrize("retain", [True, False])
def test_central_head_goes_back_kiosk_resends(
    tmp_path: Path,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
    retain: bool,
) -> None:
    """The central restored from a backup older than its last acknowledgements: a
    kiosk that kept its acknowledged records sends them again (once each); one
    that pruned them says so and keeps selling."""
    db = tmp_path / "central.db"
    central = make_central(f"sqlite:///{db}", issuer_keys, central_signing_key)
    card_list = list(cards(central, issuer_keys, 2))
    kw = {"retain_s": 3600} if retain else {}
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500002001", **kw, **FAST)
        for ttc in range(1, 11):
            sell(t, card_list[ttc % 2], 100, ttc)
        assert t.agent.upload_pending().acked_seq == 10
        with sqlite3.connect(db) as src, sqlite3.connect(tmp_path / "backup.db") as dst:
            src.backup(dst)  # a consistent copy, WAL included
        for ttc in range(11, 21):
            sell(t, card_list[ttc % 2], 100, ttc)
        assert t.agent.upload_pending().acked_seq == 20
        port = srv.port
    central.engine.dispose()
    for f in (db, db.with_name("central.db-wal"), db.with_name("central.db-shm")):
        f.unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.db", db)  # the restore: records 11..20 are gone
    central = make_central(f"sqlite:///{db}", issuer_keys, central_signing_key)
    with ThreadServer(central, port=port):
        assert _held(central)[t.terminal_id] == (10, 10, 10)
        report = t.agent.run_once()
        if retain:
            assert report.resent == 10 and not [p for p in report.problems if "head" in p]
            assert _held(central)[t.terminal_id] == (20, 20, 20)
            assert _doubled(central) == 0
            assert t.agent.run_once().resent == 0  # nothing twice
        else:
            assert report.resent == 0
            assert any("central lost records" in p for p in report.problems), report.problems
            assert _held(central)[t.terminal_id] == (10, 10, 10)
            assert t.outbox.status().sales_allowed  # the outbox is intact: sales go on
    with central.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM ledger_txns")).scalar_one() >= 10
    t.client.close()
    t.outbox.close()
    central.engine.dispose()
