"""Exactly once under concurrency: one terminal's batches sent from several
connections at once, and many terminals at once, on both engines and over two API
processes. The central serializes each terminal's writes (its row locked for the
batch's transaction); whatever the interleaving, every record is held once and
posted once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import ingest
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from backend_sync.wire import Ack
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    Terminal,
    ThreadServer,
    cards,
    free_port,
    make_central,
    sell,
    terminal,
    terminal_ca,
)

TERMINALS = 4
RECORDS = 30  # per terminal
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


def _prepare(
    central: Central, url: str, tmp: Path, keys: IssuerKeys
) -> dict[str, list[tuple[int, bytes]]]:
    """TERMINALS kiosks, RECORDS sales each, cut into signed batches."""
    card_list = list(cards(central, keys, TERMINALS * 2))
    plans = {}
    for i in range(TERMINALS):
        t = terminal(central, url, tmp, f"3205000030{i:02d}")
        for ttc in range(1, RECORDS + 1):
            sell(t, card_list[2 * i + ttc % 2], 100 + ttc % 3, ttc)
        plans[t.terminal_id] = _bodies(t, RECORDS // BATCH)
        t.client.close()
        t.outbox.close()
    return plans


def _race(url: str, plans: dict[str, list[tuple[int, bytes]]]) -> dict[str, int]:
    """SENDERS connections per terminal, each sending all its batches in order until
    the central holds them; returns the answers by kind."""
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def sender(tid: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for last, body in plans[tid]:
                for _ in range(300):  # until the central holds this batch
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

    threads = [threading.Thread(target=sender, args=(tid,))
               for tid in plans for _ in range(SENDERS)]  # fmt: skip
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads)
    assert sum(answers.values()) >= TERMINALS * SENDERS * (RECORDS // BATCH)
    return answers


def _check_once(central: Central, plans: dict[str, list[tuple[int, bytes]]]) -> None:
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
    for tid in plans:
        assert held[tid] == (RECORDS,) * 4, (tid, held[tid])
        assert acked[tid] == RECORDS
    assert doubled == 0
    assert card_total == -TERMINALS * sum(100 + ttc % 3 for ttc in range(1, RECORDS + 1))


def test_same_terminal_from_several_connections_and_many_terminals(
    central: Central, tmp_path: Path, issuer_keys: IssuerKeys
) -> None:
    with ThreadServer(central) as srv:
        plans = _prepare(central, srv.url, tmp_path, issuer_keys)
        _race(srv.url, plans)
    _check_once(central, plans)


@pytest.mark.postgres
def test_two_worker_processes_over_one_database(
    postgres: PrivatePostgres,
    tmp_path: Path,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    """`civicard central serve --workers 2`: two stateless processes, one PostgreSQL."""
    url = postgres.create_database("workers")
    central = make_central(url, issuer_keys, central_signing_key)
    keys_file, signing, ca_file = tmp_path / "keys.json", tmp_path / "s.pem", tmp_path / "ca.crt"
    issuer_keys.save(keys_file)
    signing.write_bytes(chain.private_key_pem(central_signing_key))
    ca_file.write_bytes(terminal_ca()[1].public_bytes(serialization.Encoding.PEM))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    plans = _prepare(central, base, tmp_path, issuer_keys)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", url,
         "--issuer-keys", str(keys_file), "--signing-key", str(signing),
         "--terminal-ca", str(ca_file), "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stderr.read() if proc.stderr else b""
                )
                time.sleep(0.1)
        _race(base, plans)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    _check_once(central, plans)
    central.engine.dispose()


def test_next_batch_waits_for_its_predecessor_in_flight(
    central: Central, tmp_path: Path, issuer_keys: IssuerKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal sending its next batch before the answer to the one before (the
    agent's pipeline): the next one, overtaking, waits for its predecessor instead
    of being answered ``gap``; a batch whose predecessor is not in flight is not
    held back."""
    with ThreadServer(central) as srv:
        plans = _prepare(central, srv.url, tmp_path, issuer_keys)
    tid = next(iter(plans))
    (_, first), (last2, second), (last3, third) = plans[tid]
    real = ingest.precompute_tacs
    slow = threading.Event()

    def precompute(c: Central, recs: list[object]) -> dict[int, str]:
        if recs[0].seq == 1:  # type: ignore[attr-defined]
            slow.set()
            time.sleep(0.5)  # the first batch is still being verified...
        return real(c, recs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "precompute_tacs", precompute)
    answers: list[Ack] = []
    th = threading.Thread(target=lambda: answers.append(ingest.ingest_json(central, first)))
    th.start()
    assert slow.wait(10)
    ack2 = ingest.ingest_json(central, second)  # ...when the second one arrives
    th.join(30)
    assert [a.status for a in answers] == ["ok"]
    assert (ack2.status, ack2.acked) == ("ok", last2)
    # The third batch's predecessor is done: answered at once. Sent again after
    # the batch after it is missing, a batch is answered gap as before.
    t0 = time.monotonic()
    assert ingest.ingest_json(central, third).acked == last3
    assert time.monotonic() - t0 < ingest.PREDECESSOR_WAIT_S
    t2 = next(p for p in plans if p != tid)
    gap = ingest.ingest_json(central, plans[t2][1][1])
    assert (gap.status, gap.acked) == ("gap", 0)
    assert central._in_flight == {}


@pytest.mark.postgres
def test_uploads_creating_the_same_new_accounts_never_deadlock(
    postgres: PrivatePostgres,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    """Concurrent transactions creating overlapping sets of new accounts (payees
    first met in two terminals' batches at once) take the accounts' index entries in
    one order: a set's iteration order differs from set to set, and deadlocked two
    uploads on PostgreSQL when the accounts were created in it."""
    from backend_sync.central import ledger

    central = make_central(
        postgres.create_database("accounts_race"), issuer_keys, central_signing_key
    )
    codes = [f"payee:race{k:03d}" for k in range(60)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        start.wait()
        for r in range(12):
            # Sets of different sizes and members: their orders disagree.
            k = 5 + (w * 7 + r * 11) % 50
            subset = {codes[(w * 13 + r * 17 + i * (w + 2)) % len(codes)] for i in range(k)}
            try:
                with central.engine.begin() as conn:
                    ids = ledger.account_ids(conn, subset)
                    time.sleep(0.002)  # hold the new index entries a moment
                    assert set(ids) == subset
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    central.engine.dispose()
    assert not errors, errors[0]


@pytest.mark.postgres
def test_a_deadlock_victim_is_recognized_as_safe_to_redo(postgres: PrivatePostgres) -> None:
    """The ingest redoes a batch whose transaction PostgreSQL rolled back as a
    deadlock's victim (ingest.transient); a real deadlock between two connections
    is one, a database that is gone is not."""
    import sqlalchemy as sa

    from backend_sync.central.db import make_engine

    engine = make_engine(postgres.create_database("deadlock_probe"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE rows_ (k int PRIMARY KEY, v int)")
        conn.exec_driver_sql("INSERT INTO rows_ VALUES (1, 0), (2, 0)")
    caught: list[BaseException] = []
    both = threading.Barrier(2)

    def lock(first: int, second: int) -> None:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"UPDATE rows_ SET v = v + 1 WHERE k = {first}")
                both.wait()
                conn.exec_driver_sql(f"UPDATE rows_ SET v = v + 1 WHERE k = {second}")
        except sa.exc.OperationalError as exc:
            caught.append(exc)

    threads = [threading.Thread(target=lock, args=a) for a in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(caught) == 1 and ingest.transient(caught[0])  # type: ignore[arg-type]
    engine.dispose()
    gone = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(sa.exc.OperationalError) as down:
        gone.connect()
    assert not ingest.transient(down.value)


@pytest.mark.postgres
def test_a_batch_chosen_as_deadlock_victim_is_written_again_once(
    postgres: PrivatePostgres,
    tmp_path: Path,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another transaction holds a card's state row the batch needs and then asks
    for the terminal's row the batch holds: PostgreSQL rolls the batch back as the
    deadlock's victim. The central writes it again at once (no 503 to the terminal),
    and every record is held once."""
    import logging

    import orjson

    central = make_central(
        postgres.create_database("deadlock_victim"), issuer_keys, central_signing_key
    )
    with ThreadServer(central) as srv:
        plans = _prepare(central, srv.url, tmp_path, issuer_keys)
    tid = next(iter(plans))
    (last1, first), (last2, second), _ = plans[tid]
    assert ingest.ingest_json(central, first).acked == last1  # the cards' states exist now
    asn = orjson.loads(second)["records"][-1]["asn"]
    answers: list[Ack] = []
    caplog.set_level(logging.INFO, logger="backend_sync.central.ingest")
    with central.engine.connect() as other, central.engine.connect() as probe:
        other.exec_driver_sql("SET deadlock_timeout = '10s'")  # the batch detects it first
        other.exec_driver_sql("SELECT 1 FROM card_states WHERE asn = %s FOR UPDATE", (asn,))
        th = threading.Thread(target=lambda: answers.append(ingest.ingest_json(central, second)))
        th.start()
        for _ in range(400):  # until the batch waits for the card's row
            waiting = probe.exec_driver_sql(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'INSERT INTO card_states%%'"
            ).scalar_one()
            probe.rollback()
            if waiting:
                break
            time.sleep(0.025)
        else:
            raise AssertionError("the batch never waited for the card's state")
        other.exec_driver_sql(
            "SELECT 1 FROM terminals WHERE terminal_id = %s FOR UPDATE", (tid,)
        )  # granted once the batch, the victim, rolled back
        other.commit()
        th.join(30)
    assert [(a.status, a.acked) for a in answers] == [("ok", last2)]
    assert any("40P01" in r.getMessage() for r in caplog.records)
    with central.engine.connect() as conn:
        rows, seqs = conn.exec_driver_sql(
            "SELECT COUNT(*), COUNT(DISTINCT seq) FROM terminal_records WHERE terminal_id = %s",
            (tid,),
        ).one()
        doubled = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM (SELECT ref FROM ledger_txns GROUP BY ref HAVING COUNT(*) > 1) d"
        ).scalar_one()
    assert (rows, seqs, doubled) == (last2, last2, 0)
    central.engine.dispose()
