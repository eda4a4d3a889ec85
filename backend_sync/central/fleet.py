"""Fleet status from the heartbeats kept (:mod:`backend_sync.central.heartbeats`
takes them in), a terminal's position, and support bundles kept after their
signature checks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central.documents import signed
from backend_sync.central.fleet_models import heartbeat_history, heartbeats_latest, support_bundles
from backend_sync.central.heartbeats import (
    HEARTBEAT_MAX_SKEW_S,
    HeartbeatWriter,
    ingest_heartbeat,
    ingest_many,
)
from backend_sync.central.models import terminals
from backend_sync.central.service import Central, Refused
from backend_sync.fleet_wire import (
    BundleReceipt,
    FleetKiosk,
    FleetStatus,
    SupportBundleUpload,
)
from backend_sync.wire import SignedDocument

__all__ = [
    "HEARTBEAT_MAX_SKEW_S",
    "MAX_BUNDLE_BYTES",
    "HeartbeatWriter",
    "bundle_content",
    "fleet_status",
    "history",
    "ingest_heartbeat",
    "ingest_many",
    "position",
    "prune_history",
    "receive_bundle",
]

MAX_BUNDLE_BYTES = 4 * 1024 * 1024


def position(central: Central, terminal_id: str, nonce: str) -> SignedDocument:
    """The highest contiguous sequence the central holds for a terminal, and the
    hash there, signed and bound to the caller's nonce."""
    tid = terminal_id.upper()
    with central.engine.connect() as conn:
        row = conn.execute(
            sa.select(terminals.c.acked_seq, terminals.c.head_hash).where(
                terminals.c.terminal_id == tid
            )
        ).first()
    if row is None:
        raise Refused(404, "unknown_terminal", tid)
    body = {"terminal_id": tid, "acked_seq": int(row.acked_seq), "head_hash": row.head_hash,
            "nonce": nonce[:64]}  # fmt: skip
    return signed(central, "position", int(row.acked_seq), body)


def fleet_status(central: Central, *, interval_s: int = 60, silent_after: int = 3) -> FleetStatus:
    """Every kiosk's last heartbeat; those silent for ``silent_after`` intervals
    (and enrolled terminals never heard from) are listed as silent."""
    now = central.now_ms()
    limit_ms = interval_s * silent_after * 1000
    with central.engine.connect() as conn:
        rows = conn.execute(sa.select(heartbeats_latest).order_by(heartbeats_latest.c.terminal_id))
        kiosks = []
        for r in rows:
            silent_ms = max(0, now - int(r.received_ms))
            kiosks.append(FleetKiosk(
                terminal_id=r.terminal_id, last_ms=int(r.received_ms), kiosk_ts=int(r.kiosk_ts),
                skew_ms=int(r.received_ms) - int(r.kiosk_ts), health=r.health,
                faults=json.loads(r.faults), backlog=int(r.backlog),
                oldest_unsent_s=None if r.oldest_unsent_s is None else int(r.oldest_unsent_s),
                paper=r.paper, out_of_service=bool(r.out_of_service),
                versions=json.loads(r.versions), silent=silent_ms > limit_ms,
                silent_s=silent_ms // 1000,
            ))  # fmt: skip
        heard = {k.terminal_id for k in kiosks}
        never = [
            t
            for t in conn.execute(
                sa.select(terminals.c.terminal_id).where(terminals.c.status == "active")
            ).scalars()
            if t not in heard
        ]
    silent = sorted([k.terminal_id for k in kiosks if k.silent] + never)
    counts: dict[str, int] = {"ok": 0, "warning": 0, "fault": 0}
    for k in kiosks:
        counts[k.health] += 1
    counts["silent"] = len(silent)
    return FleetStatus(now_ms=now, interval_s=interval_s, silent_after_intervals=silent_after,
                       kiosks=kiosks, silent=silent, counts=counts)  # fmt: skip


def history(central: Central, terminal_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """A terminal's heartbeats, newest first."""
    h = heartbeat_history
    with central.engine.connect() as conn:
        rows = conn.execute(
            sa.select(h.c.received_ms, h.c.kiosk_ts, h.c.reason, h.c.health, h.c.faults,
                      h.c.backlog, h.c.paper)
            .where(h.c.terminal_id == terminal_id.upper())
            .order_by(h.c.received_ms.desc(), h.c.id.desc())
            .limit(max(1, min(limit, 1000)))
        ).all()  # fmt: skip
    return [{**r._asdict(), "faults": json.loads(r.faults)} for r in rows]


def prune_history(central: Central, *, keep_s: int) -> int:
    """Drop history older than ``keep_s`` seconds (the latest rows stay); how many."""
    cutoff = central.now_ms() - keep_s * 1000
    with central.engine.begin() as conn:
        res = conn.execute(
            heartbeat_history.delete().where(heartbeat_history.c.received_ms < cutoff)
        )
    return int(res.rowcount)


def receive_bundle(central: Central, upload: SupportBundleUpload) -> BundleReceipt:
    """Keep a support bundle whose signature (over its exact bytes) verifies with the
    terminal's enrolled key and which names that terminal inside."""
    try:
        content = base64.b64decode(upload.content_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused(400, "bad_bundle", "content is not base64") from exc
    if len(content) > MAX_BUNDLE_BYTES:
        raise Refused(413, "bundle_too_large", f"{len(content)} bytes")
    tid = upload.terminal_id
    digest = hashlib.sha256(content).hexdigest().upper()
    with central.engine.begin() as conn:
        key = central.terminal_key(conn, tid)
        if not chain.verify(key, content, upload.signature):
            raise Refused(401, "bad_signature")
        try:
            doc = json.loads(content)
        except ValueError as exc:
            raise Refused(400, "bad_bundle", "not JSON") from exc
        if not isinstance(doc, dict) or doc.get("terminal_id") != tid:
            raise Refused(400, "bad_bundle", "the bundle names another terminal")
        found = conn.execute(
            sa.select(support_bundles.c.id).where(
                support_bundles.c.terminal_id == tid, support_bundles.c.sha256 == digest
            )
        ).scalar()
        if found is None:
            found = conn.execute(
                support_bundles.insert()
                .values(terminal_id=tid, name=upload.name, sha256=digest, size=len(content),
                        content=content, signature=upload.signature,
                        received_ms=central.now_ms())
                .returning(support_bundles.c.id)
            ).scalar_one()  # fmt: skip
    return BundleReceipt(id=int(found), sha256=digest, size=len(content))


def bundle_content(central: Central, bundle_id: int) -> tuple[str, bytes, str]:
    """(terminal id, content, signature) of a stored bundle."""
    with central.engine.connect() as conn:
        row = conn.execute(
            sa.select(support_bundles.c.terminal_id, support_bundles.c.content,
                      support_bundles.c.signature).where(support_bundles.c.id == bundle_id)
        ).first()  # fmt: skip
    if row is None:
        raise Refused(404, "unknown_bundle", str(bundle_id))
    return row.terminal_id, bytes(row.content), row.signature
