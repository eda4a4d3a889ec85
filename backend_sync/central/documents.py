"""Signed downloads: service catalog, fee tables, config, hotlist, the time.

Each answer is a :class:`~backend_sync.wire.SignedDocument` whose signature (the
central's ECDSA P-256 key) covers canonical(payload); the payload repeats the
document name and version so that a signature cannot be moved between documents.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central.models import documents, terminals
from backend_sync.central.registry import hotlist
from backend_sync.central.service import Central, Refused
from backend_sync.wire import SignedDocument

__all__ = [
    "DOCUMENT_NAMES",
    "publish",
    "signed",
    "signed_document",
    "signed_hotlist",
    "signed_terminal_head",
    "signed_time",
]

DOCUMENT_NAMES = ("catalog", "fees", "config")


def signed(central: Central, name: str, version: int, body: dict[str, Any]) -> SignedDocument:
    payload = {"name": name, "version": version, **body}
    sig = chain.sign(central.signing_key, chain.canonical(payload))
    return SignedDocument(name=name, version=version, payload=payload, signature=sig)


def _check_canonical(obj: object, depth: int = 0) -> None:
    """Documents hold only objects, arrays, strings, 64-bit integers and booleans."""
    if depth > 32:
        raise Refused(422, "bad_document", "nested too deep")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_canonical(k, depth + 1)
            _check_canonical(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            _check_canonical(v, depth + 1)
    elif isinstance(obj, bool | str):
        return
    elif isinstance(obj, int):
        if not -(2**63) <= obj < 2**63:
            raise Refused(422, "bad_document", "integers are 64-bit")
    else:
        what = type(obj).__name__
        raise Refused(422, "bad_document", f"{what} in a document (no floats, no null)")


def publish(central: Central, name: str, body: dict[str, Any]) -> int:
    """Publish a new version of a document; returns its version."""
    if name not in DOCUMENT_NAMES:
        raise Refused(404, "unknown_document", name)
    _check_canonical(body)  # refuse what cannot be signed before storing it
    with central.engine.begin() as conn:
        last = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(documents.c.version), 0)).where(
                documents.c.name == name
            )
        ).scalar_one()
        version = int(last) + 1
        conn.execute(
            documents.insert().values(
                name=name,
                version=version,
                payload=json.dumps(body, ensure_ascii=False),
                published_ms=central.now_ms(),
            )
        )
    return version


def signed_document(central: Central, name: str) -> SignedDocument:
    """The latest version of a document, signed."""
    if name not in DOCUMENT_NAMES:
        raise Refused(404, "unknown_document", name)
    with central.engine.connect() as conn:
        row = conn.execute(
            sa.select(documents.c.version, documents.c.payload)
            .where(documents.c.name == name)
            .order_by(documents.c.version.desc())
            .limit(1)
        ).first()
    if row is None:
        raise Refused(404, "not_published", name)
    return signed(central, name, int(row.version), {"body": json.loads(row.payload)})


def signed_hotlist(central: Central, since: int) -> SignedDocument:
    body = hotlist(central, since)
    return signed(central, "hotlist", int(body["version"]), body)


def signed_time(central: Central, nonce: str) -> SignedDocument:
    """The central's clock, bound to the terminal's nonce (no replayed time)."""
    now = central.now_ms()
    return signed(central, "time", now, {"now_ms": now, "nonce": nonce})


def signed_terminal_head(central: Central, terminal_id: str, nonce: str) -> SignedDocument:
    """The acknowledged head the central holds for a terminal, bound to its nonce:
    a kiosk whose outbox is behind it stops selling (docs/sync.md)."""
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
            "nonce": nonce}  # fmt: skip
    return signed(central, "terminal_head", int(row.acked_seq), body)
