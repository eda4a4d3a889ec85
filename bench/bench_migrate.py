"""How long a central that already holds a ledger takes to upgrade to partitions.

Migration 0017 turns ``ledger_txns``, ``ledger_entries`` and ``terminal_records``
into partitioned tables (the old records and transactions are attached as one
history partition, not copied; the entries are written once more, with their
ingest time), fills ``record_keys`` and builds its unique indexes; 0018 fills
each card's latest reported state from the records; 0019 gives each ledger
partition its TRUNCATE refusal. This benchmark fills a database at revision
0016 with ``--records`` purchases written straight by SQL (the same rows
as bench_partition.py's: 100 terminals, 1,000 ATCs per card, spread over the
year before this month), then times each migration on a durable private
PostgreSQL, checks what it made, and prints seconds and records/s.

    .venv/bin/python bench/bench_migrate.py [--records 1000000] [--pg shared_buffers=128MB]

The server gets shared_buffers of a quarter of the machine's memory unless
``--pg`` says otherwise (as bench_partition.py). The upgrade holds its locks for
the whole time printed: the central is stopped for it (docs/scale.md, "Migration 0017").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_sync.central import partitions
from backend_sync.central.db import current_revision, make_engine, upgrade
from backend_sync.pgserver import PrivatePostgres
from bench.bench_partition import _TR, _setting, _tr_select

YEAR_MS = 365 * 86_400_000


def fill(url: str, n: int) -> float:
    """``n`` purchases at revision 0016, as that schema holds them; returns seconds."""
    t_start = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine, "0016")
    end = partitions.month_start_ms(*time.gmtime()[:2])  # before this month
    t0, step = end - YEAR_MS, (YEAR_MS - 1) / n
    with engine.begin() as conn:
        x = conn.exec_driver_sql
        x(f"INSERT INTO terminal_records ({_TR}) {_tr_select(1, n, t0, step)}")
        x("INSERT INTO ledger_txns (id, kind, ref, created_ms) SELECT ledger_txn_id,"
          " 'purchase', terminal_id || ':' || seq, received_ms FROM terminal_records")  # fmt: skip
        series = f"FROM generate_series(1, {n}) g"
        x("INSERT INTO ledger_entries (id, txn_id, account_id, amount)"
          f" SELECT 2 * g - 1, g, 1 + mod(g, 1000), -(100 + mod(g, 900)) {series}"
          f" UNION ALL SELECT 2 * g, g, 1001, 100 + mod(g, 900) {series}")  # fmt: skip
        for t, top in (("ledger_txns", n), ("ledger_entries", 2 * n)):
            x(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), {top})")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CHECKPOINT")  # the fill's pages written before the timer
    engine.dispose()
    return time.perf_counter() - t_start


def migrate(url: str, n: int) -> dict[str, float]:
    """Seconds of each migration (a fresh engine, as `civicard central migrate`)."""
    took: dict[str, float] = {}
    for rev in ("0017", "0018", "0019"):
        engine = make_engine(url)
        t0 = time.perf_counter()
        upgrade(engine, rev)
        took[rev] = time.perf_counter() - t0
        assert current_revision(engine) == rev
        engine.dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        records = q("SELECT count(*) FROM terminal_records").scalar_one()
        keys = q("SELECT count(*) FROM record_keys WHERE asn IS NOT NULL").scalar_one()
        entries = q("SELECT count(*) FROM ledger_entries").scalar_one()
        undated = q("SELECT count(*) FROM ledger_entries WHERE created_ms = 0").scalar_one()
        moved = q(
            "SELECT count(*) FROM ledger_entries e JOIN ledger_txns t ON t.id = e.txn_id"
            " WHERE e.created_ms <> t.created_ms"
        ).scalar_one()
        states = q("SELECT count(*) FROM card_states").scalar_one()
        cards = q("SELECT count(DISTINCT asn) FROM terminal_records").scalar_one()
        history = q(
            "SELECT count(*) FROM pg_inherits WHERE inhrelid::regclass::text LIKE '%%_history'"
        ).scalar_one()
    engine.dispose()
    problems = [
        what
        for what, ok in (
            (f"{records} records, not {n}", records == n),
            (f"{keys} exactly-once keys, not {n}", keys == n),
            (f"{entries} ledger entries, not {2 * n}", entries == 2 * n),
            (f"{undated} entries without their ingest time", undated == 0),
            (f"{moved} entries with another time than their transaction's", moved == 0),
            (f"{states} card states for {cards} cards", states == cards),
            (f"{history} history partitions, not 3", history == 3),
        )
        if not ok
    ]
    if problems:
        raise SystemExit("migration incomplete: " + "; ".join(problems))
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--pg", action="append", default=[], type=_setting, metavar="NAME=VALUE",
                    help="a PostgreSQL server setting (repeatable); default shared_buffers: a "
                    "quarter of RAM")  # fmt: skip
    args = ap.parse_args()
    settings = dict(args.pg)
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    settings.setdefault("shared_buffers", f"{max(128, ram_mb // 4)}MB")
    n = args.records
    pg = PrivatePostgres(durable=True, settings=settings).start()
    try:
        url = pg.create_database("migrate")
        took = fill(url, n)
        print(f"filled {n:,} purchases at revision 0016 ({took:.0f} s); shared_buffers "
              f"{settings['shared_buffers']}", flush=True)  # fmt: skip
        times = migrate(url, n)
    finally:
        pg.stop()
    for rev, s in times.items():
        print(f"migration {rev}: {s:7.1f} s  ({n / s:,.0f} records/s)")
    total = sum(times.values())
    print(f"0016 -> 0019 on {n:,} records: {total:.1f} s ({n / total:,.0f} records/s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
