"""Reconciliation at ledger scale: the incremental report and card check against the
full streaming audit, on a private PostgreSQL.

The ledger is filled by SQL (``generate_series``) with N purchases, each a ledger
transaction of two entries (card -X, payee +X) over ``--cards`` card accounts and
40 payees, and the shadow balances as ``ledger.post_legs`` keeps them (summed from
the entries, as migration 0014 fills them). Timed: ``shadow.report`` (city-wide,
median of 5), ``shadow.card_check`` (median of 200 random cards) and
``shadow.audit`` (every entry streamed and summed; its rate in entries/s and
records/s). The report's target: under 1 s at 10 M records.

    .venv/bin/python bench/bench_reconcile.py [--records 10000000] [--cards 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from backend_sync import chain
from backend_sync.central import shadow
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys, KeyRole


def fill(central: Central, records: int, n_cards: int) -> None:
    with central.engine.begin() as conn:
        q = conn.exec_driver_sql
        q("INSERT INTO accounts (code, kind) SELECT 'card:3215' || lpad(i::text, 16, '0'), 'card'"
          " FROM generate_series(1, %s) i", (n_cards,))  # fmt: skip
        q("INSERT INTO accounts (code, kind) SELECT 'payee:P' || i, 'payee'"
          " FROM generate_series(1, 40) i")  # fmt: skip
        q("INSERT INTO cards (asn, algorithm, key_version, status, account_id, registered_ms,"
          " updated_ms) SELECT substr(code, 6), 0, 1, 'active', id, 0, 0 FROM accounts"
          " WHERE kind = 'card'")  # fmt: skip
        lo = q("SELECT MIN(id) FROM accounts WHERE kind = 'card'").scalar_one()
        plo = q("SELECT MIN(id) FROM accounts WHERE kind = 'payee'").scalar_one()
    step = 1_000_000
    for start in range(0, records, step):
        n = min(step, records - start)
        with central.engine.begin() as conn:
            q = conn.exec_driver_sql
            q("INSERT INTO ledger_txns (id, kind, ref, created_ms) SELECT i, 'purchase',"
              " 'T:' || i, 0 FROM generate_series(%s::bigint, %s::bigint) i",
              (start + 1, start + n))  # fmt: skip
            q("INSERT INTO ledger_entries (id, txn_id, account_id, amount)"
              " SELECT 2 * i, i, %s + (i * 7919) %% %s, -(100 + i %% 900)"
              " FROM generate_series(%s::bigint, %s::bigint) i"
              " UNION ALL SELECT 2 * i + 1, i, %s + i %% 40, 100 + i %% 900"
              " FROM generate_series(%s::bigint, %s::bigint) i",
              (lo, n_cards, start + 1, start + n, plo, start + 1, start + n))  # fmt: skip
    with central.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO account_balances (account_id, stripe, balance, entries)"
            " SELECT account_id, account_id %% 16, SUM(amount), COUNT(*) FROM ledger_entries"
            " GROUP BY account_id"
        )
        # Each card's latest reported state (card_states), as posting keeps it: the
        # card's offline counter at its number of purchases, its balance after the
        # last one the ledger's own (the synthetic ledger starts every card at 0).
        conn.exec_driver_sql(
            "INSERT INTO card_states (asn, counter, atc, balance_before, balance_after,"
            " card_date, card_time, terminal_id, seq, updated_ms)"
            " SELECT c.asn, 0, b.entries, b.balance + 100, b.balance, '20261201', '120000',"
            " 'BENCH0000001', b.entries, 0 FROM cards c JOIN account_balances b"
            " ON b.account_id = c.account_id"
        )
        conn.exec_driver_sql("ANALYZE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--cards", type=int, default=100_000)
    args = ap.parse_args()
    pg = PrivatePostgres(durable=True).start()
    try:
        engine = make_engine(pg.create_database("recon"))
        upgrade(engine)
        keys = IssuerKeys.generate(Algorithm.TDES).subset(KeyRole.TAC)
        central = Central(engine=engine, crypto=CardCrypto.of(keys),
                          signing_key=chain.generate_key(), admin_token="")  # fmt: skip
        t0 = time.perf_counter()
        fill(central, args.records, args.cards)
        print(f"ledger filled: {args.records:,} purchases, {2 * args.records:,} entries, "
              f"{args.cards:,} cards ({time.perf_counter() - t0:.0f} s)")  # fmt: skip
        times = []
        for _ in range(5):
            rep = shadow.report(central)
            times.append(float(rep["seconds"]))  # type: ignore[arg-type]
        assert rep["total"] == 0 and rep["entries"] == 2 * args.records, rep
        med = statistics.median(times)
        verdict = "meets" if med < 1 else "MISSES"
        print(f"incremental city-wide report: median {med * 1000:.1f} ms over 5 "
              f"(target < 1 s at 10 M records: {verdict}); load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        rng = random.Random(21)
        checks = []
        for _ in range(200):
            asn = f"3215{rng.randrange(1, args.cards + 1):016d}"
            c0 = time.perf_counter()
            check = shadow.card_check(central, asn)
            checks.append(time.perf_counter() - c0)
            assert check is not None and check.reported is not None and check.agrees, check
        med_check = statistics.median(checks) * 1000
        print(f"card check (shadow balance beside the card's latest reported state): median "
              f"{med_check:.2f} ms over 200 cards, every one agreeing")  # fmt: skip
        audit = shadow.audit(central)
        assert audit.clean, audit.mismatches[:5]
        print(f"full streaming audit: {audit.entries:,} entries in {audit.seconds:.1f} s "
              f"({audit.rate:,.0f} entries/s, {audit.rate / 2:,.0f} records/s), clean; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        engine.dispose()
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
