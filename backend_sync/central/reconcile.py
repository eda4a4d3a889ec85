"""Reconciliation: the ledger against itself and each card against what it reported."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from backend_sync.central import ledger
from backend_sync.central.models import (
    AUTHENTIC,
    DEBIT_TYPES,
    accounts,
    ledger_entries,
    ledger_txns,
    terminal_records,
)
from backend_sync.central.service import Central

__all__ = ["CardMismatch", "Reconciliation", "reconcile"]


@dataclass(frozen=True)
class CardMismatch:
    asn: str
    shadow_balance: int
    reported_balance: int


@dataclass(frozen=True)
class Reconciliation:
    total: int  # sum of every entry: always 0
    unbalanced: int  # ledger transactions not summing to 0: always 0
    orphans: int  # entries citing a missing transaction or account: always 0
    cards_checked: int
    mismatches: list[CardMismatch]
    # Cards whose genuine purchases skip offline ATCs: (ASN, missing count). The
    # missing ones are still offline at some kiosk, unsettled, or lost.
    atc_gaps: list[tuple[str, int]]


def reconcile(central: Central) -> Reconciliation:
    """Each card's shadow balance against the balance its latest genuine record
    reported (latest by the card's own date and time, then its counter). Differences point at
    records still offline somewhere, or at a card that misreports."""
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
        ranked = (
            sa.select(
                t.asn,
                t.balance_after,
                sa.func.row_number()
                .over(
                    partition_by=t.asn,
                    order_by=(t.card_date.desc(), t.card_time.desc(), t.ttype.desc(), t.atc.desc()),
                )
                .label("rn"),
            )
            .where(t.status.in_(AUTHENTIC), t.balance_after.is_not(None))
            .subquery()
        )
        latest = {
            a: int(b)
            for a, b in conn.execute(
                sa.select(ranked.c.asn, ranked.c.balance_after).where(ranked.c.rn == 1)
            )
        }
        gaps_q = (
            sa.select(t.asn, sa.func.max(t.atc) - sa.func.min(t.atc) + 1 - sa.func.count())
            .where(t.status.in_(AUTHENTIC), t.ttype.in_(DEBIT_TYPES))  # one offline ATC
            .group_by(t.asn)
            .having(sa.func.max(t.atc) - sa.func.min(t.atc) + 1 != sa.func.count())
            .order_by(t.asn)
        )
        gaps = [(a, int(n)) for a, n in conn.execute(gaps_q)]
    mismatches = [
        CardMismatch(asn, shadow.get(asn, 0), reported)
        for asn, reported in sorted(latest.items())
        if shadow.get(asn, 0) != reported
    ]
    return Reconciliation(total, unbalanced, orphans, len(latest), mismatches, gaps)
