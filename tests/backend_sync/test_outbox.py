"""The kiosk outbox: intents, closing, the chain, acks and pruning, the disk reserve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync import chain
from backend_sync.terminal.outbox import IntentId, Outbox, OutboxError, SalesStopped
from backend_sync.terminal.settle import settle_unfinished

TID = "320500000001"
ASN = "32150000000000000001"


def _begin(ob: Outbox, ttc: int, amount: int = 100) -> IntentId:
    return ob.begin_purchase(
        asn=ASN, amount=amount, atc=ttc, ttc=ttc, date="20261128", time="101500",
        key_version=1, algorithm=0, balance_before=10_000, payee="water",
    )  # fmt: skip


def test_intent_then_record_chained_numbered_and_durable(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", TID)
    with ob.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "k0002"
    i1 = _begin(ob, 1)
    with pytest.raises(OutboxError):
        _begin(ob, 2)  # one open intent at a time: settle before selling again
    assert [it.id for it in ob.unfinished()] == [i1]
    assert ob.complete(i1, tac="0A0B0C0D", mac2="01020304", balance_after=9_900) == 1
    with pytest.raises(OutboxError):
        ob.complete(i1, tac="0A0B0C0D", mac2="01020304", balance_after=9_900)
    i2 = _begin(ob, 2)
    ob.close()
    # A crash here: the reopened outbox still has the intent, open.
    ob = Outbox(tmp_path / "o.db", TID)
    assert [it.id for it in ob.unfinished()] == [i2]
    assert settle_unfinished(ob, []) == [(2, "unsettled")]  # card not present
    i3 = _begin(ob, 3)
    with pytest.raises(OutboxError):
        ob.add_proof(2, asn=ASN, tac="11223344", mac2="55667788")
    ob.abort(i3, "card proved no debit")
    prev, recs = ob.pending()
    bodies = [json.loads(r.body) for r in recs]
    assert [b["kind"] for b in bodies] == ["purchase", "unsettled", "aborted"]
    assert prev == chain.genesis_hash(bytes.fromhex(TID)).hex().upper()
    assert [h.hex().upper() for h in chain.chain_hashes(bytes.fromhex(prev), bodies)] == [
        r.hash for r in recs
    ]
    assert all(chain.canonical(b).decode() == r.body for b, r in zip(bodies, recs, strict=True))
    assert ob.unsettled(ASN)[0]["seq"] == 2
    ob.acknowledge(3)
    assert ob.prune() == 2  # the unsettled record stays until its proof
    assert ob.unsettled(ASN)[0]["seq"] == 2
    ob.add_proof(2, asn=ASN, tac="11223344", mac2="55667788")
    assert ob.unsettled(ASN) == []
    ob.acknowledge(4)
    assert ob.prune() == 2


def test_prune_keeps_acknowledged_records_inside_the_retention_window(tmp_path: Path) -> None:
    now = [1_000_000.0]
    ob = Outbox(tmp_path / "o.db", TID, clock=lambda: now[0])
    for n in range(1, 4):
        ob.complete(_begin(ob, n), tac="0A0B0C0D", mac2="01020304", balance_after=1)
    ob.acknowledge(3)
    assert ob.prune(keep_ms=60_000) == 0  # closed just now: kept to be sent again
    now[0] += 61
    assert ob.prune(keep_ms=60_000) == 3


def test_prune_only_what_the_central_acknowledged(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", TID)
    for n in range(1, 6):
        ob.complete(_begin(ob, n), tac="0A0B0C0D", mac2="01020304", balance_after=1)
    assert ob.prune() == 0
    ob.acknowledge(3)
    with pytest.raises(OutboxError):
        ob.acknowledge(9)  # beyond anything we wrote
    assert ob.prune() == 3
    prev, recs = ob.pending()
    assert [r.seq for r in recs] == [4, 5]
    with ob.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM outbox_records").scalar() == 2
    st = ob.status()
    assert (st.head_seq, st.acked_seq, st.unacked) == (5, 3, 2)
    # The chain continues across pruning.
    assert prev != chain.genesis_hash(bytes.fromhex(TID)).hex().upper()


def test_sales_stop_before_the_disk_is_full(tmp_path: Path) -> None:
    free = [10 * 1024 * 1024]
    ob = Outbox(tmp_path / "o.db", TID, reserve_bytes=8 * 1024 * 1024, free_bytes=lambda: free[0])
    iid = _begin(ob, 1)
    free[0] = 1024 * 1024
    assert not ob.status().sales_allowed
    # A begun sale can always be closed...
    ob.complete(iid, tac="0A0B0C0D", mac2="01020304", balance_after=9_900)
    # ...but no new one starts.
    with pytest.raises(SalesStopped):
        _begin(ob, 2)
    free[0] = 100 * 1024 * 1024
    _begin(ob, 2)


def test_schema_head_is_the_newest_migration(tmp_path: Path) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from backend_sync.terminal import outbox

    cfg = Config()
    cfg.set_main_option("script_location", outbox._MIGRATIONS)
    assert ScriptDirectory.from_config(cfg).get_current_head() == outbox.SCHEMA_HEAD


def test_an_outbox_belongs_to_one_terminal(tmp_path: Path) -> None:
    Outbox(tmp_path / "o.db", TID).close()
    with pytest.raises(OutboxError):
        Outbox(tmp_path / "o.db", "320500000002")


def test_two_threads_writing_do_not_lose_records(tmp_path: Path) -> None:
    import threading

    ob = Outbox(tmp_path / "o.db", TID)
    stop = threading.Event()

    def agent() -> None:
        while not stop.is_set():
            head = ob.status().head_seq
            ob.acknowledge(head)
            ob.prune()

    th = threading.Thread(target=agent)
    th.start()
    for n in range(1, 60):
        ob.complete(_begin(ob, n), tac="0A0B0C0D", mac2="01020304", balance_after=1)
    stop.set()
    th.join()
    assert ob.status().head_seq == 59
    with ob.engine.connect() as conn:
        seqs = conn.execute(sa.text("SELECT seq FROM outbox_records")).scalars().all()
    assert all(s > ob.status().acked_seq for s in seqs)


def test_purchases_stop_once_the_oldest_unsent_record_is_too_old(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    ob = Outbox(tmp_path / "o.db", TID, max_unsent_age_s=3600, clock=lambda: now[0])
    seq = ob.complete(_begin(ob, 1), tac="0A0B0C0D", mac2="01020304", balance_after=9_900)
    oldest = ob.status().oldest_unsent_ms
    assert oldest is not None and ob.status().sales_allowed
    now[0] = oldest / 1000 + 3601  # offline for longer than the stated age
    st = ob.status()
    assert (st.sales_allowed, st.stop_reason) == (False, "unsent_too_old")
    with pytest.raises(SalesStopped) as stopped:
        _begin(ob, 2)
    assert stopped.value.reason == "unsent_too_old"
    # A load needs the central online anyway (which then takes the backlog): not stopped.
    iid = ob.begin_load(asn=ASN, amount=100, atc=0, date="20261128", time="101500",
                        key_version=1, algorithm=0, balance_before=0, load_id="L1")  # fmt: skip
    ob.abort(iid, "the card left before INITIALIZE")
    ob.acknowledge(ob.status().head_seq)  # uploaded and acknowledged: selling again
    assert ob.status().sales_allowed and seq == 1
    _begin(ob, 2)
