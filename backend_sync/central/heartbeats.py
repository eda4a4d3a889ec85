"""Heartbeats in: verified, replay-checked, kept as the latest and in the history.

A heartbeat is accepted from an enrolled, active terminal (``Central.terminal_key``
decides) whose signature over the canonical body verifies; within one boot its
counter must grow, and a new boot must be later by the kiosk's clock, so a captured
heartbeat cannot be replayed to hide a fault. The kiosk's clock may be off (worth
reporting, not refusing): heartbeats are taken within a day of the central's clock.

Set-based: a batch costs one terminal-key lookup per terminal, then one upsert, one
history insert and one position read for the whole batch, in one transaction;
:class:`HeartbeatWriter` gathers concurrent requests into such batches.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from backend_sync import chain
from backend_sync.central.fleet_models import heartbeat_history, heartbeats_latest
from backend_sync.central.models import terminals
from backend_sync.central.service import Central, Refused
from backend_sync.fleet_wire import HeartbeatAck, HeartbeatRequest

__all__ = ["HEARTBEAT_MAX_SKEW_S", "HeartbeatWriter", "ingest_heartbeat", "ingest_many"]

HEARTBEAT_MAX_SKEW_S = 24 * 3600


def _make_upsert(dialect: Any) -> Any:
    t = heartbeats_latest
    ins = dialect.insert(t)
    ex = ins.excluded
    newer = sa.or_(
        sa.and_(ex.boot_id == t.c.boot_id, ex.counter > t.c.counter),
        sa.and_(ex.boot_id != t.c.boot_id, ex.kiosk_ts > t.c.kiosk_ts),
    )
    # RETURNING rather than rowcount: drivers disagree on an upsert whose WHERE failed
    # (psycopg counted one, so a replay got through on PostgreSQL only).
    return ins.on_conflict_do_update(
        index_elements=[t.c.terminal_id],
        set_={c.name: ex[c.name] for c in t.columns if c.name != "terminal_id"},
        where=newer,
    ).returning(t.c.terminal_id)


# Built once: statement construction was half the cost of a heartbeat.
_UPSERT = {"postgresql": _make_upsert(postgresql), "sqlite": _make_upsert(sqlite)}
_HISTORY = heartbeat_history.insert()


def _rows(req: HeartbeatRequest, now: int) -> tuple[dict[str, Any], dict[str, Any]]:
    hb = req.body
    faults = orjson.dumps([f.model_dump(mode="json") for f in hb.faults]).decode()
    latest = {
        "terminal_id": hb.terminal_id, "boot_id": hb.boot_id, "counter": hb.counter,
        "kiosk_ts": hb.ts, "received_ms": now, "health": hb.health, "faults": faults,
        "backlog": hb.backlog, "oldest_unsent_s": hb.oldest_unsent_s, "paper": hb.paper,
        "out_of_service": hb.out_of_service,
        "versions": orjson.dumps(hb.versions, option=orjson.OPT_SORT_KEYS).decode(),
    }  # fmt: skip
    history = {
        "terminal_id": hb.terminal_id, "received_ms": now, "kiosk_ts": hb.ts,
        "reason": hb.reason, "health": hb.health, "faults": faults, "backlog": hb.backlog,
        "paper": hb.paper,
    }  # fmt: skip
    return latest, history


def ingest_many(
    central: Central, requests: Sequence[HeartbeatRequest]
) -> list[HeartbeatAck | Refused]:
    """Verify and keep heartbeats (latest + history) in one transaction, in order; a
    refused one (bad signature, replayed, unknown terminal) does not stop the others."""
    results: list[HeartbeatAck | Refused | None] = [None] * len(requests)
    with central.engine.begin() as conn:
        now = central.now_ms()
        keys: dict[str, Any] = {}
        accepted: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for i, req in enumerate(requests):
            hb = req.body
            tid = hb.terminal_id
            try:
                if tid not in keys:
                    try:
                        keys[tid] = central.terminal_key(conn, tid)
                    except Refused as exc:
                        keys[tid] = exc
                key = keys[tid]
                if isinstance(key, Refused):
                    raise key
                body = hb.model_dump(mode="json", exclude_none=True)
                if not chain.verify(key, chain.canonical(body), req.signature):
                    raise Refused(401, "bad_signature")
                if abs(hb.ts - now) > HEARTBEAT_MAX_SKEW_S * 1000:
                    raise Refused(401, "stale_request", "kiosk clock more than a day off")
            except Refused as exc:
                results[i] = exc
                continue
            accepted.append((i, *_rows(req, now)))
        upsert = _UPSERT["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
        kept: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        pending = accepted
        while pending:
            # One row per terminal per statement: an upsert cannot touch a row twice.
            seen: set[str] = set()
            now_round: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
            pending_next: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
            for item in pending:
                tid = item[1]["terminal_id"]
                (pending_next if tid in seen else now_round).append(item)
                seen.add(tid)
            written = set(conn.execute(upsert, [r for _, r, _ in now_round]).scalars())
            for item in now_round:
                if item[1]["terminal_id"] in written:
                    kept.append(item)
                else:
                    hb = requests[item[0]].body
                    results[item[0]] = Refused(409, "heartbeat_replayed",
                                               f"{hb.boot_id}/{hb.counter}")  # fmt: skip
            pending = pending_next
        if kept:
            conn.execute(_HISTORY, [h for _, _, h in kept])
            tids = sorted({r["terminal_id"] for _, r, _ in kept})
            pos = {
                p.terminal_id: p
                for p in conn.execute(
                    sa.select(terminals.c.terminal_id, terminals.c.acked_seq,
                              terminals.c.head_hash).where(terminals.c.terminal_id.in_(tids))
                )
            }  # fmt: skip
            for i, r, _ in kept:
                p = pos[r["terminal_id"]]
                results[i] = HeartbeatAck(status="ok", acked_seq=int(p.acked_seq),
                                          head_hash=p.head_hash, received_ms=now)  # fmt: skip
    done = [r for r in results if r is not None]
    if len(done) != len(requests):  # every heartbeat is answered, or none is
        raise RuntimeError("a heartbeat of the batch was left unanswered")
    return done


def ingest_heartbeat(central: Central, request: HeartbeatRequest) -> HeartbeatAck:
    """One heartbeat (see :func:`ingest_many`); raises :class:`Refused`."""
    (result,) = ingest_many(central, [request])
    if isinstance(result, Refused):
        raise result
    return result


class HeartbeatWriter:
    """Group commit for concurrent heartbeat requests: each caller waits for the
    transaction that holds its heartbeat, and whoever arrives first writes every
    heartbeat waiting at that moment (a commit, an fsync, shared by all of them)."""

    def __init__(self, central: Central, max_batch: int = 500) -> None:
        self.central = central
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[tuple[HeartbeatRequest, Future[HeartbeatAck]]] = []
        self._writing = False

    def submit(self, request: HeartbeatRequest) -> HeartbeatAck:
        fut: Future[HeartbeatAck] = Future()
        with self._lock:
            self._pending.append((request, fut))
            lead = not self._writing
            self._writing = True
        if lead:
            while True:
                with self._lock:
                    batch = self._pending[: self.max_batch]
                    del self._pending[: self.max_batch]
                    if not batch:
                        self._writing = False
                        break
                try:
                    results: list[HeartbeatAck | Refused] = ingest_many(
                        self.central, [r for r, _ in batch]
                    )
                except Exception as exc:  # the database: every waiter learns it
                    for _, f in batch:
                        f.set_exception(exc)
                    continue
                for (_, f), res in zip(batch, results, strict=True):
                    if isinstance(res, Refused):
                        f.set_exception(res)
                    else:
                        f.set_result(res)
        return fut.result()
