"""The ledger's partitions on PostgreSQL: monthly, by the central's ingest time.

``ledger_txns`` (``created_ms``), ``ledger_entries`` (``created_ms``) and
``terminal_records`` (``received_ms``) are range-partitioned (PostgreSQL's native
declarative partitioning, migration 0017) by the time the central wrote the row,
never by the card's date (which a card reports). One partition per UTC month,
named ``<table>_pYYYYMM``; rows written before migration 0017 are in
``<table>_history``; ``<table>_default`` takes a row no month partition covers (it
should stay empty: :func:`ensure` moves what it finds there).

- :func:`ensure` creates the partitions of this month and the next ones ahead of
  time (at ``serve`` start, ``civicard central partitions``, and from the ingest
  path when the clock passes the horizon it made: :func:`ready`);
- :func:`archive` detaches the months before a given one and writes each to a
  file with the SHA-256 digest of its rows, signed with the archive key (ECDSA
  P-256); the months' per-account sums stay in ``archived_balances`` so the full
  audit still matches the shadow balances, which are the live balances and are
  not changed by archiving (detaching fires no row trigger);
- :func:`restore` checks the signature and the digest, then attaches the month
  back; a file that does not verify is refused (:class:`ArchiveError`).

The exactly-once keys stay in ``record_keys`` (unpartitioned) through all of
this: a record of an archived month replayed is still refused. SQLite keeps the
tables unpartitioned: :func:`ensure` does nothing there, archive and restore
refuse.
"""

from __future__ import annotations

import calendar
import datetime as dt
import gzip
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain

__all__ = [
    "AHEAD",
    "TABLES",
    "ArchiveError",
    "Partition",
    "archive",
    "ensure",
    "list_partitions",
    "month_start_ms",
    "ready",
    "restore",
]

# Partitioned table -> its partition key (the central's ingest time).
TABLES = {"ledger_txns": "created_ms", "ledger_entries": "created_ms",
          "terminal_records": "received_ms"}  # fmt: skip
AHEAD = 2  # months made ahead of the current one
# The append-only ledger tables: PostgreSQL clones a parent's row triggers onto its
# partitions but not its statement triggers, so each partition gets the parent's
# TRUNCATE refusal of its own (:func:`_guard`; migration 0019 for those before).
APPEND_ONLY = ("ledger_txns", "ledger_entries")
FORMAT = "civicard-ledger-archive/1"
_LOCK = 0x0C1C_0017  # pg_advisory_xact_lock key: one partition manager at a time


class ArchiveError(ValueError):
    """An archive that cannot be written or restored (the reason is the message)."""


def month_start_ms(year: int, month: int) -> int:
    """Unix ms of the first instant of a UTC month."""
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def _month_of(ms: int) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return d.year, d.month


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` -> (year, month); :class:`ArchiveError` for anything else."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if m is None or not 1 <= int(m[2]) <= 12:
        raise ArchiveError(f"not a month (YYYY-MM): {text!r}")
    return int(m[1]), int(m[2])


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    lower: int | None  # None: MINVALUE (the history) or the default partition
    upper: int | None
    default: bool = False

    @property
    def month(self) -> str:
        """``YYYY-MM`` of a month partition, ``history``, or ``default``."""
        if self.default:
            return "default"
        if self.lower is None:
            return "history"
        y, m = _month_of(self.lower)
        return f"{y:04d}-{m:02d}"


_BOUND = re.compile(r"FOR VALUES FROM \((MINVALUE|'?-?\d+'?)\) TO \((MAXVALUE|'?-?\d+'?)\)")


def list_partitions(conn: sa.Connection, table: str | None = None) -> list[Partition]:
    """The attached partitions of the partitioned tables (PostgreSQL), in bound order."""
    rows = conn.exec_driver_sql(
        "SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid)"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)",
        ([table] if table else list(TABLES),),
    ).all()
    out = []
    for parent, name, bound in rows:
        if bound == "DEFAULT":
            out.append(Partition(parent, name, None, None, default=True))
            continue
        m = _BOUND.search(bound)
        if m is None:  # not one this module made
            continue
        lo, hi = (None if v in ("MINVALUE", "MAXVALUE") else int(v.strip("'")) for v in m.groups())
        out.append(Partition(parent, name, lo, hi))
    out.sort(key=lambda p: (p.table, p.default, -(2**63) if p.lower is None else p.lower))
    return out


def _partitioned(conn: sa.Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql(
        "SELECT relkind FROM pg_class WHERE relname = 'ledger_entries'"
        " AND relnamespace = current_schema()::regnamespace"
    ).scalar()
    return kind == "p"


def _guard(conn: sa.Connection, table: str, partition: str) -> None:
    """A partition of an append-only table refuses TRUNCATE, as its parent does
    (names from this module's own tables and integers, never from input)."""
    if table in APPEND_ONLY:
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {partition}"
            " FOR EACH STATEMENT EXECUTE FUNCTION civicard_append_only()"
        )


def _create_month(conn: sa.Connection, table: str, y: int, m: int) -> str:
    name = f"{table}_p{y:04d}{m:02d}"
    lo, hi = month_start_ms(y, m), month_start_ms(*_next(y, m))
    # Names and bounds are made here from integers, never from input.
    conn.exec_driver_sql(
        f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({lo}) TO ({hi})"
    )
    _guard(conn, table, name)
    return name


def ensure(conn: sa.Connection, now_ms: int, ahead: int = AHEAD,
           since: tuple[int, int] | None = None) -> list[str]:  # fmt: skip
    """Create the month partitions from ``since`` (default: the month of ``now_ms``)
    to ``ahead`` months after it, where no partition covers them yet; rows found in a
    default partition are moved to their month's. Returns the names created.
    Nothing on SQLite (or a database before migration 0017)."""
    if not _partitioned(conn):
        return []
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
    ny, nm = _month_of(now_ms)
    months = [since or (ny, nm)]
    end = _add(ny, nm, ahead)
    while months[-1] < end:
        months.append(_next(*months[-1]))
    made: list[str] = []
    moving: list[tuple[str, str]] = []
    for table, key in TABLES.items():
        parts = list_partitions(conn, table)
        default = next((p for p in parts if p.default), None)
        for y, m in months:
            lo, hi = month_start_ms(y, m), month_start_ms(*_next(y, m))
            if any(_overlaps(p, lo, hi) for p in parts if not p.default):
                continue
            if (
                default is not None
                and conn.exec_driver_sql(
                    f"SELECT 1 FROM {default.name} WHERE {key} >= {lo} AND {key} < {hi} LIMIT 1"  # noqa: S608
                ).first()
            ):
                moving.append(_move_out_of_default(conn, table, default.name))
            made.append(_create_month(conn, table, y, m))
            parts.append(Partition(table, made[-1], lo, hi))
    _move_default_rows(conn, moving)
    return made


def _add(y: int, m: int, n: int) -> tuple[int, int]:
    for _ in range(n):
        y, m = _next(y, m)
    return y, m


def _overlaps(p: Partition, lo: int, hi: int) -> bool:
    plo = -(2**63) if p.lower is None else p.lower
    phi = 2**63 if p.upper is None else p.upper
    return plo < hi and lo < phi


def _move_out_of_default(conn: sa.Connection, table: str, default: str) -> tuple[str, str]:
    """Detach the default partition holding rows of a month about to get its own
    (PostgreSQL refuses the new partition otherwise) and put a fresh, empty default
    in its place; its rows are re-inserted once the month partitions exist."""
    old = f"{default}_moving"
    conn.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {default}")
    conn.exec_driver_sql(f"ALTER TABLE {default} RENAME TO {old}")
    conn.exec_driver_sql(f"CREATE TABLE {default} PARTITION OF {table} DEFAULT")
    _guard(conn, table, default)
    return table, old


def _move_default_rows(conn: sa.Connection, moving: list[tuple[str, str]]) -> None:
    # Detached, the old default lost the append-only triggers cloned from the
    # parent; its rows go back through the parent (to their month) and it is dropped.
    # Row triggers on INSERT: none (the shadow balances are kept by post_legs, and
    # these rows were counted when first written).
    for table, old in moving:
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608
        conn.exec_driver_sql(f"DROP TABLE {old}")


def ready(central: Any, now_ms: int) -> None:
    """Called before a write transaction: when the clock reached the horizon of the
    partitions this process made, make the next ones (its own transaction, so no
    batch waits on the lock while holding rows). One comparison otherwise."""
    if now_ms < central.partitions_until_ms:
        return
    if central.engine.dialect.name == "postgresql":  # SQLite: one table each, nothing to make
        with central.engine.begin() as conn:
            ensure(conn, now_ms)
    y, m = _next(*_month_of(now_ms))  # the next month exists now: re-check then
    central.partitions_until_ms = month_start_ms(y, m)


# -- archive and restore -------------------------------------------------------------


def _sign_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        return chain.load_private_key(pem)
    except (ValueError, TypeError) as exc:
        raise ArchiveError("the archive key is not an ECDSA P-256 private key (PEM)") from exc


def _verify_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        if b"PRIVATE KEY" in pem:
            return chain.load_private_key(pem).public_key()
        return chain.load_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ArchiveError("the archive key is not an ECDSA P-256 key (PEM)") from exc


def _columns(conn: sa.Connection, table: str) -> list[str]:
    return list(conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum", (table,),
    ).scalars())  # fmt: skip


def _order(table: str) -> str:
    return "terminal_id, seq" if table == "terminal_records" else "id"


def _copy_out(conn: sa.Connection, sql: str) -> bytes:
    raw: Any = conn.connection.dbapi_connection
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for block in copy:
            buf.write(block)
    return buf.getvalue()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return chain.canonical({k: v for k, v in manifest.items() if k != "signature"})


def archive(conn: sa.Connection, before: str, key_pem: bytes, out_dir: Path,
            now_ms: int) -> list[Path]:  # fmt: skip
    """Detach every month (and the history) that ends at or before the start of
    ``before`` (``YYYY-MM``, not after the current month) and write each to
    ``out_dir/ledger-<month>.archive``; returns the files. The rows leave the
    database; the keys, the shadow balances and the months' per-account sums stay."""
    if not _partitioned(conn):
        raise ArchiveError("archiving needs the partitioned ledger (PostgreSQL, migration 0017)")
    key = _sign_key(key_pem)
    y, m = parse_month(before)
    cut = month_start_ms(y, m)
    if cut > month_start_ms(*_month_of(now_ms)):
        raise ArchiveError(f"{before} is after the current month: only past months are archived")
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
    by_month: dict[str, dict[str, Partition]] = {}
    for p in list_partitions(conn):
        if not p.default and p.upper is not None and p.upper <= cut:
            by_month.setdefault(p.month, {})[p.table] = p
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for month, parts in sorted(by_month.items()):
        if set(parts) != set(TABLES):
            raise ArchiveError(f"{month}: partitions {sorted(parts)} only; expected all three")
        path = out_dir / f"ledger-{month}.archive"
        if path.exists():
            raise ArchiveError(f"{path} exists: not overwritten")
        manifest: dict[str, Any] = {"format": FORMAT, "month": month, "tables": {}}
        blobs: list[bytes] = []
        digest = hashlib.sha256()
        total = 0
        for table in TABLES:
            p = parts[table]
            cols = _columns(conn, p.name)
            data = _copy_out(conn, f"COPY (SELECT {', '.join(cols)} FROM {p.name}"  # noqa: S608
                                   f" ORDER BY {_order(table)}) TO STDOUT")  # fmt: skip
            rows = data.count(b"\n")
            total += rows
            digest.update(f"{table}\0{len(data)}\0".encode() + data)
            manifest["tables"][table] = {
                "partition": p.name, "lower": p.lower, "upper": p.upper, "columns": cols,
                "rows": rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            }  # fmt: skip
            blobs.append(data)
        sums = conn.exec_driver_sql(
            f"SELECT account_id, SUM(amount), COUNT(*) FROM {parts['ledger_entries'].name}"  # noqa: S608
            " GROUP BY account_id ORDER BY account_id"
        ).all()
        manifest["balances"] = [[int(a), int(b), int(n)] for a, b, n in sums]
        manifest["digest"] = digest.hexdigest()
        manifest["signature"] = chain.sign(key, _manifest_bytes(manifest))
        # On disk before the rows leave the database (they do at this transaction's commit).
        with path.open("xb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as fh:
            fh.write(orjson.dumps(manifest) + b"\n")
            for blob in blobs:
                fh.write(blob)
            fh.close()
            raw.flush()
            os.fsync(raw.fileno())
        for table in TABLES:
            # Detaching fires no row trigger: the shadow balances keep these entries.
            conn.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {parts[table].name}")
            conn.exec_driver_sql(f"DROP TABLE {parts[table].name}")
        conn.exec_driver_sql(
            "INSERT INTO ledger_archives (month, digest, rows, archived_ms) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (month) DO UPDATE SET digest = EXCLUDED.digest, rows = EXCLUDED.rows,"
            " archived_ms = EXCLUDED.archived_ms, restored_ms = NULL",
            (month, manifest["digest"], total, now_ms),
        )
        conn.exec_driver_sql("DELETE FROM archived_balances WHERE month = %s", (month,))
        if sums:
            conn.exec_driver_sql(
                "INSERT INTO archived_balances (month, account_id, balance, entries)"
                " SELECT %s, a, b, n FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])"
                " AS u(a, b, n)",
                (month, [r[0] for r in manifest["balances"]],
                 [r[1] for r in manifest["balances"]], [r[2] for r in manifest["balances"]]),
            )  # fmt: skip
        files.append(path)
    return files


def read_archive(path: Path, key_pem: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The archive's manifest and each table's rows (COPY text), after checking the
    signature over the manifest and every table's digest; :class:`ArchiveError`
    (tampered, truncated, not an archive, another key) otherwise."""
    public = _verify_key(key_pem)
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.readline()
            body = fh.read()
        manifest = orjson.loads(head)
    except (OSError, EOFError, orjson.JSONDecodeError) as exc:
        raise ArchiveError(f"{path}: not a readable ledger archive ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path}: not a {FORMAT} file")
    if not chain.verify(public, _manifest_bytes(manifest), str(manifest.get("signature", ""))):
        raise ArchiveError(f"{path}: the signature does not verify (tampered, or another key)")
    blobs: dict[str, bytes] = {}
    digest = hashlib.sha256()
    at = 0
    for table in TABLES:
        t = manifest["tables"][table]
        data = body[at : at + t["bytes"]]
        at += t["bytes"]
        digest.update(f"{table}\0{len(data)}\0".encode() + data)
        if hashlib.sha256(data).hexdigest() != t["sha256"] or data.count(b"\n") != t["rows"]:
            raise ArchiveError(f"{path}: the rows of {table} do not match the signed digest"
                               " (tampered)")  # fmt: skip
        blobs[table] = data
    if at != len(body) or digest.hexdigest() != manifest["digest"]:
        raise ArchiveError(f"{path}: the rows do not match the signed digest (tampered)")
    return manifest, blobs


def restore(conn: sa.Connection, path: Path, key_pem: bytes, now_ms: int) -> str:
    """Check an archive (:func:`read_archive`) and attach its month back; returns the
    month. The shadow balances are not touched (they never lost the month)."""
    if not _partitioned(conn):
        raise ArchiveError("restoring needs the partitioned ledger (PostgreSQL, migration 0017)")
    manifest, blobs = read_archive(path, key_pem)
    month = str(manifest["month"])
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
    state = conn.exec_driver_sql(
        "SELECT digest, restored_ms FROM ledger_archives WHERE month = %s", (month,)
    ).first()
    if state is None or state[1] is not None:
        raise ArchiveError(f"{month} is not archived from this database (or already restored)")
    if state[0] != manifest["digest"]:
        raise ArchiveError(f"{path}: its digest is not the one recorded when {month} was archived")
    raw: Any = conn.connection.dbapi_connection
    for table in TABLES:
        t = manifest["tables"][table]
        name = str(t["partition"])
        if not re.fullmatch(rf"{table}_(p\d{{6}}|history)", name):
            raise ArchiveError(f"{path}: unexpected partition name {name!r}")
        lo = "MINVALUE" if t["lower"] is None else str(int(t["lower"]))
        hi = str(int(t["upper"]))
        cols = [c for c in t["columns"] if re.fullmatch(r"[a-z_]+", c)]
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
        with raw.cursor() as cur, cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as cp:
            cp.write(blobs[table])
        # Attaching fires no row trigger either; it builds the parent's indexes and
        # clones its (append-only) triggers onto the month again.
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"
        )
        _guard(conn, table, name)
    conn.exec_driver_sql("DELETE FROM archived_balances WHERE month = %s", (month,))
    conn.exec_driver_sql(
        "UPDATE ledger_archives SET restored_ms = %s WHERE month = %s", (now_ms, month)
    )
    return month
