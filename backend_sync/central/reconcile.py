"""Reconciliation: the ledger against itself and each card against what it reported.

A card counts purchases and loads on two counters (offline and online ATC), so its
records have no single sequence number. They are put in order by **balance
chaining**: within each counter the records keep their ATC order, and the two
streams are merged so that each record's balance before equals the previous
record's balance after. Where no next record joins, the chain is broken there: a
record still offline at some kiosk, an unsettled intent, or a card (or kiosk) that
misreports. The card's reported balance is the balance after its last chained
record; it is compared with the card's shadow balance in the ledger.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from backend_sync.central import ledger
from backend_sync.central.models import (
    AUTHENTIC,
    accounts,
    anomalies,
    ledger_entries,
    ledger_txns,
    terminal_records,
)
from backend_sync.central.service import Central

__all__ = [
    "CardMismatch",
    "ChainBreak",
    "ChainedRecord",
    "CounterGap",
    "Reconciliation",
    "chain_card",
    "reconcile",
]


@dataclass(frozen=True, slots=True)
class ChainedRecord:
    """One genuine card record as reconciliation sees it."""

    terminal_id: str
    seq: int
    ttype: int
    atc: int
    amount: int
    balance_before: int
    balance_after: int
    card_date: str
    card_time: str

    @property
    def counter(self) -> str:
        """``online`` (loads) or ``offline`` (purchases): the ATC this record used."""
        return "online" if self.ttype == 2 else "offline"

    @property
    def ref(self) -> str:
        return f"{self.terminal_id}:{self.seq}"


@dataclass(frozen=True)
class CardMismatch:
    asn: str
    shadow_balance: int  # what the ledger says is on the card
    reported_balance: int  # balance after the card's last chained record


@dataclass(frozen=True)
class ChainBreak:
    """The card's records do not join here: ``found`` is the balance before of
    record ``at`` where ``expected`` (the balance after of ``after``, or 0 before the
    card's first record) was due."""

    asn: str
    after: str | None  # terminal:seq of the last joined record; None at the start
    at: str  # terminal:seq of the record that does not join
    expected: int
    found: int


@dataclass(frozen=True)
class CounterGap:
    """ATC values missing between two genuine records on one counter."""

    asn: str
    counter: str  # "offline" or "online"
    after_atc: int
    next_atc: int

    @property
    def missing(self) -> int:
        return self.next_atc - self.after_atc - 1


@dataclass(frozen=True)
class Reconciliation:
    total: int  # sum of every entry: always 0
    unbalanced: int  # ledger transactions not summing to 0: always 0
    orphans: int  # entries citing a missing transaction or account: always 0
    cards_checked: int
    mismatches: list[CardMismatch]
    chain_breaks: list[ChainBreak]
    counter_gaps: list[CounterGap]
    anomalies: dict[str, int] = field(default_factory=dict)  # flags raised, by kind
    rejections: dict[str, int] = field(default_factory=dict)  # refusals, by reason

    @property
    def ledger_ok(self) -> bool:
        return self.total == 0 and self.unbalanced == 0 and self.orphans == 0

    @property
    def clean(self) -> bool:
        """No mismatch, break, gap or flag: nothing for the ledger auditor."""
        return (
            self.ledger_ok
            and not self.mismatches
            and not self.chain_breaks
            and not self.counter_gaps
            and not self.anomalies
        )

    def to_json(self) -> dict[str, Any]:
        """The one report document (``civicard central reconcile`` prints it)."""
        doc = asdict(self)
        for g, gap in zip(doc["counter_gaps"], self.counter_gaps, strict=True):
            g["missing"] = gap.missing
        doc["ledger_ok"] = self.ledger_ok
        doc["clean"] = self.clean
        return doc


def chain_card(
    asn: str, records: Sequence[ChainedRecord]
) -> tuple[list[ChainedRecord], list[ChainBreak]]:
    """Order one card's records by balance chaining; report where the chain breaks.

    Within each counter the ATC order is kept. At each step the head of either
    stream whose balance before equals the running balance is taken; when both
    join (possible only if one misreports) the one after which the chain goes on is
    taken; when neither joins, the chain breaks and the head with the earlier card
    date and time goes next.
    """
    streams = [
        sorted((r for r in records if r.ttype != 2), key=lambda r: r.atc),
        sorted((r for r in records if r.ttype == 2), key=lambda r: r.atc),
    ]
    pos = [0, 0]
    out: list[ChainedRecord] = []
    breaks: list[ChainBreak] = []
    cur = 0  # a card is issued empty; its opening balance is a load (docs/sync.md)

    def head(i: int, k: int = 0) -> ChainedRecord | None:
        j = pos[i] + k
        return streams[i][j] if j < len(streams[i]) else None

    def goes_on(i: int) -> bool:
        # After taking stream i's head, does anything join?
        h = head(i)
        assert h is not None
        nxt = [head(i, 1), head(1 - i)]
        return any(n is not None and n.balance_before == h.balance_after for n in nxt)

    while True:
        live = [i for i in (0, 1) if head(i) is not None]
        if not live:
            break
        joining = [i for i in live if head(i).balance_before == cur]  # type: ignore[union-attr]
        if len(joining) == 2:
            pick = 0 if goes_on(0) or not goes_on(1) else 1
        elif joining:
            pick = joining[0]
        else:
            pick = min(live, key=lambda i: (head(i).card_date, head(i).card_time))  # type: ignore[union-attr]
            h = head(pick)
            assert h is not None
            breaks.append(
                ChainBreak(asn, out[-1].ref if out else None, h.ref, cur, h.balance_before)
            )
        rec = streams[pick][pos[pick]]
        pos[pick] += 1
        out.append(rec)
        cur = rec.balance_after
    return out, breaks


def _gaps(asn: str, records: Sequence[ChainedRecord]) -> list[CounterGap]:
    gaps = []
    for counter in ("offline", "online"):
        atcs = sorted({r.atc for r in records if r.counter == counter})
        gaps += [CounterGap(asn, counter, a, b) for a, b in itertools.pairwise(atcs) if b > a + 1]
    return gaps


WRITE_OFF_KINDS = ("replace_carry", "replace_cash")  # backend_sync.central.counter_replace


def reconcile(central: Central, *, flags_since_ms: int = 0) -> Reconciliation:
    """The ledger's own checks, each card's chain of genuine records against its
    shadow balance, the counters' gaps, and the flags raised since ``flags_since_ms``."""
    t = terminal_records.c
    with central.engine.connect() as conn:
        total = int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount), 0))
            ).scalar_one()
        )
        unbalanced = len(ledger.unbalanced_transactions(conn))
        e = ledger_entries.c
        orphans = int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(ledger_entries)
                .where(
                    sa.or_(
                        ~sa.select(ledger_txns.c.id).where(ledger_txns.c.id == e.txn_id).exists(),
                        ~sa.select(accounts.c.id).where(accounts.c.id == e.account_id).exists(),
                    )
                )
            ).scalar_one()
        )
        shadow = {code.split(":", 1)[1]: b for code, b in ledger.balances(conn, "card").items()}
        # A lost card's balance carried to its replacement leaves its account with no
        # card record (the chip's money is void, the card hotlisted for good): its
        # chain is checked against the shadow balance before that write-off.
        off = (
            sa.select(accounts.c.code, sa.func.sum(ledger_entries.c.amount))
            .select_from(
                ledger_entries.join(accounts, accounts.c.id == ledger_entries.c.account_id).join(
                    ledger_txns, ledger_txns.c.id == ledger_entries.c.txn_id
                )
            )
            .where(accounts.c.kind == "card", ledger_txns.c.kind.in_(WRITE_OFF_KINDS))
            .group_by(accounts.c.code)
        )
        for code, amount in conn.execute(off):
            shadow[code.split(":", 1)[1]] -= int(amount)
        rows = conn.execute(
            sa.select(
                t.asn,
                t.terminal_id,
                t.seq,
                t.ttype,
                t.atc,
                t.amount,
                t.balance_before,
                t.balance_after,
                t.card_date,
                t.card_time,
            )
            .where(t.status.in_(AUTHENTIC), t.balance_before.is_not(None))
            .order_by(t.asn)
        ).all()
        flags: dict[str, int] = dict(
            conn.execute(
                sa.select(anomalies.c.kind, sa.func.count())
                .where(anomalies.c.at_ms >= flags_since_ms)
                .group_by(anomalies.c.kind)
            ).all()
        )
    per_card: dict[str, list[ChainedRecord]] = {}
    for r in rows:
        sign = 1 if r.ttype == 2 else -1
        after = (
            r.balance_after if r.balance_after is not None else r.balance_before + sign * r.amount
        )
        per_card.setdefault(r.asn, []).append(
            ChainedRecord(
                r.terminal_id,
                int(r.seq),
                int(r.ttype),
                int(r.atc),
                int(r.amount),
                int(r.balance_before),
                int(after),
                r.card_date,
                r.card_time,
            )
        )
    mismatches: list[CardMismatch] = []
    breaks: list[ChainBreak] = []
    gaps: list[CounterGap] = []
    for asn, recs in per_card.items():
        ordered, brk = chain_card(asn, recs)
        breaks += brk
        gaps += _gaps(asn, recs)
        reported = ordered[-1].balance_after
        if shadow.get(asn, 0) != reported:
            mismatches.append(CardMismatch(asn, shadow.get(asn, 0), reported))
    return Reconciliation(
        total=total,
        unbalanced=unbalanced,
        orphans=orphans,
        cards_checked=len(per_card),
        mismatches=mismatches,
        chain_breaks=breaks,
        counter_gaps=gaps,
        anomalies={str(k): int(n) for k, n in flags.items()},
        rejections=central.rejection_counts(),
    )
