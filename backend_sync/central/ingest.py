"""Batch ingest: signature, chain, idempotency, per-record verification, posting.

One batch is one database transaction: either every new record of it is stored
and posted and the terminal's acknowledged sequence moves, or nothing happens.
The rules (docs/sync.md, "Ingest") in order:

1. the batch is well formed (contiguous seqs) and its chain recomputes to the
   signed head; the terminal is enrolled and the signature verifies;
2. records at or below the acknowledged sequence are replays: same hash ->
   acknowledged again; different hash -> rejected, flagged, never merged;
3. the first new record must follow the acknowledged one (else: gap) and link
   to its hash (else: conflict);
4. each new record is verified (:mod:`backend_sync.central.posting`) and stored
   with its outcome; money moves only for records a real card made.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import ValidationError

from backend_sync import chain
from backend_sync.central import partitions
from backend_sync.central.models import rejections, terminal_records, terminals
from backend_sync.central.notices import notify_after_posting
from backend_sync.central.posting import BatchPoster, precompute_tacs
from backend_sync.central.service import Central, Refused
from backend_sync.wire import Ack, Batch, RecordResult, record_dict

log = logging.getLogger(__name__)

__all__ = ["ingest", "ingest_json"]


def ingest_json(central: Central, body: bytes) -> Ack:
    """Parse and ingest one upload body (what the HTTP endpoint receives).

    The records are hashed as the JSON objects they arrived as (canonically
    re-encoded) and validated strictly: no coercion, so what is verified is
    exactly what was hashed and signed.
    """
    try:
        doc = orjson.loads(body)
        batch = Batch.model_validate(doc, strict=True)
    except (ValidationError, orjson.JSONDecodeError) as exc:
        central.count_refusal("malformed_batch", None, str(exc)[:300])
        raise Refused(422, "malformed_batch", str(exc)[:300]) from exc
    return ingest(central, batch, doc["records"])


def ingest(central: Central, batch: Batch, raw_records: list[dict[str, Any]] | None = None) -> Ack:
    """Verify, store and post one signed batch; the answer carries the new ack."""
    h = batch.header
    tid = h.terminal_id
    recs = batch.records
    dicts = raw_records if raw_records is not None else [record_dict(r) for r in recs]
    hashes = chain.chain_hashes(bytes.fromhex(h.prev_hash), dicts)
    with central.engine.connect() as conn:
        try:
            key = central.terminal_key(conn, tid)
        except Refused as exc:
            conn.rollback()
            central.count_refusal(exc.reason, tid)
            if exc.reason == "terminal_revoked":
                # A stolen kiosk still uploading: refused, and put before the auditors.
                central.flag("revoked_terminal_upload", tid, f"seq {h.first_seq}..{h.last_seq}")
            raise
    if not chain.verify(key, chain.canonical(h.model_dump(mode="json")), batch.signature):
        central.count_refusal("bad_signature", tid, f"seq {h.first_seq}..{h.last_seq}")
        raise Refused(401, "bad_signature")
    if h.last_seq != h.first_seq + len(recs) - 1 or any(
        r.seq != h.first_seq + i for i, r in enumerate(recs)
    ):
        # Signed by the terminal, yet a number is missing: a record was removed.
        central.count_refusal("chain_gap", tid, "sequence numbers are not contiguous")
        raise Refused(409, "chain_gap", "sequence numbers are not contiguous")
    if hashes[-1].hex().upper() != h.head_hash:
        # The signed head is not what these records chain to: one was altered,
        # or removed and the rest renumbered.
        central.count_refusal("chain_broken", tid, f"seq {h.first_seq}..{h.last_seq}")
        raise Refused(409, "chain_broken", "records do not chain to the signed head")
    done = _begin(central, tid, h.last_seq)
    try:
        # The TACs need no database: computed before the write lock is taken, so
        # another upload's inserts (which release the GIL) overlap with them.
        tacs = precompute_tacs(central, recs)
        partitions.ready(central, central.now_ms())  # this month's partitions exist
        _wait_for_predecessor(central, tid, h.first_seq - 1)
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                with central.engine.begin() as conn:
                    ack = _ingest_locked(central, conn, batch, hashes, tacs)
                break
            except sa.exc.OperationalError as exc:
                # The database chose this transaction as a deadlock's (or a
                # serialization conflict's) victim and rolled all of it back: the
                # batch is written again from the start, here rather than by the
                # terminal after a 503.
                if attempt == TRANSIENT_ATTEMPTS or not transient(exc):
                    raise
                log.info("batch %s %s..%s: %s, attempt %d", tid, h.first_seq, h.last_seq,
                         getattr(exc.orig, "sqlstate", "?"), attempt)  # fmt: skip
                time.sleep(0.01 * attempt)
    except sa.exc.IntegrityError as exc:
        # Another replica stored a record with the same (ASN, ATC, type) or TTC
        # between our checks and our insert: the retry sees it and rejects it.
        raise Refused(503, "retry", "concurrent upload; retry the batch") from exc
    finally:
        _end(central, tid, h.last_seq, done)
    notify_after_posting(central)  # paid orders reach their billers (after the commit)
    return ack


TRANSIENT_ATTEMPTS = 3  # a write the database rolled back as a deadlock victim
# SQLSTATEs of a transaction PostgreSQL rolled back whole because of another one
# (deadlock_detected, serialization_failure): nothing of it was kept.
_TRANSIENT = frozenset({"40P01", "40001"})


def transient(exc: sa.exc.OperationalError) -> bool:
    """The database rolled the whole transaction back for another's sake: safe to redo."""
    return getattr(exc.orig, "sqlstate", None) in _TRANSIENT


# A terminal that sends its next batch before the answer to the one before (the
# agent's ``pipeline``) has both verified at once here, and the next one waits for
# its predecessor before taking the terminal's lock: otherwise it could take the
# lock first and be answered ``gap``. Only batches this process holds are awaited
# (another API process's are not known here: there the ``gap`` answer stands), and
# only earlier seqs, so no two batches wait on each other.
PREDECESSOR_WAIT_S = 10.0


def _begin(central: Central, tid: str, last_seq: int) -> threading.Event:
    done = threading.Event()
    with central._lock:
        central._in_flight.setdefault((tid, last_seq), []).append(done)
    return done


def _end(central: Central, tid: str, last_seq: int, done: threading.Event) -> None:
    with central._lock:
        waiting = central._in_flight[(tid, last_seq)]
        waiting.remove(done)
        if not waiting:
            del central._in_flight[(tid, last_seq)]
    done.set()


def _wait_for_predecessor(central: Central, tid: str, prev_seq: int) -> None:
    with central._lock:
        before = list(central._in_flight.get((tid, prev_seq), ()))
    for ev in before:
        ev.wait(PREDECESSOR_WAIT_S)


def _ingest_locked(
    central: Central,
    conn: sa.Connection,
    batch: Batch,
    hashes: list[bytes],
    tacs: dict[int, str] | None = None,
) -> Ack:
    h = batch.header
    tid = h.terminal_id
    now = central.now_ms()
    term = conn.execute(
        sa.select(terminals.c.acked_seq, terminals.c.head_hash)
        .where(terminals.c.terminal_id == tid)
        .with_for_update()
    ).one()
    acked: int = term.acked_seq
    results: list[RecordResult] = []
    conflicts: list[dict[str, object]] = []
    if h.first_seq <= acked:
        upto = min(h.last_seq, acked)
        stored = dict(
            conn.execute(
                sa.select(terminal_records.c.seq, terminal_records.c.record_hash).where(
                    terminal_records.c.terminal_id == tid,
                    terminal_records.c.seq.between(h.first_seq, upto),
                )
            ).all()
        )
        for i in range(upto - h.first_seq + 1):
            seq = h.first_seq + i
            if stored.get(seq) != hashes[i].hex().upper():
                results.append(RecordResult(seq=seq, status="conflict", reason="content_differs"))
                conflicts.append(_rejection(tid, seq, "conflicting_record", now))
    if conflicts:
        conn.execute(rejections.insert(), conflicts)
        return Ack(
            acked=acked, status="conflict", results=results, detail="same seq, other content"
        )
    n_old = max(0, min(len(batch.records), acked - h.first_seq + 1))
    if n_old == len(batch.records):
        return Ack(acked=acked, status="ok", results=[], detail="replay")
    if h.first_seq > acked + 1:
        conn.execute(
            rejections.insert(),
            [_rejection(tid, acked + 1, "chain_gap", now, f"batch starts at {h.first_seq}")],
        )
        return Ack(acked=acked, status="gap", detail=f"expected seq {acked + 1}")
    link = hashes[n_old - 1].hex().upper() if n_old else h.prev_hash
    if link != term.head_hash:
        conn.execute(rejections.insert(), [_rejection(tid, acked + 1, "chain_broken", now)])
        return Ack(acked=acked, status="conflict", detail="chain does not link to the last ack")
    new = batch.records[n_old:]
    new_hashes = [x.hex().upper() for x in hashes[n_old:]]
    try:
        # Fast path: earlier uses of an (ASN, ATC, type) or TTC are left to the
        # unique indexes; only when one fires is the batch redone with the queries.
        with conn.begin_nested():
            results.extend(
                BatchPoster(central, conn, tid, now, precheck=False, tacs=tacs).run(new, new_hashes)
            )
    except sa.exc.IntegrityError:
        results.extend(
            BatchPoster(central, conn, tid, now, precheck=True, tacs=tacs).run(new, new_hashes)
        )
    last = batch.records[-1].seq
    conn.execute(
        terminals.update()
        .where(terminals.c.terminal_id == tid)
        .values(acked_seq=last, head_hash=hashes[-1].hex().upper())
    )
    return Ack(acked=last, status="ok", results=results)


def _rejection(tid: str, seq: int, reason: str, now: int, detail: str = "") -> dict[str, object]:
    return {"terminal_id": tid, "seq": seq, "reason": reason, "detail": detail, "at_ms": now}
