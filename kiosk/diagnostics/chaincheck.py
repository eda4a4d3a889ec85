"""The outbox's hash chain, verified end to end, and compared with the central's.

Read-only: the outbox file is opened through its own engine and never written.
From the hash of the last acknowledged record (what the central holds) through
every record kept, each stored hash must be SHA-256(previous ‖ canonical body),
sequence numbers contiguous, and the last one the head the outbox's meta names.
Acknowledged records are pruned, so the chain before the acknowledged point is the
central's to check; the two meet at ``acked_hash``, which the central's own head
hash must equal when it holds exactly what we acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from backend_sync import chain
from backend_sync.terminal.tables import outbox_meta, outbox_records

__all__ = ["ChainCheck", "compare_with_central", "verify_outbox"]


@dataclass(frozen=True)
class ChainCheck:
    """What the walk found; ``problem`` is None when the chain is whole."""

    acked_seq: int
    head_seq: int
    checked: int  # records whose hash was recomputed
    open_intents: int
    oldest_unsent_ms: int | None  # when the oldest closed, unacknowledged record closed
    problem: str | None = None
    broken_at: int | None = None
    hash_at: dict[int, str] | None = None  # seq -> hash of the records walked

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_outbox(engine: sa.Engine) -> ChainCheck:
    """Walk the chain from the acknowledged hash to the head (see module docstring)."""
    with engine.connect() as conn:
        meta = dict(conn.execute(sa.select(outbox_meta.c.key, outbox_meta.c.value)).all())
        acked, head = int(meta["acked_seq"]), int(meta["head_seq"])
        rows = conn.execute(
            sa.select(
                outbox_records.c.seq,
                outbox_records.c.state,
                outbox_records.c.body,
                outbox_records.c.hash,
                outbox_records.c.closed_ms,
            )
            .where(outbox_records.c.seq > acked)
            .order_by(outbox_records.c.seq)
        ).all()
    prev = meta["acked_hash"]
    expected = acked + 1
    checked = 0
    opened = 0
    oldest: int | None = None
    hashes: dict[int, str] = {acked: prev}

    def broken(problem: str, seq: int | None) -> ChainCheck:
        return ChainCheck(acked, head, checked, opened, oldest, problem, seq, hashes)

    for row in rows:
        if row.state == "open":
            opened += 1
            if row.seq != head + 1:
                return broken(f"open intent {row.seq} is not next after head {head}", row.seq)
            continue
        if row.seq != expected:
            return broken(f"record {expected} missing (found {row.seq})", expected)
        if row.body is None or row.hash is None:
            return broken(f"record {row.seq} is closed without body or hash", row.seq)
        try:
            body = json.loads(row.body)
        except ValueError:
            return broken(f"record {row.seq} body is not JSON", row.seq)
        if not isinstance(body, dict) or body.get("seq") != row.seq:
            return broken(f"record {row.seq} body carries another sequence", row.seq)
        if chain.canonical(body).decode() != row.body:
            return broken(f"record {row.seq} body is not in canonical form", row.seq)
        h = chain.link(bytes.fromhex(prev), body).hex().upper()
        if h != row.hash:
            return broken(f"record {row.seq} hash does not match its body", row.seq)
        if oldest is None and row.closed_ms is not None:
            oldest = int(row.closed_ms)
        prev = h
        hashes[row.seq] = h
        checked += 1
        expected += 1
    if expected - 1 != head:
        return broken(f"chain ends at {expected - 1}, head says {head}", expected)
    if prev != meta["head_hash"]:
        return broken("the last record's hash is not the head hash", head)
    return ChainCheck(acked, head, checked, opened, oldest, None, None, hashes)


def compare_with_central(check: ChainCheck, central_seq: int, central_hash: str) -> str | None:
    """Why the outbox and the central's position disagree, or None.

    ``behind``: the central holds records this outbox never wrote (a restored disk);
    ``forked``: at a sequence both hold, the hashes differ."""
    if central_seq > check.head_seq:
        return "behind"
    known = (check.hash_at or {}).get(central_seq)
    if known is not None and known != central_hash.upper():
        return "forked"
    return None
