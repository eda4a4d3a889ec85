"""Each card's latest reported state, kept as records post.

A card counts purchases (06, 09) on its offline ATC and loads (02) on its online
ATC. Per card and counter, ``card_states`` holds the genuine record with the
highest ATC the central has: its ATC, the balances the card reported before and
after it, its card date and time. :func:`keep_latest` writes it in the batch's own
transaction (``BatchPoster._write``), only forward: a record arriving late with a
lower ATC (another kiosk's upload delayed) does not move it back. So the balance
the card last reported is read from at most two rows (:func:`reported`), whatever
the number of its records; ``civicard central reconcile`` still chains every
record of every card (the full check: breaks, gaps).

Of the two counters' latest records, the card's latest is the one that follows
the other by balance chaining (its balance before is the other's balance after);
when that does not decide, the later card date and time, then the later arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from backend_sync.central.models import AUTHENTIC, card_states

__all__ = ["OFFLINE", "ONLINE", "CardState", "keep_latest", "latest", "reported", "states"]

OFFLINE, ONLINE = 0, 1  # card_states.counter: purchases (06, 09); loads (02)

_COLS = ("asn", "counter", "atc", "balance_before", "balance_after", "card_date", "card_time",
         "terminal_id", "seq", "updated_ms")  # fmt: skip
_SET = ", ".join(f"{c} = excluded.{c}" for c in _COLS[2:])


@dataclass(frozen=True, slots=True)
class CardState:
    """The genuine record with the highest ATC on one of the card's counters."""

    asn: str
    counter: int
    atc: int
    balance_before: int
    balance_after: int
    card_date: str
    card_time: str
    terminal_id: str
    seq: int
    updated_ms: int

    @property
    def ref(self) -> str:
        return f"{self.terminal_id}:{self.seq}"


def keep_latest(
    conn: sa.Connection,
    terminal_id: str,
    cols: Sequence[str],
    rows: Sequence[Sequence[Any]],
    now_ms: int,
) -> None:
    """Move each card's state forward to one terminal's batch of genuine records
    (``rows`` as written to ``terminal_records``, in ``cols`` order): one statement,
    rows in key order (two batches never wait on each other's rows in a cycle), each
    one updating only a state with a lower ATC."""
    i_st, i_asn, i_tt, i_atc, i_amt, i_bb, i_ba, i_d, i_t, i_seq = (
        cols.index(c) for c in ("status", "asn", "ttype", "atc", "amount", "balance_before",
                                "balance_after", "card_date", "card_time", "seq")
    )  # fmt: skip
    best: dict[tuple[str, int], tuple[Any, ...]] = {}
    for r in rows:
        bb, atc = r[i_bb], r[i_atc]
        if bb is None or atc is None or r[i_st] not in AUTHENTIC or r[i_d] is None:
            continue
        counter = ONLINE if r[i_tt] == 2 else OFFLINE
        key = (r[i_asn], counter)
        have = best.get(key)
        if have is not None and have[2] >= atc:
            continue
        ba = r[i_ba]
        if ba is None:  # a proof without the balance: reported as the card computes it
            ba = bb + r[i_amt] if counter == ONLINE else bb - r[i_amt]
        best[key] = (key[0], counter, atc, bb, ba, r[i_d], r[i_t], r[i_seq])
    if not best:
        return
    vals = [best[k] for k in sorted(best)]
    names = ", ".join(_COLS)
    where = f" ON CONFLICT (asn, counter) DO UPDATE SET {_SET} WHERE card_states.atc < excluded.atc"
    if conn.dialect.name == "postgresql":
        # One array per column that varies (the terminal and the time are the
        # batch's), each sent as one comma-separated string: psycopg adapts a list
        # element by element in Python, which cost more than the rest of this
        # function. No value can hold a comma: ASNs are hex, card dates and times
        # digits (wire.py's patterns), the others integers.
        types = ("text", "smallint", "int", "bigint", "bigint", "text", "text", "bigint")
        arrays = ", ".join(f"string_to_array(%s, ',')::{t}[]" for t in types)
        cols_ = list(zip(*vals, strict=True))
        conn.exec_driver_sql(
            f"INSERT INTO card_states ({names}) SELECT a, c, n, bb, ba, d, t, %s, s, %s"  # noqa: S608
            f" FROM unnest({arrays}) AS u(a, c, n, bb, ba, d, t, s){where}",
            (terminal_id, now_ms, *(",".join(map(str, col)) for col in cols_)),
        )
        return
    marks = ", ".join(["?"] * len(_COLS))
    conn.exec_driver_sql(
        f"INSERT INTO card_states ({names}) VALUES ({marks}){where}",  # noqa: S608
        [(*v[:7], terminal_id, v[7], now_ms) for v in vals],
    )


def states(conn: sa.Connection, asn: str) -> list[CardState]:
    """The card's state on each counter it has used (at most two rows)."""
    q = sa.select(*(card_states.c[c] for c in _COLS)).where(card_states.c.asn == asn)
    return [CardState(*r) for r in conn.execute(q).all()]


def latest(found: Sequence[CardState]) -> CardState | None:
    """Of a card's counter states, the one the card reported last."""
    if len(found) < 2:
        return found[0] if found else None
    a, b = found
    a_follows, b_follows = a.balance_before == b.balance_after, b.balance_before == a.balance_after
    if a_follows != b_follows:
        return a if a_follows else b
    return max(found, key=lambda s: (s.card_date, s.card_time, s.updated_ms, s.counter))


def reported(conn: sa.Connection, asn: str) -> CardState | None:
    """The card's latest reported state: at most two rows read by the primary key."""
    return latest(states(conn, asn))
