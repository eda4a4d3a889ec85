"""Heartbeat ingest and fleet status at the central, on SQLite and PostgreSQL:
signatures, replay and reordering refused, latest + history kept, silent kiosks."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import fleet
from backend_sync.central.service import Central, Refused
from backend_sync.fleet_wire import Heartbeat, HeartbeatRequest
from tests.backend_sync.support import enroll

TID = "320500000101"


def _hb(central: Central, key: ec.EllipticCurvePrivateKey, *, boot: str, counter: int,
        ts: int | None = None, tid: str = TID, **kw: object) -> HeartbeatRequest:  # fmt: skip
    body = {
        "terminal_id": tid, "boot_id": boot, "counter": counter,
        "ts": central.now_ms() if ts is None else ts, "reason": "interval", "health": "ok",
        "faults": [], "backlog": 0, "paper": "adequate", "versions": {"software": "0.1.0"},
        **kw,
    }  # fmt: skip
    hb = Heartbeat.model_validate(body)
    sig = chain.sign(key, chain.canonical(hb.model_dump(mode="json", exclude_none=True)))
    return HeartbeatRequest(body=hb, signature=sig)


def test_heartbeats_are_kept_latest_and_history(central: Central) -> None:
    key = enroll(central, TID)
    boot = uuid.uuid4().hex
    ack = fleet.ingest_heartbeat(central, _hb(central, key, boot=boot, counter=1))
    assert ack.acked_seq == 0 and len(ack.head_hash) == 64
    fault = {"device": "printer", "health": "fault", "code": "paper_out", "next_step": "load_paper"}
    fleet.ingest_heartbeat(central, _hb(central, key, boot=boot, counter=2, health="fault",
                                        faults=[fault], paper="out", backlog=7))  # fmt: skip
    status = fleet.fleet_status(central)
    (k,) = status.kiosks
    assert (k.health, k.paper, k.backlog) == ("fault", "out", 7)
    assert k.faults[0].code == "paper_out" and not k.silent
    assert status.counts == {"ok": 0, "warning": 0, "fault": 1, "silent": 0}
    hist = fleet.history(central, TID)
    assert [h["health"] for h in hist] == ["fault", "ok"]


def test_replayed_reordered_and_forged_heartbeats_are_refused(central: Central) -> None:
    key = enroll(central, TID)
    boot = uuid.uuid4().hex
    first = _hb(central, key, boot=boot, counter=5)
    fleet.ingest_heartbeat(central, first)
    for req in (first, _hb(central, key, boot=boot, counter=4)):
        with pytest.raises(Refused) as e:
            fleet.ingest_heartbeat(central, req)
        assert (e.value.status, e.value.reason) == (409, "heartbeat_replayed")
    # An older boot's heartbeat (earlier kiosk time) cannot hide the newer state.
    old = _hb(central, key, boot=uuid.uuid4().hex, counter=99, ts=central.now_ms() - 60_000)
    with pytest.raises(Refused, match="heartbeat_replayed"):
        fleet.ingest_heartbeat(central, old)
    fleet.ingest_heartbeat(central, _hb(central, key, boot=uuid.uuid4().hex, counter=1,
                                        ts=central.now_ms() + 1000))  # fmt: skip
    forged = _hb(central, chain.generate_key(), boot=boot, counter=6)
    with pytest.raises(Refused, match="bad_signature"):
        fleet.ingest_heartbeat(central, forged)
    tampered = HeartbeatRequest(body=first.body.model_copy(update={"counter": 7}),
                                signature=first.signature)  # fmt: skip
    with pytest.raises(Refused, match="bad_signature"):
        fleet.ingest_heartbeat(central, tampered)
    with pytest.raises(Refused, match="unknown_terminal"):
        fleet.ingest_heartbeat(central, _hb(central, key, boot=boot, counter=8,
                                            tid="320500000999"))  # fmt: skip
    far = _hb(central, key, boot=boot, counter=9, ts=central.now_ms() - 2 * 86_400_000)
    with pytest.raises(Refused, match="stale_request"):
        fleet.ingest_heartbeat(central, far)
    assert len(fleet.history(central, TID)) == 2


def test_silent_kiosks_and_those_never_heard(central: Central) -> None:
    key = enroll(central, TID)
    enroll(central, "320500000102")  # enrolled, never sent one
    fleet.ingest_heartbeat(central, _hb(central, key, boot=uuid.uuid4().hex, counter=1))
    assert fleet.fleet_status(central, interval_s=60, silent_after=3).silent == ["320500000102"]
    start = central.clock()
    central.clock = lambda: start + 181
    status = fleet.fleet_status(central, interval_s=60, silent_after=3)
    assert status.silent == [TID, "320500000102"] and status.kiosks[0].silent_s >= 180
    assert fleet.prune_history(central, keep_s=60) == 1
    assert fleet.fleet_status(central).kiosks[0].terminal_id == TID  # the latest stays


def test_a_batch_answers_each_heartbeat_in_order(central: Central) -> None:
    key = enroll(central, TID)
    other = enroll(central, "320500000102")
    boot = uuid.uuid4().hex
    batch = [
        _hb(central, key, boot=boot, counter=1),
        _hb(central, key, boot=boot, counter=2, backlog=2),  # same terminal, same batch
        _hb(central, key, boot=boot, counter=2),  # its replay
        _hb(central, chain.generate_key(), boot=boot, counter=3),  # forged
        _hb(central, other, boot=uuid.uuid4().hex, counter=1, tid="320500000102"),
        _hb(central, key, boot=boot, counter=1, tid="320500000999"),  # never enrolled
    ]
    got = fleet.ingest_many(central, batch)
    assert [getattr(r, "reason", "ok") for r in got] == [
        "ok", "ok", "heartbeat_replayed", "bad_signature", "ok", "unknown_terminal"]  # fmt: skip
    (latest,) = [k for k in fleet.fleet_status(central).kiosks if k.terminal_id == TID]
    assert latest.backlog == 2
    assert len(fleet.history(central, TID)) == 2


def test_the_writer_group_commits_concurrent_heartbeats(central: Central) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tids = [f"3205000002{i:02d}" for i in range(8)]
    keys = {t: enroll(central, t) for t in tids}
    writer = fleet.HeartbeatWriter(central)

    def send(tid: str) -> list[int]:
        boot = uuid.uuid4().hex
        return [writer.submit(_hb(central, keys[tid], boot=boot, counter=n, tid=tid)).acked_seq
                for n in range(1, 6)]  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        acks = list(pool.map(send, tids))
    assert acks == [[0] * 5] * 8
    assert sum(len(fleet.history(central, t)) for t in tids) == 40
    with pytest.raises(Refused, match="heartbeat_replayed"):
        writer.submit(_hb(central, keys[tids[0]], boot=uuid.uuid4().hex, counter=1,
                          tid=tids[0], ts=central.now_ms() - 3_600_000))  # fmt: skip


def test_the_fleet_shows_a_kiosk_clock_off_by_minutes(central: Central) -> None:
    key = enroll(central, TID)
    fleet.ingest_heartbeat(central, _hb(central, key, boot=uuid.uuid4().hex, counter=1,
                                        ts=central.now_ms() - 300_000))  # fmt: skip
    (k,) = fleet.fleet_status(central).kiosks
    assert 299_000 <= k.skew_ms <= 301_000
