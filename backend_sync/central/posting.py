"""Per-record verification and posting of one batch's new records, set-based.

Outcomes (the ``status`` stored with each record):

- ``posted``: a genuine card transaction, posted (purchase: card -> payee;
  load: suspense -> card);
- ``suspended``: genuine (the TAC verifies) but not payable as asked: hotlisted
  card, unknown or already-paid order, order mismatch. The card's money goes to
  the suspense account and the case is counted and flagged for a clerk;
- ``rejected``: not proven genuine (wrong TAC, another terminal's record, unknown
  card or key, a second record for the same (ASN, ATC, type) or TTC); nothing
  posted; counted;
- ``unsettled`` / ``aborted`` / ``settled``: intents without money movement.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa

from backend_sync.central import card_state, held_loads, ledger
from backend_sync.central.cardcrypto import UnknownKey
from backend_sync.central.feedback.intake import FeedbackIntake
from backend_sync.central.funding import FundingAccount, UnknownFunding
from backend_sync.central.models import (
    AUTHENTIC,
    DEBIT_TYPES,
    anomalies,
    load_auths,
    orders,
    record_keys,
    rejections,
    terminal_records,
)
from backend_sync.central.payees import catalog_items
from backend_sync.central.service import Central
from backend_sync.wire import (
    AbortedRecord,
    FeedbackRecord,
    LoadRecord,
    ProofRecord,
    PurchaseRecord,
    RecordResult,
    UnsettledRecord,
)
from cardlib.crypto import purchase_tac_data

__all__ = ["BatchPoster"]

AnyRecord = PurchaseRecord | LoadRecord | UnsettledRecord | AbortedRecord | ProofRecord
BatchRecord = AnyRecord | FeedbackRecord  # what a batch holds


@dataclass(slots=True)
class _Txn:
    """A card transaction to verify (a completed record, or a resolved proof)."""

    ttype: int
    asn: str
    amount: int
    atc: int
    ttc: int | None
    date: str
    time: str
    key_version: int
    algorithm: int
    tac: str
    balance_before: int
    balance_after: int | None
    payee: str | None
    order_id: str | None
    load_id: str | None
    catalog_version: int | None = None
    service_id: str | None = None


# Columns of a terminal_records row, in the order the rows are built.
_COLS = (
    "terminal_id", "seq", "kind", "status", "reason", "asn", "ttype", "atc", "ttc", "amount",
    "balance_before", "balance_after", "card_date", "card_time", "tac", "payee", "order_id",
    "load_id", "ref_seq", "record_hash", "ledger_txn_id", "received_ms", "catalog_version",
    "service_id",
)  # fmt: skip
_TXN = _COLS.index("ledger_txn_id")
_KEY_COLS = ("terminal_id", "seq", "received_ms", "asn", "atc", "ttype", "ttc", "tac")
_ST, _ASN, _ATC, _TT, _TTC, _TAC, _RMS = (_COLS.index(c) for c in (
    "status", "asn", "atc", "ttype", "ttc", "tac", "received_ms"))  # fmt: skip


def _key(r: list[Any]) -> tuple[Any, ...]:
    """The record_keys row of a terminal_records row: card and TTC keys only for
    authentic records, the TTC only for debits (NULLs never collide)."""
    if r[_ST] in AUTHENTIC:
        ttc = r[_TTC] if r[_TT] in DEBIT_TYPES else None
        return (r[0], r[1], r[_RMS], r[_ASN], r[_ATC], r[_TT], ttc, r[_TAC])
    return (r[0], r[1], r[_RMS], None, None, None, None, None)


def _f(rec: BatchRecord, name: str) -> Any:
    # Field or None: pydantic's __getattr__ for an absent field costs microseconds.
    return rec.__dict__.get(name)


def _purchase_type(rec: AnyRecord) -> int:
    """A purchase record's type: 06, or 09 for a composite (transit) purchase (issue 13)."""
    ttype = rec.__dict__.get("ttype")
    return 6 if ttype is None else int(ttype)


@functools.lru_cache(maxsize=4096)
def real_date(date: str) -> bool:
    """``YYYYMMDD`` names a real calendar day (a batch holds few distinct dates)."""
    try:
        dt.date(int(date[:4]), int(date[4:6]), int(date[6:8]))
    except ValueError:
        return False
    return len(date) == 8


def real_time(time: str) -> bool:
    """``hhmmss`` is a real time of day."""
    return len(time) == 6 and time[:2] < "24" and time[2:4] < "60" and time[4:] < "60"


def _tac_data(rec: PurchaseRecord, terminal_id: bytes) -> bytes:
    d = rec.__dict__
    date, time = bytes.fromhex(d["date"]), bytes.fromhex(d["time"])
    return purchase_tac_data(d["amount"], _purchase_type(rec), terminal_id, d["ttc"], date, time)


def precompute_tacs(central: Central, recs: Sequence[BatchRecord]) -> dict[int, str]:
    """Expected TAC of each purchase record (by seq), from its own terminal id, key
    version and algorithm; the poster uses one only if those match the registry."""
    prefixes: dict[tuple[str, int], bytes] = {}
    seqs: list[int] = []
    items: list[tuple[str, int, int, bytes]] = []
    for rec in recs:
        if type(rec) is PurchaseRecord:
            d = rec.__dict__
            tid, ttype = d["terminal_id"], _purchase_type(rec)
            prefix = prefixes.get((tid, ttype))
            if prefix is None:
                prefix = prefixes[(tid, ttype)] = bytes.fromhex(tid)
            seqs.append(d["seq"])
            items.append((d["asn"], d["algorithm"], d["key_version"], _tac_data(rec, prefix)))
    tacs = central.crypto.purchase_tacs(items)
    return {seq: tac for seq, tac in zip(seqs, tacs, strict=True) if tac is not None}


class BatchPoster:
    """Verifies records against the card registry, orders and load authorizations,
    then writes records, ledger postings and flags with one statement per table."""

    def __init__(
        self,
        central: Central,
        conn: sa.Connection,
        terminal_id: str,
        now: int,
        *,
        precheck: bool = True,
        tacs: dict[int, str] | None = None,
    ) -> None:
        """``precheck=False`` skips the queries for earlier uses of the batch's
        (ASN, ATC, type) and TTCs: the unique indexes still refuse a duplicate, and
        the caller then re-runs the batch with the checks (see ingest.py)."""
        self.precheck = precheck
        # The balances a card can hold: from minus its overdraft to the purse maximum.
        self.lowest, self.highest = -central.max_overdraft, central.max_purse_balance
        self.tacs = tacs or {}
        self.c = central
        self.conn = conn
        self.tid = terminal_id
        self.now = now
        self.rows: list[dict[str, Any]] = []
        self.fast_rows: list[list[Any]] = []
        self.rejects: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        # (kind, ref, legs): legs are (account id, amount), or (account code, amount)
        # for the postings listed in ``coded``.
        self.postings: list[tuple[str, str, Sequence[tuple[Any, int]]]] = []
        self.coded: list[int] = []
        self.order_paid: list[dict[str, Any]] = []
        self.order_released: list[str] = []
        self.load_status: list[dict[str, Any]] = []
        self.settled: list[int] = []
        self.feedback: FeedbackIntake | None = None  # when the batch holds feedback

    # -- lookups, one query each for the whole batch ---------------------------

    def _prefetch(self, recs: Sequence[BatchRecord]) -> None:
        conn = self.conn
        # Plain SQL with the list bound as such: SQLAlchemy's expanding IN costs
        # microseconds per value, and a batch names up to thousands of cards.
        asns = list({r.asn for r in recs})
        sql = "SELECT asn, status, algorithm, key_version, account_id FROM cards WHERE asn "
        if conn.dialect.name == "postgresql":
            # One string, not a list psycopg adapts element by element: ASNs are hex.
            rows = conn.exec_driver_sql(sql + "= ANY(string_to_array(%s, ','))", (",".join(asns),))
        else:
            # Only placeholders are added to the statement; the ASNs are bound.
            rows = conn.exec_driver_sql(sql + f"IN ({','.join('?' * len(asns))})", tuple(asns))
        self.cards = {r.asn: r for r in rows}
        payees = {r.payee for r in recs if type(r) is PurchaseRecord}
        found = ledger.account_ids(conn, {"payee:" + p for p in payees})
        self.payee_ids = {code[6:]: i for code, i in found.items()}
        ref_seqs = {r.ref_seq for r in recs if type(r) is ProofRecord}
        self.unsettled: dict[int, Any] = {}
        if ref_seqs:
            q = sa.select(terminal_records).where(
                terminal_records.c.terminal_id == self.tid,
                terminal_records.c.seq.in_(ref_seqs),
            )
            self.unsettled = {r.seq: r for r in conn.execute(q)}
        keys = {
            (r.asn, r.atc, _purchase_type(r) if type(r) is PurchaseRecord else 2)
            for r in recs
            if type(r) is PurchaseRecord or type(r) is LoadRecord
        }
        keys |= {(u.asn, u.atc, u.ttype) for u in self.unsettled.values()}
        keys |= {(r.asn, r.atc, r.ttype) for r in recs if type(r) is UnsettledRecord}
        # (ASN, ATC, type) of genuine records -> their TAC: the same TAC again is the
        # same transaction reported twice; another TAC is a counter used twice.
        self.seen_keys: dict[tuple[str, int, int], str | None] = {}
        if keys and self.precheck:
            k = record_keys.c  # authentic records only have these set
            q = sa.select(k.asn, k.atc, k.ttype, k.tac).where(
                sa.tuple_(k.asn, k.atc, k.ttype).in_(list(keys))
            )
            self.seen_keys = {(a, b, c): tac for a, b, c, tac in conn.execute(q)}
        ttcs = {r.ttc for r in recs if type(r) is PurchaseRecord}
        ttcs |= {
            u.ttc for u in self.unsettled.values() if u.ttype in DEBIT_TYPES and u.ttc is not None
        }
        ttcs |= {r.ttc for r in recs if type(r) is UnsettledRecord and r.ttc is not None}
        self.seen_ttc: set[int] = set()
        if ttcs and self.precheck:
            k = record_keys.c  # set for authentic debits (06 and 09: one PSAM counter)
            q = sa.select(k.ttc).where(k.terminal_id == self.tid, k.ttc.in_(ttcs))
            self.seen_ttc = set(conn.execute(q).scalars())
        order_ids = {_f(r, "order_id") for r in recs}
        order_ids |= {u.order_id for u in self.unsettled.values()}
        order_ids.discard(None)
        self.orders = {}
        if order_ids:
            self.orders = {
                o.id: dict(o._mapping)
                for o in conn.execute(sa.select(orders).where(orders.c.id.in_(order_ids)))
            }
        versions = {_f(r, "catalog_version") for r in recs}
        versions |= {getattr(u, "catalog_version", None) for u in self.unsettled.values()}
        self.catalog = catalog_items(self.c, conn, versions)
        load_ids = {_f(r, "load_id") for r in recs}
        load_ids |= {u.load_id for u in self.unsettled.values()}
        load_ids.discard(None)
        self.loads = {}
        if load_ids:
            self.loads = {
                a.id: dict(a._mapping)
                for a in conn.execute(sa.select(load_auths).where(load_auths.c.id.in_(load_ids)))
            }

    # -- per record -------------------------------------------------------------

    def run(self, recs: Sequence[BatchRecord], hashes: Sequence[str]) -> list[RecordResult]:
        """Classify every record, then write everything; returns non-posted results."""
        self._prefetch(recs)
        self._tid_bytes = bytes.fromhex(self.tid)
        fb = [r for r in recs if isinstance(r, FeedbackRecord)]
        if fb:
            self.feedback = FeedbackIntake(self.conn, self.tid, self.now, self.cards, fb)
        out: list[RecordResult] = []
        fast = self._fast_purchase
        for rec, h in zip(recs, hashes, strict=True):
            if type(rec) is PurchaseRecord and fast(rec, h):
                continue
            if isinstance(rec, FeedbackRecord):  # no money: the feedback domain decides
                row = cast(FeedbackIntake, self.feedback).take(rec, h)  # made above
                status, reason = row["status"], row["reason"]
            else:
                row = self._row(rec, h)
                status, reason = self._classify(rec, row)
                row["status"], row["reason"] = status, reason
            self.rows.append(row)
            if status != "posted":
                out.append(RecordResult(seq=rec.seq, status=status, reason=reason))
        self._write()
        return out

    def _fast_purchase(self, rec: PurchaseRecord, h: str) -> bool:
        """The common case, a plain purchase that verifies, in one pass; False sends
        the record down the general path (which decides, and explains, anything else)."""
        d = rec.__dict__
        asn = d["asn"]
        card = self.cards.get(asn)
        if (
            card is None
            or d["terminal_id"] != self.tid
            or d["order_id"] is not None
            or d["ttype"] is not None  # a composite (09) purchase: the general path
            or card.status != "active"
            or card.algorithm != d["algorithm"]
            or card.key_version != d["key_version"]
        ):
            return False
        amount, ttc, atc = d["amount"], d["ttc"], d["atc"]
        # The payee is the catalog item's, at its fixed price; anything else (no
        # item, another payee or price) is decided and explained by the general path.
        item = self.catalog.get((d["catalog_version"], d["service_id"]))
        if item is None or item.payee != d["payee"] or item.price != amount:
            return False
        key = (asn, atc, 6)
        if key in self.seen_keys or ttc in self.seen_ttc:
            return False
        tac = self.tacs.get(d["seq"])  # computed with the record's own key version...
        if tac is None:
            try:
                tac = self.c.crypto.tac_mac(
                    asn, card.algorithm, card.key_version, _tac_data(rec, self._tid_bytes)
                )
            except UnknownKey:
                return False
        # ...which equals the registry's (checked above), so it is the card's TAC.
        if tac != d["tac"]:
            return False
        self.seen_keys[key] = tac
        self.seen_ttc.add(ttc)
        bb, ba, seq = d["balance_before"], d["balance_after"], d["seq"]
        if ba != bb - amount:
            self._flag(rec, "balance_inconsistent", f"{bb}->{ba}")
        lo, hi = self.lowest, self.highest
        tm = d["time"]
        if (
            amount > hi - lo
            or not lo <= bb <= hi
            or not lo <= ba <= hi
            or not real_date(d["date"])
            or not (tm[:2] < "24" and tm[2:4] < "60" and tm[4:] < "60")
        ):
            self._impossible(rec, amount, bb, ba, d["date"], tm)
        payee = d["payee"]
        payee_id = self.payee_ids.get(payee)
        if payee_id is None:
            return False
        self.postings.append(
            ("purchase", f"{self.tid}:{seq}", ((card.account_id, -amount), (payee_id, amount)))
        )
        # fmt: off
        self.fast_rows.append([  # in _COLS order
            self.tid, seq, "purchase", "posted", None, asn, 6, atc, ttc, amount, bb, ba,
            d["date"], d["time"], tac, payee, None, None, None, h, len(self.postings) - 1,
            self.now, d["catalog_version"], d["service_id"],
        ])
        # fmt: on
        return True

    def _row(self, rec: AnyRecord, h: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "terminal_id": self.tid, "seq": rec.seq, "kind": rec.kind, "status": None,
            "reason": None, "asn": rec.asn,
            "ttype": None, "atc": None, "ttc": None, "amount": None, "balance_before": None,
            "balance_after": _f(rec, "balance_after"), "card_date": None,
            "card_time": None,
            "tac": _f(rec, "tac"), "payee": None, "order_id": None,
            "load_id": None, "ref_seq": None, "record_hash": h, "ledger_txn_id": None,
            "received_ms": self.now, "catalog_version": None, "service_id": None,
        }  # fmt: skip
        if isinstance(rec, ProofRecord):
            row["ref_seq"] = rec.ref_seq
            return row
        row.update(
            amount=rec.amount, atc=rec.atc, balance_before=rec.balance_before,
            card_date=rec.date, card_time=rec.time,
            ttype=_purchase_type(rec) if isinstance(rec, PurchaseRecord)
            else 2 if isinstance(rec, LoadRecord)
            else rec.ttype,
            ttc=_f(rec, "ttc"), payee=_f(rec, "payee"),
            order_id=_f(rec, "order_id"), load_id=_f(rec, "load_id"),
            catalog_version=_f(rec, "catalog_version"), service_id=_f(rec, "service_id"),
        )  # fmt: skip
        return row

    def _reject(self, rec: AnyRecord, reason: str, detail: str = "") -> tuple[str, str]:
        self.rejects.append({"terminal_id": self.tid, "seq": rec.seq, "reason": reason,
                             "detail": detail, "at_ms": self.now})  # fmt: skip
        return "rejected", reason

    def _impossible(
        self, rec: AnyRecord, amount: int, before: int, after: int | None, date: str, time: str
    ) -> None:
        """Flag reported data no card can produce; the record is still posted (its
        TAC proves the money moved), the flag is for the ledger auditor."""
        lo, hi = self.lowest, self.highest
        if amount > hi - lo:
            self._flag(rec, "amount_impossible", f"{amount} > max balance + overdraft {hi - lo}")
        if not lo <= before <= hi or (after is not None and not lo <= after <= hi):
            self._flag(rec, "balance_impossible", f"{before}->{after} outside [{lo}, {hi}]")
        if not real_date(date) or not real_time(time):
            self._flag(rec, "bad_card_datetime", f"{date} {time}")

    def _flag(self, rec: AnyRecord, kind: str, detail: str = "") -> None:
        self.flags.append({"terminal_id": self.tid, "seq": rec.seq, "asn": rec.asn,
                           "kind": kind, "detail": detail, "at_ms": self.now})  # fmt: skip

    def _classify(self, rec: AnyRecord, row: dict[str, Any]) -> tuple[str, str | None]:
        if rec.terminal_id != self.tid:
            return self._reject(rec, "foreign_terminal", rec.terminal_id)
        if isinstance(rec, UnsettledRecord):
            self._flag(rec, "unsettled_intent", rec.reason)
            # Its proof may follow in this very batch.
            self.unsettled[rec.seq] = SimpleNamespace(**{**row, "status": "unsettled"})
            return "unsettled", None
        if isinstance(rec, AbortedRecord):
            order = self.orders.get(rec.order_id or "")
            if order is not None and order["status"] == "held":
                self.order_released.append(str(rec.order_id))
            # A kiosk's word never voids a load (it could be lying after the
            # credit): the void rule in loads.py waits for the card's own proof.
            return "aborted", None
        if isinstance(rec, ProofRecord):
            u = self.unsettled.get(rec.ref_seq)
            if u is None or u.status != "unsettled" or u.asn != rec.asn:
                return self._reject(rec, "bad_proof_reference", str(rec.ref_seq))
            txn = _Txn(u.ttype, u.asn, u.amount, u.atc, u.ttc, u.card_date, u.card_time,
                       0, 0, rec.tac, u.balance_before, rec.balance_after,
                       u.payee, u.order_id, u.load_id, u.catalog_version,
                       u.service_id)  # fmt: skip
            card = self.cards.get(u.asn)
            if card is not None:
                txn.key_version, txn.algorithm = card.key_version, card.algorithm
            row.update({k: getattr(u, k) for k in (
                "ttype", "atc", "ttc", "amount", "balance_before", "card_date", "card_time",
                "payee", "order_id", "load_id", "catalog_version", "service_id")})  # fmt: skip
            if txn.ttype == 2 and txn.balance_after is None:
                txn.balance_after = txn.balance_before + txn.amount
            status, reason = self._card_txn(rec, txn, row)
            if status in AUTHENTIC:
                self.settled.append(rec.ref_seq)
            return status, reason
        ttype = _purchase_type(rec) if isinstance(rec, PurchaseRecord) else 2
        txn = _Txn(ttype, rec.asn, rec.amount, rec.atc,
                   _f(rec, "ttc"), rec.date, rec.time, rec.key_version,
                   rec.algorithm, rec.tac, rec.balance_before, rec.balance_after,
                   _f(rec, "payee"), _f(rec, "order_id"),
                   _f(rec, "load_id"), _f(rec, "catalog_version"),
                   _f(rec, "service_id"))  # fmt: skip
        return self._card_txn(rec, txn, row)

    def _card_txn(self, rec: AnyRecord, t: _Txn, row: dict[str, Any]) -> tuple[str, str | None]:
        card = self.cards.get(t.asn)
        if card is None:
            return self._reject(rec, "unknown_card")
        if (card.algorithm, card.key_version) != (t.algorithm, t.key_version):
            return self._reject(rec, "wrong_key", f"{t.algorithm:02X}/{t.key_version}")
        try:
            if t.ttype in DEBIT_TYPES:
                if t.ttc is None:
                    return self._reject(rec, "bad_tac", "no TTC")
                want = self.c.crypto.purchase_tac(
                    asn=t.asn, algorithm=t.algorithm, key_version=t.key_version,
                    amount=t.amount, terminal_id=self.tid, ttc=t.ttc, date=t.date, time=t.time,
                    ttype=t.ttype,
                )  # fmt: skip
            else:
                want = self.c.crypto.load_tac(
                    asn=t.asn, algorithm=t.algorithm, key_version=t.key_version,
                    new_balance=t.balance_after if t.balance_after is not None else 0,
                    atc=t.atc, amount=t.amount, terminal_id=self.tid, date=t.date, time=t.time,
                )  # fmt: skip
        except UnknownKey as exc:
            return self._reject(rec, "wrong_key", str(exc))
        if want != t.tac:
            return self._reject(rec, "bad_tac")
        key = (t.asn, t.atc, t.ttype)
        if key in self.seen_keys:
            if self.seen_keys[key] != t.tac:
                # Two different genuine transactions on one counter value: a cloned
                # card, or a kiosk misreporting the ATC (the TAC does not cover it).
                counter = "online" if t.ttype == 2 else "offline"
                self._flag(rec, "atc_duplicate", f"{counter} ATC {t.atc} TTC {t.ttc}")
            return self._reject(rec, "duplicate_card_txn", f"ATC {t.atc}")
        if t.ttype in DEBIT_TYPES and t.ttc in self.seen_ttc:
            return self._reject(rec, "duplicate_ttc", f"TTC {t.ttc}")
        self.seen_keys[key] = t.tac
        if t.ttc is not None and t.ttype in DEBIT_TYPES:
            self.seen_ttc.add(t.ttc)
        if t.balance_after is not None and t.balance_after != t.balance_before + (
            -t.amount if t.ttype in DEBIT_TYPES else t.amount
        ):
            self._flag(rec, "balance_inconsistent", f"{t.balance_before}->{t.balance_after}")
        self._impossible(rec, t.amount, t.balance_before, t.balance_after, t.date, t.time)
        card_acc = ledger.card_account(t.asn)
        if t.ttype == 2:
            return self._load(rec, t, row, card_acc)
        dest, status, reason = self._purchase_destination(rec, t)
        self.coded.append(len(self.postings))
        self.postings.append(
            ("purchase", f"{self.tid}:{rec.seq}", [(card_acc, -t.amount), (dest, t.amount)])
        )
        row["ledger_txn_id"] = len(self.postings) - 1
        return status, reason

    def _purchase_destination(self, rec: AnyRecord, t: _Txn) -> tuple[str, str, str | None]:
        """The payee as the central derives it (payees.py); the kiosk's claim only
        has to agree with it."""
        claimed = t.payee or "unknown"
        if self.cards[t.asn].status != "active":
            return self._suspend(rec, "hotlisted_card")
        if t.ttype == 9:
            # A composite (transit) purchase: its type is covered by the TAC, and a
            # fare is the transit operator's whoever the validator names.
            if claimed != self.c.transit_payee:
                return self._dispute(rec, "payee_disputed", f"{claimed} != {self.c.transit_payee}")
            return ledger.payee_account(self.c.transit_payee), "posted", None
        if t.order_id is None:
            item = self.catalog.get((t.catalog_version or 0, t.service_id or ""))
            if item is None:
                why = f"no fixed-price item {t.service_id} in catalog v{t.catalog_version}"
                return self._dispute(rec, "payee_underivable", why)
            if item.price != t.amount:
                return self._dispute(rec, "price_disputed", f"{t.amount} != {item.price}")
            if item.payee != claimed:
                return self._dispute(rec, "payee_disputed", f"{claimed} != {item.payee}")
            return ledger.payee_account(item.payee), "posted", None
        o = self.orders.get(t.order_id)
        if o is None:
            return self._suspend(rec, "unknown_order")
        if o["status"] == "paid":
            return self._suspend(rec, "order_already_paid")
        if (o["asn"], o["amount"]) != (t.asn, t.amount):
            return self._suspend(rec, "order_mismatch")
        if o["payee"] != claimed:
            # The order (this card, this amount) stands; the payee the kiosk
            # names does not: nobody is paid until the auditor decides.
            return self._dispute(rec, "payee_disputed", f"{claimed} != {o['payee']}")
        if o["status"] in ("released", "expired"):
            # The hold lapsed before this record arrived (an offline kiosk, a
            # release after all): pay the bill if it is still free.
            if self._bill_taken(o):
                return self._suspend(rec, "order_superseded")
            self._flag(rec, "paid_after_release", f"{o['id']} was {o['status']}")
        o["status"] = "paid"
        self.order_paid.append({"oid": t.order_id, "pt": self.tid, "ps": rec.seq})
        return ledger.payee_account(o["payee"]), "posted", None

    def _bill_taken(self, o: dict[str, Any]) -> bool:
        """Another order holds or paid this bill (payee, reference)."""
        c = orders.c
        q = sa.select(c.id).where(
            c.payee == o["payee"], c.reference == o["reference"], c.id != o["id"],
            c.status.in_(("held", "paid")),
        )  # fmt: skip
        return self.conn.execute(q).first() is not None

    def _dispute(self, rec: AnyRecord, reason: str, detail: str) -> tuple[str, str, str | None]:
        """A genuine debit whose payee the central cannot confirm: never refused
        (the card paid), held on the disputed account for the ledger auditor."""
        self.rejects.append({"terminal_id": self.tid, "seq": rec.seq, "reason": reason,
                             "detail": detail, "at_ms": self.now})  # fmt: skip
        self._flag(rec, reason, detail)
        return ledger.DISPUTED, "suspended", reason

    def _suspend(self, rec: AnyRecord, reason: str) -> tuple[str, str, str | None]:
        detail = "genuine debit held in suspense"
        self.rejects.append({"terminal_id": self.tid, "seq": rec.seq, "reason": reason,
                             "detail": detail, "at_ms": self.now})  # fmt: skip
        self._flag(rec, reason, "refund or settle by hand")
        return ledger.SUSPENSE, "suspended", reason

    def _load(
        self, rec: AnyRecord, t: _Txn, row: dict[str, Any], card_acc: str
    ) -> tuple[str, str | None]:
        auth = self.loads.get(t.load_id or "")
        ok = auth is not None and (
            auth["asn"], auth["atc"], auth["amount"], auth["terminal_id"],
            auth["card_date"], auth["card_time"],
        ) == (t.asn, t.atc, t.amount, self.tid, t.date, t.time)  # fmt: skip
        if auth is None or not ok:
            # The TAC is genuine, so the card holds the money: book it from
            # funding and let a clerk find the authorization.
            self._flag(rec, "load_without_authorization", t.load_id or "")
            source, status, reason = ledger.FUNDING, "suspended", "load_without_authorization"
        elif auth["status"] == "voided":
            # The void gave the money back to its funding account; it is taken
            # again from there (the card holds it).
            self._flag(rec, "late_load_confirmation", auth["id"])
            try:
                fa = FundingAccount.parse(auth["funding"], terminal_id=auth["terminal_id"])
                source = fa.code
            except UnknownFunding:
                # Money held for the card comes from where it was held.
                source = held_loads.source_account(auth["funding"]) or ledger.FUNDING
            status, reason = "posted", None
        elif auth["status"] == "confirmed":
            # Already confirmed by the card's next MAC1 (loads.py): genuine, and
            # the money is on the card's account.
            return "posted", "confirmed_earlier"
        else:
            source, status, reason = ledger.SUSPENSE, "posted", None
        if auth is not None and ok:
            auth["status"] = "confirmed"
            self.load_status.append({"lid": auth["id"], "st": "confirmed", "ms": self.now})
        self.coded.append(len(self.postings))
        self.postings.append(
            ("load", f"{self.tid}:{rec.seq}", [(source, -t.amount), (card_acc, t.amount)])
        )
        row["ledger_txn_id"] = len(self.postings) - 1
        return status, reason

    # -- writing ----------------------------------------------------------------

    def _write(self) -> None:
        conn = self.conn
        # The fast path posted with account ids; the general path with account
        # codes, resolved here (card accounts came with the cards).
        if self.coded:  # (none when every record took the fast path)
            codes = {code for i in self.coded for code, _ in self.postings[i][2]}
            ids = {f"card:{a}": c.account_id for a, c in self.cards.items()}
            ids.update(ledger.account_ids(conn, codes - ids.keys()))
            for i in self.coded:
                kind, ref, legs = self.postings[i]
                self.postings[i] = (kind, ref, [(ids[str(code)], amt) for code, amt in legs])
        txn_ids = ledger.post_legs(conn, self.postings, self.now)  # each must sum to zero
        rows = self.fast_rows + [[r[c] for c in _COLS] for r in self.rows]
        for row in rows:
            idx = row[_TXN]
            if idx is not None:
                row[_TXN] = txn_ids[idx]  # the posting's index becomes its ledger id
        # The exactly-once keys first, in their unpartitioned table (models.record_keys).
        ledger.bulk_insert(conn, record_keys, _KEY_COLS, [_key(r) for r in rows])
        ledger.bulk_insert(conn, terminal_records, _COLS, [tuple(r) for r in rows])
        card_state.keep_latest(conn, self.tid, _COLS, rows, self.now)  # each card's reported state
        if self.rejects:
            conn.execute(rejections.insert(), self.rejects)
        if self.feedback is not None:
            self.flags.extend(self.feedback.write())
        if self.flags:
            conn.execute(anomalies.insert(), self.flags)
        if self.order_paid:
            conn.execute(
                orders.update()
                .where(orders.c.id == sa.bindparam("oid"))
                .values(
                    status="paid", paid_terminal_id=sa.bindparam("pt"), paid_seq=sa.bindparam("ps")
                ),
                self.order_paid,
            )
        if self.order_released:
            conn.execute(
                orders.update()
                .where(orders.c.id.in_(self.order_released), orders.c.status == "held")
                .values(status="released")
            )
        if self.load_status:
            conn.execute(
                load_auths.update()
                .where(load_auths.c.id == sa.bindparam("lid"))
                .values(status=sa.bindparam("st"), resolved_ms=sa.bindparam("ms")),
                self.load_status,
            )
            # A load returning held money (a bike deposit, a refunded fare): returned.
            held_loads.resolved(conn, [str(x["lid"]) for x in self.load_status],
                                "confirmed", self.now)  # fmt: skip
        if self.settled:
            conn.execute(
                terminal_records.update()
                .where(terminal_records.c.terminal_id == self.tid,
                       terminal_records.c.seq.in_(self.settled))
                .values(status="settled")
            )  # fmt: skip
