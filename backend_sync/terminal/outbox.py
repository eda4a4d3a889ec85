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
was begun can always be closed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

import sqlalchemy as sa
from pydantic import BaseModel

from backend_sync import chain
from backend_sync.engine import make_engine
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
    "Intent",
    "IntentId",
    "Outbox",
    "OutboxError",
    "OutboxStatus",
    "PendingRecord",
    "SalesStopped",
]

IntentId = NewType("IntentId", int)
DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024
_MIGRATIONS = str(Path(__file__).with_name("migrations"))
SCHEMA_HEAD = "k0002"  # the newest outbox migration (a test holds it to Alembic's head)


class OutboxError(Exception):
    """Misuse of the outbox (no such intent, an intent still open, wrong terminal)."""


class SalesStopped(OutboxError):
    """No new intent: too little disk left to be sure the record can be kept."""


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


def _now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    """Durable, hash-chained, numbered records of one terminal."""

    def __init__(
        self,
        path: Path,
        terminal_id: str,
        *,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        free_bytes: Callable[[], int] | None = None,
    ) -> None:
        """Open (creating and migrating) the outbox at ``path`` for the PSAM's
        terminal id (12 hex digits). Refuses a file made for another terminal."""
        self.path = Path(path)
        self.terminal_id = terminal_id.upper()
        if len(bytes.fromhex(self.terminal_id)) != 6:
            raise ValueError("terminal id is 6 bytes")
        self.reserve_bytes = reserve_bytes
        self._free = free_bytes or (lambda: shutil.disk_usage(self.path.parent).free)
        self.engine = make_engine(f"sqlite:///{self.path}")
        with self.engine.begin() as conn:
            if _revision(conn) != SCHEMA_HEAD:
                _migrate(conn)
            meta = self._meta(conn)
            if "terminal_id" not in meta:
                genesis = chain.genesis_hash(bytes.fromhex(self.terminal_id)).hex().upper()
                conn.execute(
                    outbox_meta.insert(),
                    [
                        {"key": "terminal_id", "value": self.terminal_id},
                        {"key": "head_seq", "value": "0"},
                        {"key": "head_hash", "value": genesis},
                        {"key": "acked_seq", "value": "0"},
                        {"key": "acked_hash", "value": genesis},
                    ],
                )
            elif meta["terminal_id"] != self.terminal_id:
                raise OutboxError(
                    f"{path} belongs to terminal {meta['terminal_id']}, not {self.terminal_id}"
                )

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

    def _open_intent(self, kind: str, fields: dict[str, Any]) -> IntentId:
        if self._free() < self.reserve_bytes:
            raise SalesStopped("disk nearly full: sales stop until records are uploaded")
        with self.engine.begin() as conn:
            if conn.execute(
                sa.select(outbox_records.c.seq).where(outbox_records.c.state == "open")
            ).first():
                raise OutboxError("an intent is still open: settle it first")
            seq = int(self._meta(conn)["head_seq"]) + 1
            conn.execute(
                outbox_records.insert().values(
                    seq=seq,
                    state="open",
                    kind=kind,
                    intent=json.dumps(fields, sort_keys=True),
                    created_ms=_now_ms(),
                )
            )
        return IntentId(seq)

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
                "closed_ms": _now_ms(),
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
    ) -> IntentId:
        """Write a purchase intent (after the PSAM's MAC1, before DEBIT).

        ``asn`` is 20 hex digits, ``date``/``time`` the BCD digits sent to the card.
        Raises :class:`SalesStopped` when the disk is nearly full."""
        fields = {
            "asn": asn.upper(), "amount": amount, "atc": atc, "ttc": ttc, "date": date,
            "time": time, "key_version": key_version, "algorithm": algorithm,
            "balance_before": balance_before, "payee": payee, "order_id": order_id,
            "hotlist_version": hotlist_version,
        }  # fmt: skip
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
            f.pop("payee", None)
        ttype = 6 if it.kind == "purchase" else 2
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

    def add_proof(
        self, ref_seq: int, *, asn: str, tac: str, mac2: str, balance_after: int | None = None
    ) -> int:
        """Append the card's proof (GET TRANSACTION PROVE) of an unsettled record.
        Not while an intent is open: that intent owns the next sequence number."""
        if self.unfinished():
            raise OutboxError("an intent is open: close it before adding a proof")
        with self.engine.connect() as conn:
            seq = int(self._meta(conn)["head_seq"]) + 1
        record = ProofRecord(seq=seq, terminal_id=self.terminal_id, ref_seq=ref_seq,
                             asn=asn.upper(), tac=tac.upper(), mac2=mac2.upper(),
                             balance_after=balance_after)  # fmt: skip
        return self._close(None, record, proves=ref_seq)

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

    # -- the agent's API --------------------------------------------------------------

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

    def acknowledge(self, acked_seq: int) -> None:
        """The central holds every record up to ``acked_seq``."""
        with self.engine.begin() as conn:
            meta = self._meta(conn)
            if acked_seq <= int(meta["acked_seq"]):
                return
            if acked_seq > int(meta["head_seq"]):
                raise OutboxError(f"central acknowledges {acked_seq}, beyond our head")
            h = conn.execute(
                sa.select(outbox_records.c.hash).where(outbox_records.c.seq == acked_seq)
            ).scalar_one()
            self._set(conn, acked_seq=acked_seq, acked_hash=h)

    def prune(self) -> int:
        """Delete acknowledged records (only those, and never an unsettled record
        still waiting for its card's proof); returns how many."""
        with self.engine.begin() as conn:
            acked = int(self._meta(conn)["acked_seq"])
            res = conn.execute(
                outbox_records.delete().where(
                    outbox_records.c.seq <= acked,
                    outbox_records.c.state == "closed",
                    sa.or_(
                        outbox_records.c.kind != "unsettled",
                        outbox_records.c.proved_by.is_not(None),
                    ),
                )
            )
        return int(res.rowcount)

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
        free = self._free()
        return OutboxStatus(
            terminal_id=self.terminal_id,
            head_seq=int(meta["head_seq"]),
            acked_seq=int(meta["acked_seq"]),
            unacked=int(unacked),
            open_intents=int(counts.get("open", 0)),
            free_bytes=free,
            sales_allowed=free >= self.reserve_bytes,
        )
