"""Reconciliation that does not scan the ledger: the shadow balances.

``ledger.post_legs`` adds every posting's entries to ``account_balances`` in the
posting's own transaction (striped rows per account, so concurrent batches do not
queue on a busy payee's row). So:

- :func:`card_check` reads one card's shadow balance from at most
  ``ledger.STRIPES`` rows, whatever the size of the ledger;
- :func:`report` (city-wide) sums the shadow balances by kind of account: its cost
  grows with the number of accounts, not with the number of records;
- :func:`audit` is the full pass that stays available: it streams the entries,
  sums them per account and compares with the shadow balances, so a shadow that
  drifted from the ledger (an entry written behind ``post_legs``' back) shows.

:func:`card_check` also reads the balance the card last reported, kept as records
post (:mod:`backend_sync.central.card_state`); the full balance-chaining
reconciliation of every card (:mod:`backend_sync.central.reconcile`: breaks,
gaps) stays available.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from backend_sync.central import card_state, ledger
from backend_sync.central.card_state import CardState
from backend_sync.central.models import (
    account_balances,
    accounts,
    archived_balances,
    cards,
    ledger_entries,
)
from backend_sync.central.service import Central

__all__ = ["Audit", "CardCheck", "audit", "card_check", "report"]


@dataclass(frozen=True, slots=True)
class CardCheck:
    """One card's shadow balance (what the ledger says is on the card) beside the
    balance the card itself last reported (:mod:`backend_sync.central.card_state`)."""

    asn: str
    balance: int
    entries: int
    reported: CardState | None = None  # None: no genuine record of the card yet

    @property
    def reported_balance(self) -> int | None:
        """The balance the card reported after its latest record."""
        return None if self.reported is None else self.reported.balance_after

    @property
    def agrees(self) -> bool:
        """The ledger holds what the card says it holds (or the card reported nothing)."""
        return self.reported is None or self.reported.balance_after == self.balance


def card_check(central: Central, asn: str) -> CardCheck | None:
    """The card's shadow balance and its latest reported state, in constant time:
    at most ``ledger.STRIPES`` + 3 rows read by their keys (None: no such card)."""
    asn = asn.upper()
    with central.engine.connect() as conn:
        acc = conn.execute(sa.select(cards.c.account_id).where(cards.c.asn == asn)).scalar()
        if acc is None:
            return None
        balance, entries = ledger.shadow_balance(conn, int(acc))
        state = card_state.reported(conn, asn)
    return CardCheck(asn, balance, entries, state)


def report(central: Central) -> dict[str, object]:
    """City-wide figures from the shadow balances: per kind of account the number
    of accounts, the sum of their balances and of their entries; ``total`` (all
    accounts) is 0 when the ledger balances."""
    ab, a = account_balances.c, accounts.c
    q = (
        sa.select(
            a.kind,
            sa.func.count(sa.distinct(ab.account_id)),
            sa.func.sum(ab.balance),
            sa.func.sum(ab.entries),
        )
        .select_from(account_balances.join(accounts, accounts.c.id == ab.account_id))
        .group_by(a.kind)
    )
    t0 = time.perf_counter()
    with central.engine.connect() as conn:
        kinds = {k: {"accounts": int(n), "balance": int(b), "entries": int(e)}
                 for k, n, b, e in conn.execute(q)}  # fmt: skip
    return {
        "kinds": kinds,
        "total": sum(v["balance"] for v in kinds.values()),
        "entries": sum(v["entries"] for v in kinds.values()),
        "seconds": round(time.perf_counter() - t0, 4),
    }


@dataclass
class Audit:
    """The full pass: every entry read once, per account against its shadow."""

    entries: int = 0
    accounts: int = 0
    total: int = 0
    mismatches: list[tuple[int, int, int]] = field(default_factory=list)  # id, ledger, shadow
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.mismatches and self.total == 0

    @property
    def rate(self) -> float:
        """Entries read per second."""
        return self.entries / self.seconds if self.seconds else 0.0

    def _account(self, acc: int, bal: int, n: int, shadow: dict[int, tuple[int, int]]) -> None:
        self.accounts += 1
        self.total += bal
        have = shadow.pop(int(acc), (0, 0))
        if have != (bal, n):
            self.mismatches.append((int(acc), bal, have[0]))


def audit(central: Central) -> Audit:
    """Stream the entries in account order (a server-side cursor: memory stays
    flat), sum per account, compare each with its shadow balance."""
    out = Audit()
    t0 = time.perf_counter()
    e = ledger_entries.c
    with central.engine.connect() as conn:
        shadow = {
            int(acc): (int(b), int(n))
            for acc, b, n in conn.execute(
                sa.select(
                    account_balances.c.account_id,
                    sa.func.sum(account_balances.c.balance),
                    sa.func.sum(account_balances.c.entries),
                ).group_by(account_balances.c.account_id)
            )
        }
        # Months archived (partitions.archive) left the entries table, not the
        # shadow balances: their per-account sums count as entries read.
        archived: dict[int, tuple[int, int]] = {}
        for acc, b, n in conn.execute(
            sa.select(
                archived_balances.c.account_id,
                sa.func.sum(archived_balances.c.balance),
                sa.func.sum(archived_balances.c.entries),
            ).group_by(archived_balances.c.account_id)
        ):
            archived[int(acc)] = (int(b), int(n))
        rows = conn.execution_options(stream_results=True, yield_per=50_000).execute(
            sa.select(e.account_id, e.amount).order_by(e.account_id)
        )
        current, bal, n = None, 0, 0
        for acc, amount in rows:
            if acc != current:
                if current is not None:
                    out._account(current, bal, n, shadow)
                current = acc
                bal, n = archived.pop(int(acc), (0, 0))
            bal += amount
            n += 1
            out.entries += 1
        if current is not None:
            out._account(current, bal, n, shadow)
        for acc, (b, n) in sorted(archived.items()):  # accounts with archived entries only
            out._account(acc, b, n, shadow)
    for acc, (b, n) in shadow.items():  # shadow rows with no entries at all
        if n or b:
            out.mismatches.append((acc, 0, b))
    out.seconds = time.perf_counter() - t0
    return out
