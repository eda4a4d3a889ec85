"""The outbox's files on disk: creating one atomically, refusing a damaged one, and
the marker kept beside it.

An outbox holds money the cards already moved and the central has not seen yet, so
a file that is missing, empty or unreadable must stop sales, never be silently
replaced by a fresh, empty outbox numbered from 1 (docs/sync.md, "Outbox
recovery"). The rules:

- An outbox is created only where nothing of an outbox existed (no database file,
  no ``-wal`` or ``-shm`` beside it, no marker), and atomically: built under a
  temporary name, synced, then renamed into place, so the path holds either a
  complete outbox or nothing.
- The **marker** (``<outbox>.marker``) is written as soon as the outbox exists and
  carries the terminal id and the highest sequence the central acknowledged. It is
  written atomically too, with its own checksum. A marker that cannot be read
  still counts as a marker: damage to it never lets a lost outbox be recreated.
- A file that exists but is not an intact outbox (0 bytes, not SQLite, truncated,
  failing ``PRAGMA quick_check``, no outbox schema) raises :class:`OutboxUnusable`
  naming the file and what to do; nothing is written to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Marker",
    "OutboxError",
    "OutboxUnusable",
    "check_file",
    "existing_traces",
    "is_damage",
    "marker_path",
    "read_marker",
    "write_marker",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
RECOVERY = "see docs/sync.md, 'Outbox recovery'"


class OutboxError(Exception):
    """Misuse of the outbox (no such intent, an intent still open, wrong terminal)."""


class OutboxUnusable(OutboxError):
    """The outbox cannot be trusted: sales stop until a technician recovers it.

    ``code`` is the kiosk's out-of-service reason: ``outbox_missing`` (gone while
    its marker says it existed), ``outbox_damaged`` (exists, but is not an intact
    outbox) or ``outbox_behind`` (holds fewer records than it, or the central,
    knows were written).
    """

    def __init__(self, code: str, path: Path, problem: str) -> None:
        super().__init__(
            f"{code}: outbox {path}: {problem}. Sales are stopped; do not delete or "
            f"replace the file: keep it and the files beside it, and recover ({RECOVERY})."
        )
        self.code = code
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Marker:
    """What the marker says (``None`` fields: the marker exists but is unreadable)."""

    terminal_id: str | None
    acked_seq: int | None

    @property
    def readable(self) -> bool:
        return self.terminal_id is not None


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".marker")


def sidecars(path: Path) -> list[Path]:
    """SQLite's files beside the database (WAL mode)."""
    return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def existing_traces(path: Path) -> list[Path]:
    """Every file that shows an outbox once lived at ``path``."""
    return [p for p in (path, *sidecars(path), marker_path(path)) if p.exists()]


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_marker(path: Path, terminal_id: str, acked_seq: int) -> None:
    """Atomically (temporary file, fsync, rename, fsync the folder) record that the
    outbox at ``path`` exists, for whom, and how far the central acknowledged it."""
    body = {"terminal_id": terminal_id, "acked_seq": acked_seq, "v": 1}
    text = json.dumps(body, sort_keys=True)
    doc = {**body, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    mp = marker_path(path)
    tmp = mp.with_name(mp.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(json.dumps(doc, sort_keys=True).encode())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, mp)
    _fsync_dir(mp.parent)


def read_marker(path: Path) -> Marker | None:
    """The marker of the outbox at ``path``: ``None`` when there is none; a marker
    with ``None`` fields when it exists but is damaged (it still counts)."""
    mp = marker_path(path)
    try:
        raw = mp.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return Marker(None, None)
    try:
        doc = json.loads(raw)
        body = {k: doc[k] for k in ("terminal_id", "acked_seq", "v")}
        text = json.dumps(body, sort_keys=True)
        if doc["sha256"] != hashlib.sha256(text.encode()).hexdigest():
            return Marker(None, None)
        tid, acked = body["terminal_id"], body["acked_seq"]
        if not isinstance(tid, str) or not isinstance(acked, int) or acked < 0:
            return Marker(None, None)
        return Marker(tid, acked)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return Marker(None, None)


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite's error says the file is damaged (corrupt, not a database, an
    I/O error, its tables gone), not that it is busy or the disk is full."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    text = str(exc)
    return code in (10, 11, 26) or "no such table" in text or "malformed" in text


def check_file(path: Path) -> None:
    """Refuse (without writing to it) a file at ``path`` that is not an intact
    SQLite database with an outbox in it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise OutboxUnusable("outbox_damaged", path, f"cannot be read ({exc})") from exc
    if not head:
        raise OutboxUnusable("outbox_damaged", path, "is empty (0 bytes)")
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        raise OutboxUnusable("outbox_damaged", path, "is not an SQLite database")
    raw_page = int.from_bytes(head[16:18], "big")
    page = 65536 if raw_page == 1 else raw_page
    pages = int.from_bytes(head[28:32], "big")
    # The header's page count is valid only when its change counter matches
    # (SQLite file format, "in-header database size").
    size_valid = head[24:28] == head[92:96] and pages > 0
    wal = sidecars(path)[0]
    if size_valid and not wal.exists() and path.stat().st_size < page * pages:
        # The header counts more pages than the file holds, and no WAL can
        # supply them: the file was cut short.
        raise OutboxUnusable("outbox_damaged", path, "is truncated")
    try:
        # Read-only through SQLite itself, so a WAL beside the file is applied as
        # SQLite would apply it, and nothing is written to a damaged file.
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise OutboxUnusable("outbox_damaged", path, f"is unreadable ({exc})") from exc
    if verdict != [("ok",)]:
        detail = "; ".join(str(r[0]) for r in verdict[:3])
        raise OutboxUnusable("outbox_damaged", path, f"fails its integrity check ({detail})")
    if not {"outbox_meta", "outbox_records", "alembic_version"} <= tables:
        raise OutboxUnusable("outbox_damaged", path, "holds no outbox")
