"""The double-entry ledger: accounts, postings, balances, reconciliation.

Sign convention: every entry is a signed amount in fen on one account; the
entries of one ledger transaction sum to zero; an account's balance is the sum of
its entries. A card purse account's balance is the card's shadow balance. The
funding account goes negative as outside money (cash, bank) comes in. Entries and
transactions are append-only: triggers in the database refuse UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from backend_sync.central.models import account_balances, accounts, ledger_entries, ledger_txns

__all__ = [
    "DISPUTED",
    "FUNDING",
    "ID_BLOCK",
    "SETTLEMENT",
    "STRIPES",
    "SUSPENSE",
    "LedgerError",
    "Posting",
    "account_ids",
    "allocate_ids",
    "allocate_txn_ids",
    "balance",
    "bulk_insert",
    "card_account",
    "insert_ignore",
    "payee_account",
    "post",
    "post_legs",
    "shadow_balance",
    "unbalanced_transactions",
]

DISPUTED = "disputed"  # genuine debits whose payee the central could not confirm
FUNDING = "funding"
SETTLEMENT = "settlement"
SUSPENSE = "suspense"


class LedgerError(ValueError):
    """A posting that would break double entry."""


def card_account(asn: str) -> str:
    """Account code of a card's purse (its shadow balance)."""
    return f"card:{asn}"


def payee_account(payee: str) -> str:
    return f"payee:{payee}"


def _kind(code: str) -> str:
    return code.split(":", 1)[0] if ":" in code else code


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger transaction: ``legs`` are (account id, signed amount) pairs."""

    kind: str
    ref: str
    legs: tuple[tuple[int, int], ...]


def insert_ignore(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, object]], keys: list[str]
) -> None:
    """INSERT rows, skipping those that collide on ``keys`` (both engines)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(table).on_conflict_do_nothing(index_elements=keys), list(rows)
        )
    else:
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=keys), list(rows))


def account_ids(conn: sa.Connection, codes: Iterable[str]) -> dict[str, int]:
    """Ids of the accounts with these codes, creating missing ones."""
    wanted = set(codes)
    if not wanted:
        return {}
    sel = sa.select(accounts.c.code, accounts.c.id).where(accounts.c.code.in_(wanted))
    found: dict[str, int] = {c: i for c, i in conn.execute(sel)}
    missing = wanted - found.keys()
    if missing:
        # In code order: two batches creating the same new accounts then take their
        # index entries in one order (a set's order differs between sets, and
        # between processes: it deadlocked two uploads on PostgreSQL).
        rows: list[dict[str, object]] = [{"code": c, "kind": _kind(c)} for c in sorted(missing)]
        insert_ignore(conn, accounts, rows, ["code"])
        found.update({c: i for c, i in conn.execute(sel)})
    return found


def posting(kind: str, ref: str, *legs: tuple[int, int]) -> Posting:
    """A posting with a fresh id; refuses legs that do not sum to zero."""
    if sum(a for _, a in legs) != 0:
        raise LedgerError(f"{kind} {ref}: entries sum to {sum(a for _, a in legs)}, not 0")
    return Posting(kind, ref, tuple(legs))


# Ids are taken from PostgreSQL's sequences in blocks (migration 0014 sets their
# increment to ID_BLOCK): one nextval reserves ID_BLOCK ids for this transaction,
# instead of one nextval per row. Safe across replicas: each block is one nextval.
ID_BLOCK = 1024


def allocate_ids(conn: sa.Connection, table: sa.Table, n: int) -> list[int]:
    """``n`` fresh ids for ``table``'s ``id`` column (PostgreSQL: whole blocks of its
    sequence's increment; with increment 1, before migration 0014, one per id)."""
    if n == 0:
        return []
    seq = f"pg_get_serial_sequence('{table.name}', 'id')"
    # Read each time, not cached: a migration (or its downgrade) may change it, and
    # a stale, larger increment would hand out ids another session also gets.
    inc = int(conn.exec_driver_sql(
        f"SELECT seqincrement FROM pg_sequence WHERE seqrelid = {seq}::regclass"  # noqa: S608
    ).scalar_one())  # fmt: skip
    blocks = -(-n // inc)
    # The table name comes from the metadata, never from input.
    q = f"SELECT nextval({seq}) FROM generate_series(1, %s)"  # noqa: S608
    starts = conn.exec_driver_sql(q, (blocks,)).scalars()
    ids = [i for v in starts for i in range(int(v), int(v) + inc)]
    del ids[n:]
    return ids


def allocate_txn_ids(conn: sa.Connection, n: int) -> list[int]:
    """``n`` fresh ledger transaction ids, so entries can cite them in the same
    executemany. PostgreSQL: blocks of the id sequence (:func:`allocate_ids`).
    SQLite: after the current maximum, under the write lock BEGIN IMMEDIATE took."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        return allocate_ids(conn, ledger_txns, n)
    top = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM ledger_txns").scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


def bulk_insert(
    conn: sa.Connection, table: sa.Table, cols: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """One driver-level executemany: the set-based insert of the hot path.

    SQLAlchemy's per-row parameter processing costs more than the insert itself
    at ingest rates, so rows go to the driver as tuples already in driver types
    (plain ints and strings).
    """
    if not rows:
        return
    # Table and column names come from the metadata (a KeyError for anything
    # else), never from input; values are bound parameters or COPY data.
    names = ", ".join(table.c[c].name for c in cols)
    if conn.dialect.name == "postgresql":
        # COPY is PostgreSQL's set-based insert: one round trip, no per-row plan.
        raw: Any = conn.connection.dbapi_connection
        sql = f"COPY {table.name} ({names}) FROM STDIN"
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except conn.dialect.loaded_dbapi.IntegrityError as exc:
            # As SQLAlchemy would have raised it: callers handle one exception type.
            raise sa.exc.IntegrityError(sql, None, exc) from exc
        return
    marks = ", ".join(["?"] * len(cols))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))  # noqa: S608


STRIPES = 16  # rows per account in account_balances (see models.account_balances)


def _add_to_balances(conn: sa.Connection, deltas: dict[int, list[int]], stripe: int) -> None:
    """Add this transaction's entries to the shadow balances, one statement. Rows in
    account order, so two transactions never wait on each other's rows in a cycle."""
    if not deltas:
        return
    accs = sorted(deltas)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO account_balances (account_id, stripe, balance, entries)"
            " SELECT a, %s, b, n FROM unnest(string_to_array(%s, ',')::bigint[],"
            " string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[]) AS u(a, b, n)"
            " ON CONFLICT (account_id, stripe) DO UPDATE SET"
            " balance = account_balances.balance + EXCLUDED.balance,"
            " entries = account_balances.entries + EXCLUDED.entries",
            # Integers as comma-separated strings: psycopg adapts a list element by
            # element in Python (about three times the cost of the join).
            (
                stripe,
                ",".join(map(str, accs)),
                ",".join([str(deltas[a][0]) for a in accs]),
                ",".join([str(deltas[a][1]) for a in accs]),
            ),
        )
        return
    conn.exec_driver_sql(
        "INSERT INTO account_balances (account_id, stripe, balance, entries) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account_id, stripe) DO UPDATE SET"
        " balance = balance + excluded.balance, entries = entries + excluded.entries",
        [(a, stripe, deltas[a][0], deltas[a][1]) for a in accs],
    )


def shadow_balance(conn: sa.Connection, account_id: int) -> tuple[int, int]:
    """(balance, entries) of one account from the shadow balances: at most
    :data:`STRIPES` rows read, whatever the size of the ledger."""
    q = sa.select(
        sa.func.coalesce(sa.func.sum(account_balances.c.balance), 0),
        sa.func.coalesce(sa.func.sum(account_balances.c.entries), 0),
    ).where(account_balances.c.account_id == account_id)
    b, n = conn.execute(q).one()
    return int(b), int(n)


def post(conn: sa.Connection, postings: Sequence[Posting], now_ms: int) -> list[int]:
    """Append postings, set-based (one executemany per table); returns their ids."""
    return post_legs(conn, [(p.kind, p.ref, p.legs) for p in postings], now_ms)


def post_legs(
    conn: sa.Connection,
    postings: Sequence[tuple[str, str, Sequence[tuple[int, int]]]],
    now_ms: int,
) -> list[int]:
    """Append (kind, ref, legs) postings, legs being (account id, amount); refuses
    the whole set if any posting's entries do not sum to zero. Returns their ids."""
    if not postings:
        return []
    ids = allocate_txn_ids(conn, len(postings))
    txns: list[tuple[int, str, str, int]] = []
    entries: list[tuple[int, int, int, int]] = []
    deltas: dict[int, list[int]] = {}
    for i, (kind, ref, legs) in zip(ids, postings, strict=True):
        total = 0
        for acc, amt in legs:
            entries.append((i, acc, amt, now_ms))  # created_ms: the partition key (0017)
            total += amt
            d = deltas.get(acc)
            if d is None:
                deltas[acc] = [amt, 1]
            else:
                d[0] += amt
                d[1] += 1
        if total:
            raise LedgerError(f"{kind} {ref}: entries sum to {total}, not 0")
        txns.append((i, kind, ref, now_ms))
    # Concurrent transactions take different id blocks, hence (mostly) other stripes.
    _add_to_balances(conn, deltas, (ids[0] // ID_BLOCK) % STRIPES)
    bulk_insert(conn, ledger_txns, ("id", "kind", "ref", "created_ms"), txns)
    if conn.dialect.name == "postgresql":
        # Entry ids in blocks too: COPY would otherwise call nextval once per row.
        entry_ids = allocate_ids(conn, ledger_entries, len(entries))
        rows = [(e, *x) for e, x in zip(entry_ids, entries, strict=True)]
        cols = ("id", "txn_id", "account_id", "amount", "created_ms")
        bulk_insert(conn, ledger_entries, cols, rows)
    else:
        bulk_insert(conn, ledger_entries, ("txn_id", "account_id", "amount", "created_ms"), entries)
    return ids


def balance(conn: sa.Connection, code: str) -> int:
    """Balance of one account (0 for an account never posted to)."""
    q = (
        sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount), 0))
        .select_from(ledger_entries.join(accounts, accounts.c.id == ledger_entries.c.account_id))
        .where(accounts.c.code == code)
    )
    return int(conn.execute(q).scalar_one())


def balances(conn: sa.Connection, kind: str | None = None) -> dict[str, int]:
    """Balance of every account (of one kind) that has entries."""
    q = (
        sa.select(accounts.c.code, sa.func.sum(ledger_entries.c.amount))
        .select_from(ledger_entries.join(accounts, accounts.c.id == ledger_entries.c.account_id))
        .group_by(accounts.c.code)
    )
    if kind is not None:
        q = q.where(accounts.c.kind == kind)
    return {c: int(s) for c, s in conn.execute(q)}


def unbalanced_transactions(conn: sa.Connection) -> list[tuple[int, int]]:
    """Ledger transactions whose entries do not sum to zero (always empty)."""
    q = (
        sa.select(ledger_entries.c.txn_id, sa.func.sum(ledger_entries.c.amount))
        .group_by(ledger_entries.c.txn_id)
        .having(sa.func.sum(ledger_entries.c.amount) != 0)
    )
    return [(t, int(s)) for t, s in conn.execute(q)]
