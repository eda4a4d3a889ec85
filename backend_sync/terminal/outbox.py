"""The kiosk's durable outbox (SQLite through SQLAlchemy 2).

A purchase's life in the outbox (docs/sync.md, "Outbox"):

1. after the PSAM's MAC1, before DEBIT: :meth:`Outbox.begin_purchase` writes the
   intent (ATC, TTC, date, time, amount, ...) with the next sequence number;
2. after DEBIT: :meth:`Outbox.complete` turns it into a purchase record (TAC,
   MAC2, balance after), hash-chained onto the previous record, in the one
   database transaction that closes the intent;
3. a torn intent is closed by :func:`backend_sync.terminal.settle.settle_unfinished`
   as completed, ``aborted`` (the card proved it did not debit) or ``unsettled``;
4. the agent uploads closed records in order; :meth:`acknowledge` then
   :meth:`prune` drop only what the central acknowledged.

The database runs in WAL mode with ``synchronous=FULL`` (a closed record is on the
disk when ``complete`` returns) and every write transaction is BEGIN IMMEDIATE,
since the kiosk thread and the agent thread both write. Sales stop, with
:class:`SalesStopped`, while free disk space is below the reserve: a record that
was begun can always be closed. Purchases also stop (``unsent_too_old``) once the
oldest record not yet acknowledged by the central is older than
``max_unsent_age_s``: the central can then bound how late an offline debit may
arrive (docs/sync.md, "The oldest unsent record").

The file is never created over anything that was there, a damaged one raises
:class:`OutboxUnusable`, and an outbox found behind what its marker or the
central know was written stops sales for good, until recovery
(:mod:`backend_sync.terminal.outbox_files`, docs/sync.md "Outbox recovery").
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType, ParamSpec, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from backend_sync import chain
from backend_sync.engine import make_engine
from backend_sync.terminal import outbox_files as files
from backend_sync.terminal.outbox_files import OutboxError, OutboxUnusable
from backend_sync.terminal.tables import outbox_meta, outbox_records
from backend_sync.wire import (
    AbortedRecord,
    LoadRecord,
    ProofRecord,
    PurchaseRecord,
    UnsettledRecord,
    record_dict,
)

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "CentralBehind",
    "Intent",
    "IntentId",
    "Outbox",
    "OutboxError",
    "OutboxStatus",
    "OutboxUnusable",
    "PendingRecord",
    "SalesStopped",
]

IntentId = NewType("IntentId", int)
DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024
_MIGRATIONS = str(Path(__file__).with_name("migrations"))
SCHEMA_HEAD = "k0002"  # the newest outbox migration (a test holds it to Alembic's head)


log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class SalesStopped(OutboxError):
    """No new intent: too little disk left to be sure the record can be kept, or the
    outbox is behind what was written (``reason``)."""

    def __init__(self, message: str, reason: str = "sales_stopped") -> None:
        super().__init__(message)
        self.reason = reason


class CentralBehind(OutboxError):
    """The central's acknowledged head went back past records this outbox no
    longer holds (pruned after their retention window): they cannot be sent again.
    Sales may go on (the outbox is intact); the central's operators restore them."""


def _guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """SQLite's word for a file that went bad under us becomes :class:`OutboxUnusable`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except sa.exc.DatabaseError as exc:
            if not isinstance(exc.orig, sqlite3.Error) or not files.is_damage(exc.orig):
                raise  # busy, disk full, a bug: not a damaged file
            ob = args[0]
            assert isinstance(ob, Outbox)
            raise OutboxUnusable("outbox_damaged", ob.path, f"is unreadable ({exc.orig})") from exc

    return wrapper


@dataclass(frozen=True)
class Intent:
    """An open intent: what was known before the card was asked to move money."""

    id: IntentId
    kind: str  # "purchase" | "load"
    fields: dict[str, Any]

    @property
    def asn(self) -> str:
        return str(self.fields["asn"])


@dataclass(frozen=True)
class PendingRecord:
    seq: int
    body: str  # canonical JSON of the record, as hashed
    hash: str


@dataclass(frozen=True)
class OutboxStatus:
    terminal_id: str
    head_seq: int
    acked_seq: int
    unacked: int
    open_intents: int
    free_bytes: int
    sales_allowed: bool
    stop_reason: str | None = None  # disk_full, outbox_behind, unsent_too_old (None: selling)
    oldest_unsent_ms: int | None = None  # when the oldest unacknowledged record was written


def _revision(conn: sa.Connection) -> str | None:
    try:
        rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.OperationalError:  # a new file: no table yet
        return None
    return str(rev) if rev is not None else None


def _migrate(conn: sa.Connection) -> None:
    # Alembic is imported only when there is something to do: a kiosk restarting
    # after a power cut should be selling again as soon as possible.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _create_file(path: Path, terminal_id: str, head_seq: int, head_hash: str) -> None:
    """Build an outbox under a temporary name, sync it, rename it into place, then
    write its marker: ``path`` holds a complete outbox or nothing."""
    tmp = path.with_name(path.name + ".creating")
    for p in (tmp, *files.sidecars(tmp)):
        p.unlink(missing_ok=True)  # a torn creation: it never held a record
    engine = make_engine(sa.URL.create("sqlite", database=str(tmp)))
    try:
        with engine.begin() as conn:
            _migrate(conn)
            conn.execute(
                outbox_meta.insert(),
                [
                    {"key": "terminal_id", "value": terminal_id},
                    {"key": "head_seq", "value": str(head_seq)},
                    {"key": "head_hash", "value": head_hash},
                    {"key": "acked_seq", "value": str(head_seq)},
                    {"key": "acked_hash", "value": head_hash},
                ],
            )
    finally:
        engine.dispose()
    # Out of WAL mode before the rename, so the file alone holds everything (a WAL
    # left under the temporary name would be lost); opening turns WAL back on.
    raw = sqlite3.connect(tmp)
    try:
        raw.execute("PRAGMA journal_mode=DELETE")
    finally:
        raw.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    files.write_marker(path, terminal_id, head_seq)  # also syncs the folder


class Outbox:
    """Durable, hash-chained, numbered records of one terminal."""

    def __init__(
        self,
        path: Path,
        terminal_id: str,
        *,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        free_bytes: Callable[[], int] | None = None,
        max_unsent_age_s: int | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Open (migrating) the outbox at ``path`` for the PSAM's terminal id (12 hex
        digits), or create it when no trace of an outbox is there.

        Raises :class:`OutboxUnusable` (code ``outbox_missing``, ``outbox_damaged``
        or ``outbox_behind``) for a file that cannot be trusted, and
        :class:`OutboxError` for a file made for another terminal.
        ``max_unsent_age_s``: purchases stop once the oldest unacknowledged record is
        older (None: no such limit); ``clock`` (Unix seconds) measures that age."""
        self.path = Path(path)
        self.terminal_id = terminal_id.upper()
        if len(bytes.fromhex(self.terminal_id)) != 6:
            raise ValueError("terminal id is 6 bytes")
        self.reserve_bytes = reserve_bytes
        self.max_unsent_age_s = max_unsent_age_s
        self._clock = clock or time.time
        self._free = free_bytes or (lambda: shutil.disk_usage(self.path.parent).free)
        marker = files.read_marker(self.path)
        if not self.path.exists():
            traces = files.existing_traces(self.path)
            if traces:
                names = ", ".join(t.name for t in traces)
                raise OutboxUnusable(
                    "outbox_missing", self.path, f"is gone, but {names} beside it remain"
                )
            genesis = chain.genesis_hash(bytes.fromhex(self.terminal_id)).hex().upper()
            _create_file(self.path, self.terminal_id, 0, genesis)
            marker = files.read_marker(self.path)
        else:
            files.check_file(self.path)
        self.engine = make_engine(sa.URL.create("sqlite", database=str(self.path)))
        try:
            self._open(marker)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def continue_from(
        cls, path: Path, terminal_id: str, *, acked_seq: int, head_hash: str, **kw: Any
    ) -> Outbox:
        """Recovery: a new outbox at ``path`` (where nothing may remain: the old
        files were moved aside) whose chain continues from the central's
        acknowledged head, so numbering and hashes go on where the central is."""
        path = Path(path)
        if files.existing_traces(path):
            raise OutboxError(f"{path}: move the old outbox files aside first")
        tid = terminal_id.upper()
        if len(bytes.fromhex(head_hash)) != 32 or acked_seq < 0:
            raise ValueError("head hash is 32 bytes, acked seq >= 0")
        _create_file(path, tid, acked_seq, head_hash.upper())
        return cls(path, tid, **kw)

    @_guarded
    def _open(self, marker: files.Marker | None) -> None:
        with self.engine.begin() as conn:
            if _revision(conn) != SCHEMA_HEAD:
                _migrate(conn)
            meta = self._meta(conn)
        need = {"terminal_id", "head_seq", "head_hash", "acked_seq", "acked_hash"}
        if not need <= meta.keys():
            raise OutboxUnusable("outbox_damaged", self.path, "its chain head is missing")
        if meta["terminal_id"] != self.terminal_id:
            raise OutboxError(
                f"{self.path} belongs to terminal {meta['terminal_id']}, not {self.terminal_id}"
            )
        try:
            head, acked = int(meta["head_seq"]), int(meta["acked_seq"])
            bytes.fromhex(meta["head_hash"])
        except ValueError as exc:
            raise OutboxUnusable("outbox_damaged", self.path, "its chain head is garbled") from exc
        if marker is not None and marker.readable:
            if marker.terminal_id != self.terminal_id:
                raise OutboxUnusable(
                    "outbox_damaged", self.path, f"its marker names terminal {marker.terminal_id}"
                )
            if marker.acked_seq is not None and marker.acked_seq > head:
                # An older copy put back (a restored backup): the records after
                # its head were written and may not have reached the central.
                raise OutboxUnusable(
                    "outbox_behind", self.path,
                    f"holds records up to {head}, but {marker.acked_seq} were acknowledged",
                )  # fmt: skip
        if marker is None or not marker.readable or (marker.acked_seq or 0) < acked:
            if marker is not None and not marker.readable:
                log.warning("outbox marker of %s was damaged; rewritten from the outbox", self.path)
            files.write_marker(self.path, self.terminal_id, acked)

    def close(self) -> None:
        self.engine.dispose()

    # -- internals ------------------------------------------------------------------

    @staticmethod
    def _meta(conn: sa.Connection) -> dict[str, str]:
        return dict(conn.execute(sa.select(outbox_meta.c.key, outbox_meta.c.value)).all())

    @staticmethod
    def _set(conn: sa.Connection, **values: object) -> None:
        conn.execute(
            outbox_meta.update().where(outbox_meta.c.key == sa.bindparam("k")),
            [{"k": k, "value": str(v)} for k, v in values.items()],
        )

    @_guarded
    def _open_intent(self, kind: str, fields: dict[str, Any]) -> IntentId:
        if self._free() < self.reserve_bytes:
            raise SalesStopped(
                "disk nearly full: sales stop until records are uploaded", "disk_full"
            )
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            if "stopped" in meta:
                raise SalesStopped(meta["stopped"], "outbox_behind")
            if kind == "purchase" and self._unsent_too_old(conn, meta):
                raise SalesStopped(
                    "records unsent for too long: purchases stop until they are uploaded",
                    "unsent_too_old",
                )
            if conn.execute(
                sa.select(outbox_records.c.seq).where(outbox_records.c.state == "open")
            ).first():
                raise OutboxError("an intent is still open: settle it first")
            seq = int(meta["head_seq"]) + 1
            conn.execute(
                outbox_records.insert().values(
                    seq=seq,
                    state="open",
                    kind=kind,
                    intent=json.dumps(fields, sort_keys=True),
                    created_ms=int(self._clock() * 1000),
                )
            )
        return IntentId(seq)

    @_guarded
    def _close(
        self, intent_id: IntentId | None, record: BaseModel, *, proves: int | None = None
    ) -> int:
        """Chain ``record`` on the head and (when given) close the intent, atomically."""
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            seq = int(meta["head_seq"]) + 1
            if intent_id is not None:
                row = conn.execute(
                    sa.select(outbox_records.c.state).where(outbox_records.c.seq == intent_id)
                ).first()
                if row is None or row.state != "open":
                    raise OutboxError(f"intent {intent_id} is not open")
                if intent_id != seq:
                    raise OutboxError("intent is not next in the chain")  # cannot happen
            body = record_dict(record)
            if body["seq"] != seq:
                raise OutboxError("record carries the wrong sequence number")
            h = chain.link(bytes.fromhex(meta["head_hash"]), body).hex().upper()
            values = {
                "state": "closed",
                "kind": body["kind"],
                "body": chain.canonical(body).decode(),
                "hash": h,
                "closed_ms": int(self._clock() * 1000),
            }
            if intent_id is not None:
                conn.execute(
                    outbox_records.update().where(outbox_records.c.seq == seq).values(**values)
                )
            else:
                conn.execute(
                    outbox_records.insert().values(
                        seq=seq, intent="{}", created_ms=values["closed_ms"], **values
                    )
                )
            if proves is not None:
                conn.execute(
                    outbox_records.update()
                    .where(outbox_records.c.seq == proves, outbox_records.c.kind == "unsettled")
                    .values(proved_by=seq)
                )
            self._set(conn, head_seq=seq, head_hash=h)
        return seq

    @_guarded
    def _intent(self, intent_id: IntentId) -> Intent:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(outbox_records).where(outbox_records.c.seq == intent_id)
            ).first()
        if row is None or row.state != "open":
            raise OutboxError(f"intent {intent_id} is not open")
        return Intent(IntentId(row.seq), row.kind, json.loads(row.intent))

    # -- the kiosk's API --------------------------------------------------------------

    def begin_purchase(
        self,
        *,
        asn: str,
        amount: int,
        atc: int,
        ttc: int,
        date: str,
        time: str,
        key_version: int,
        algorithm: int,
        balance_before: int,
        payee: str,
        order_id: str | None = None,
        hotlist_version: int | None = None,
        ttype: int | None = None,
        catalog_version: int | None = None,
        service_id: str | None = None,
    ) -> IntentId:
        """Write a purchase intent (after the PSAM's MAC1, before DEBIT).

        ``asn`` is 20 hex digits, ``date``/``time`` the BCD digits sent to the card;
        ``ttype`` 9 for a composite (transit) purchase, else omitted (06).
        ``catalog_version`` and ``service_id`` name the catalog item sold, from which
        the central derives the payee of a sale without an order.
        Raises :class:`SalesStopped` when the disk is nearly full."""
        fields = {
            "asn": asn.upper(), "amount": amount, "atc": atc, "ttc": ttc, "date": date,
            "time": time, "key_version": key_version, "algorithm": algorithm,
            "balance_before": balance_before, "payee": payee, "order_id": order_id,
            "hotlist_version": hotlist_version, "catalog_version": catalog_version,
            "service_id": service_id,
        }  # fmt: skip
        if ttype is not None:
            fields["ttype"] = ttype
        return self._open_intent("purchase", fields)

    def begin_load(
        self,
        *,
        asn: str,
        amount: int,
        atc: int,
        date: str,
        time: str,
        key_version: int,
        algorithm: int,
        balance_before: int,
        load_id: str,
    ) -> IntentId:
        """Write a load intent (after the central's MAC2, before CREDIT FOR LOAD)."""
        fields = {
            "asn": asn.upper(), "amount": amount, "atc": atc, "date": date, "time": time,
            "key_version": key_version, "algorithm": algorithm,
            "balance_before": balance_before, "load_id": load_id,
        }  # fmt: skip
        return self._open_intent("load", fields)

    def complete(
        self, intent_id: IntentId, *, tac: str, mac2: str | None = None, balance_after: int
    ) -> int:
        """Close the intent as a completed purchase or load with the card's answer;
        returns the record's sequence number."""
        it = self._intent(intent_id)
        f = {k: v for k, v in it.fields.items() if v is not None}
        common = {"seq": int(intent_id), "terminal_id": self.terminal_id, "tac": tac.upper(),
                  "balance_after": balance_after}  # fmt: skip
        record: BaseModel
        if it.kind == "purchase":
            if mac2 is None:
                raise OutboxError("a purchase record needs the card's MAC2")
            record = PurchaseRecord.model_validate({**f, **common, "mac2": mac2.upper()})
        else:
            record = LoadRecord.model_validate({**f, **common})
        return self._close(intent_id, record)

    def _close_as(self, intent_id: IntentId, cls: type[BaseModel], reason: str) -> int:
        it = self._intent(intent_id)
        f = {k: v for k, v in it.fields.items() if v is not None}
        f.pop("hotlist_version", None)
        if cls is AbortedRecord:
            for name in ("payee", "catalog_version", "service_id"):
                f.pop(name, None)
        ttype = f.pop("ttype", 6) if it.kind == "purchase" else 2
        record = cls.model_validate(
            {**f, "seq": int(intent_id), "terminal_id": self.terminal_id, "ttype": ttype,
             "reason": reason[:200]}
        )  # fmt: skip
        return self._close(intent_id, record)

    def abort(self, intent_id: IntentId, reason: str) -> int:
        """Close an intent the card proved it never executed (its ATC did not move)."""
        return self._close_as(intent_id, AbortedRecord, reason)

    def leave_unsettled(self, intent_id: IntentId, reason: str) -> int:
        """Close an intent whose outcome is unknown, for the central to resolve."""
        return self._close_as(intent_id, UnsettledRecord, reason)

    @_guarded
    def add_proof(
        self, ref_seq: int, *, asn: str, tac: str, mac2: str, balance_after: int | None = None
    ) -> int:
        """Append the card's proof (GET TRANSACTION PROVE) of an unsettled record.
        Not while an intent is open: that intent owns the next sequence number."""
        if self.unfinished():
            raise OutboxError("an intent is open: close it before adding a proof")
        with self.engine.connect() as conn:
            seq = int(self._meta(conn)["head_seq"]) + 1
        fields = {"seq": seq, "terminal_id": self.terminal_id, "ref_seq": ref_seq,
                  "asn": asn.upper(), "tac": tac.upper(), "mac2": mac2.upper(),
                  "balance_after": balance_after}  # fmt: skip
        record = ProofRecord.model_validate({k: v for k, v in fields.items() if v is not None})
        return self._close(None, record, proves=ref_seq)

    @_guarded
    def append(self, make: Callable[[int], BaseModel]) -> int:
        """Append a record that needs no intent (a feedback submission): ``make``
        builds it for the next sequence number. Not while an intent is open."""
        if self._free() < self.reserve_bytes:
            raise SalesStopped("disk nearly full: records stop until uploads free space")
        if self.unfinished():
            raise OutboxError("an intent is open: close it before appending")
        with self.engine.connect() as conn:
            seq = int(self._meta(conn)["head_seq"]) + 1
        return self._close(None, make(seq))

    @_guarded
    def unfinished(self) -> list[Intent]:
        """Intents begun and never closed (a crash or a pulled card): settle these
        before the next sale."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox_records)
                .where(outbox_records.c.state == "open")
                .order_by(outbox_records.c.seq)
            ).all()
        return [Intent(IntentId(r.seq), r.kind, json.loads(r.intent)) for r in rows]

    @_guarded
    def unsettled(self, asn: str | None = None) -> list[dict[str, Any]]:
        """Closed ``unsettled`` records no proof cites yet (kept through pruning),
        to re-prove when their card comes back."""
        q = (
            sa.select(outbox_records.c.body)
            .where(outbox_records.c.kind == "unsettled", outbox_records.c.proved_by.is_(None))
            .order_by(outbox_records.c.seq)
        )
        with self.engine.connect() as conn:
            bodies = [json.loads(b) for b in conn.execute(q).scalars()]
        return [b for b in bodies if asn is None or b["asn"] == asn.upper()]

    def card_offline_spend(self, asn: str) -> int:
        """Fen this card may have spent here that the central has not confirmed: its
        purchases not yet acknowledged, its purchase intents still open, and its
        purchases left unsettled (debited but unproven) until a proof cites them. The
        kiosk's offline limit counts this, so a torn debit cannot be repeated offline."""
        asn = asn.upper()
        rec = outbox_records.c
        with self.engine.connect() as conn:
            acked = int(self._meta(conn)["acked_seq"])
            rows = conn.execute(
                sa.select(rec.state, rec.kind, rec.body, rec.intent).where(
                    sa.or_(
                        sa.and_(rec.state == "open", rec.kind == "purchase"),
                        sa.and_(rec.state == "closed", rec.kind == "purchase", rec.seq > acked),
                        sa.and_(rec.kind == "unsettled", rec.proved_by.is_(None)),
                    )
                )
            ).all()
        total = 0
        for r in rows:
            data = json.loads(r.intent if r.state == "open" else r.body)
            if data.get("asn") == asn and (r.kind != "unsettled" or data.get("ttype") == 6):
                total += int(data["amount"])
        return total

    # -- the agent's API --------------------------------------------------------------

    @_guarded
    def pending(self, limit: int = 500) -> tuple[str, list[PendingRecord]]:
        """(hash before the first, closed records after the last ack), in order."""
        with self.engine.connect() as conn:
            meta = self._meta(conn)
            rows = conn.execute(
                sa.select(outbox_records.c.seq, outbox_records.c.body, outbox_records.c.hash)
                .where(
                    outbox_records.c.seq > int(meta["acked_seq"]),
                    outbox_records.c.state == "closed",
                )
                .order_by(outbox_records.c.seq)
                .limit(limit)
            ).all()
        return meta["acked_hash"], [PendingRecord(r.seq, r.body, r.hash) for r in rows]

    @_guarded
    def closed_after(self, after: int, limit: int = 500) -> list[PendingRecord]:
        """Closed records after seq ``after``, in order: the agent's next batch when
        it sends one ahead of the acknowledgement (:meth:`pending` starts at the ack)."""
        with self.engine.connect() as conn:
            # At the driver: a catch-up reads 100,000 rows this way, and SQLAlchemy's
            # Row objects cost more than the read itself.
            rows = conn.exec_driver_sql(
                "SELECT seq, body, hash FROM outbox_records WHERE seq > ? AND state = 'closed'"
                " ORDER BY seq LIMIT ?",
                (after, limit),
            ).cursor.fetchall()
            return [PendingRecord(*r) for r in rows]

    @_guarded
    def acked_head(self) -> tuple[int, str]:
        """(acknowledged seq, its hash): where the next upload starts."""
        with self.engine.connect() as conn:
            meta = self._meta(conn)
        return int(meta["acked_seq"]), meta["acked_hash"]

    @_guarded
    def acked_seq(self) -> int:
        """The highest seq the central acknowledged (one row read; :meth:`status`
        counts the records too, which costs a scan of the outbox)."""
        with self.engine.connect() as conn:
            return int(self._meta(conn)["acked_seq"])

    @_guarded
    def acknowledge(self, acked_seq: int) -> None:
        """The central holds every record up to ``acked_seq``. An ack beyond our
        head means records were written that this outbox no longer holds: sales
        stop (:class:`OutboxUnusable`, ``outbox_behind``)."""
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            if acked_seq <= int(meta["acked_seq"]):
                return
            if acked_seq > int(meta["head_seq"]):
                problem = f"holds records up to {meta['head_seq']}, the central {acked_seq}"
                self._stop(conn, meta, problem)
            else:
                h = conn.execute(
                    sa.select(outbox_records.c.hash).where(outbox_records.c.seq == acked_seq)
                ).scalar_one()
                self._set(conn, acked_seq=acked_seq, acked_hash=h)
                problem = ""
        if problem:
            raise OutboxUnusable("outbox_behind", self.path, problem)
        files.write_marker(self.path, self.terminal_id, acked_seq)

    @_guarded
    def check_central_head(self, acked_seq: int, head_hash: str) -> None:
        """Compare with the central's acknowledged head for this terminal (its signed
        answer). A central ahead of this outbox, or holding another record at a seq
        we hold, means this is not the outbox that wrote those records: sales stop
        until recovery (:class:`OutboxUnusable`, ``outbox_behind``)."""
        head_hash = head_hash.upper()
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            problem = ""
            if acked_seq > int(meta["head_seq"]):
                problem = f"holds records up to {meta['head_seq']}, the central {acked_seq}"
            elif acked_seq > 0:
                mine = conn.execute(
                    sa.select(outbox_records.c.hash).where(
                        outbox_records.c.seq == acked_seq, outbox_records.c.state == "closed"
                    )
                ).scalar()
                if mine is None and acked_seq == int(meta["acked_seq"]):
                    mine = meta["acked_hash"]
                if mine is not None and mine != head_hash:
                    problem = f"record {acked_seq} differs from the one the central holds"
            if problem:
                self._stop(conn, meta, problem)
        if problem:
            raise OutboxUnusable("outbox_behind", self.path, problem)

    def _stop(self, conn: sa.Connection, meta: dict[str, str], problem: str) -> None:
        # Kept in the outbox itself: a restart (offline, too) does not sell again.
        if "stopped" not in meta:
            conn.execute(outbox_meta.insert().values(key="stopped", value=problem))

    @_guarded
    def rewind(self, acked_seq: int, head_hash: str | None = None) -> int:
        """The central's acknowledged head for this terminal went back to
        ``acked_seq`` (a failover to a database that lacked its last commits, a
        restore from backup): the records after it, kept for the retention window,
        become pending again and the agent re-sends them. Returns how many.

        ``head_hash``, when the central said it, must be our record's at that seq
        (another record there is :meth:`check_central_head`'s business). Raises
        :class:`CentralBehind` when a record to re-send is no longer held."""
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            mine = int(meta["acked_seq"])
            if acked_seq >= mine:
                return 0
            rec = outbox_records.c
            if acked_seq == 0:
                h: str | None = chain.genesis_hash(bytes.fromhex(self.terminal_id)).hex().upper()
            else:
                h = conn.execute(
                    sa.select(rec.hash).where(rec.seq == acked_seq, rec.state == "closed")
                ).scalar()
            held = conn.execute(
                sa.select(sa.func.count()).where(
                    rec.seq > acked_seq, rec.seq <= mine, rec.state == "closed"
                )
            ).scalar_one()
            if h is None or held != mine - acked_seq:
                raise CentralBehind(
                    f"the central holds up to {acked_seq}, this outbox was acknowledged up to "
                    f"{mine} and no longer holds all the records between (retention window)"
                )
            if head_hash is not None and head_hash.upper() != h:
                raise CentralBehind(f"the central's record {acked_seq} is not this outbox's")
            self._set(conn, acked_seq=acked_seq, acked_hash=h)
        log.warning("central acknowledged head went back %d -> %d: re-sending", mine, acked_seq)
        return mine - acked_seq

    @_guarded
    def prune(self, keep_ms: int = 0) -> int:
        """Delete acknowledged records (only those, and never an unsettled record
        still waiting for its card's proof); returns how many. Records closed in
        the last ``keep_ms`` are kept although acknowledged (the retention window),
        so they can be sent again if the central's head goes back (:meth:`rewind`)."""
        with self.engine.begin() as conn:
            acked = int(self._meta(conn)["acked_seq"])
            now_ms = int(self._clock() * 1000)
            kept = [outbox_records.c.closed_ms < now_ms - keep_ms] if keep_ms > 0 else []
            res = conn.execute(
                outbox_records.delete().where(
                    outbox_records.c.seq <= acked,
                    *kept,
                    outbox_records.c.state == "closed",
                    sa.or_(
                        outbox_records.c.kind != "unsettled",
                        outbox_records.c.proved_by.is_not(None),
                    ),
                )
            )
        return int(res.rowcount)

    def _oldest_unsent_ms(self, conn: sa.Connection, meta: dict[str, str]) -> int | None:
        value = conn.execute(
            sa.select(sa.func.min(outbox_records.c.created_ms)).where(
                outbox_records.c.seq > int(meta["acked_seq"])
            )
        ).scalar()
        return None if value is None else int(value)

    def _unsent_too_old(self, conn: sa.Connection, meta: dict[str, str]) -> bool:
        if self.max_unsent_age_s is None:
            return False
        oldest = self._oldest_unsent_ms(conn, meta)
        return oldest is not None and self._clock() * 1000 - oldest > self.max_unsent_age_s * 1000

    @_guarded
    def status(self) -> OutboxStatus:
        with self.engine.connect() as conn:
            meta = self._meta(conn)
            counts: dict[str, int] = dict(
                conn.execute(
                    sa.select(outbox_records.c.state, sa.func.count()).group_by(
                        outbox_records.c.state
                    )
                ).all()
            )
            unacked = conn.execute(
                sa.select(sa.func.count()).where(
                    outbox_records.c.seq > int(meta["acked_seq"]),
                    outbox_records.c.state == "closed",
                )
            ).scalar_one()
            oldest = self._oldest_unsent_ms(conn, meta)
            too_old = self._unsent_too_old(conn, meta)
        free = self._free()
        stop = "outbox_behind" if "stopped" in meta else None
        if stop is None and free < self.reserve_bytes:
            stop = "disk_full"
        if stop is None and too_old:
            stop = "unsent_too_old"
        return OutboxStatus(
            terminal_id=self.terminal_id,
            head_seq=int(meta["head_seq"]),
            acked_seq=int(meta["acked_seq"]),
            unacked=int(unacked),
            open_intents=int(counts.get("open", 0)),
            free_bytes=free,
            sales_allowed=stop is None,
            stop_reason=stop,
            oldest_unsent_ms=oldest,
        )
