"""Ingest into a ledger that already holds millions of records against an empty one.

Two databases on one durable private PostgreSQL (fsync on), both at the head
migration with the same cards, terminals and catalog: ``empty`` and ``full``.
``full`` first gets ``--fill`` old purchases written straight by SQL
(generate_series, not by ingesting them): their terminal records, exactly-once
keys, ledger transactions and two entries each, spread over the twelve months
before this one (each month loaded into a table of its own, then attached as its
partition, so its indexes are built once), and the shadow balances they imply.
Then the same pre-generated signed batches (bench_central.generate: real TACs,
chained, signed) are ingested into each, alternating in rounds (which goes first
alternates too), and the ratio full/empty of purchases/s is printed per round and
as the median (target at 10 M: at least 0.9).

    .venv/bin/python bench/bench_partition.py [--fill 10000000] [--records 40000]
        [--rounds 4] [--batch 2000] [--sqlite-fill 3000000] [--pg shared_buffers=128MB]

The server gets shared_buffers of a quarter of the machine's memory unless
``--pg`` says otherwise: what a dedicated database server starts with.

``--same-layout`` is a control: the empty database gets the same twelve past
month partitions (empty) and the same VACUUM ANALYZE and checkpoint, so only the
rows differ. ``--sqlite-fill N`` does the same on two SQLite files (unpartitioned
tables: the loss with N old records is what SQLite pays for one table per kind of
row).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_sync.central import ledger, partitions
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from bench.bench_central import generate, run, server_cpu, setup
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys

MONTHS = 12
_TR = ("terminal_id, seq, kind, status, asn, ttype, atc, ttc, amount, balance_before,"
       " balance_after, card_date, card_time, tac, payee, record_hash, ledger_txn_id,"
       " received_ms, catalog_version, service_id")  # fmt: skip


def _tr_select(lo: int, hi: int, t0: int, step: float) -> str:
    """Old purchases g in [lo, hi]: 100 old terminals, 1,000 ATCs per old card."""
    return (
        "SELECT '3206' || lpad((mod(g, 100))::text, 8, '0'), g, 'purchase', 'posted',"
        " '3299' || lpad((g / 1000)::text, 16, '0'), 6, mod(g, 1000), g, 100 + mod(g, 900), 100000,"
        " 100000 - 100 - mod(g, 900), '20251001', '101500', 'ABCDEF01', 'P001',"
        f" md5(g::text) || md5((-g)::text), g, {t0} + ((g - {lo}) * {step})::bigint, 1, 'S001'"
        f" FROM generate_series({lo}, {hi}) g"
    )


def fill_postgresql(central: Central, n: int) -> float:
    """``n`` old purchases in the twelve months before this one; returns seconds."""
    t_start = time.perf_counter()
    now = central.now_ms()
    y, m = time.gmtime(now / 1000)[:2]
    months = []
    for _ in range(MONTHS):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        months.append((y, m))
    months.reverse()
    per = -(-n // MONTHS)
    with central.engine.begin() as conn:
        ledger.account_ids(conn, ["payee:P001"])
        accs = [int(a) for a in conn.exec_driver_sql(
            "SELECT id FROM accounts WHERE kind = 'card' ORDER BY id").scalars()]  # fmt: skip
        payee = int(conn.exec_driver_sql(
            "SELECT id FROM accounts WHERE code = 'payee:P001'").scalar() or accs[0])  # fmt: skip
    arr = "ARRAY[" + ",".join(map(str, accs)) + "]::bigint[]"
    for k, (y, m) in enumerate(months):
        lo, hi = k * per + 1, min(n, (k + 1) * per)
        if lo > hi:
            break
        t0, t1 = partitions.month_start_ms(y, m), partitions.month_start_ms(
            *((y + 1, 1) if m == 12 else (y, m + 1)))  # fmt: skip
        step = (t1 - t0 - 1) / (hi - lo + 1)
        sfx = f"p{y:04d}{m:02d}"
        with central.engine.begin() as conn:
            x = conn.exec_driver_sql
            for t in partitions.TABLES:
                x(f"CREATE TABLE {t}_{sfx} (LIKE {t} INCLUDING DEFAULTS)")
            x(f"INSERT INTO terminal_records_{sfx} ({_TR}) {_tr_select(lo, hi, t0, step)}")
            x(f"INSERT INTO record_keys (terminal_id, seq, received_ms, asn, atc, ttype, ttc, tac)"
              f" SELECT terminal_id, seq, received_ms, asn, atc, ttype, ttc, tac"
              f" FROM terminal_records_{sfx}")  # fmt: skip
            x(f"INSERT INTO ledger_txns_{sfx} (id, kind, ref, created_ms)"
              f" SELECT ledger_txn_id, 'purchase', terminal_id || ':' || seq, received_ms"
              f" FROM terminal_records_{sfx}")  # fmt: skip
            x(
                f"INSERT INTO ledger_entries_{sfx} (id, txn_id, account_id, amount, created_ms)"
                f" SELECT 2 * g - 1, g, ({arr})[1 + mod(g, {len(accs)})], -(100 + mod(g, 900)),"
                f" {t0} + ((g - {lo}) * {step})::bigint FROM generate_series({lo}, {hi}) g"
                f" UNION ALL SELECT 2 * g, g, {payee}, 100 + mod(g, 900),"
                f" {t0} + ((g - {lo}) * {step})::bigint FROM generate_series({lo}, {hi}) g"
            )
            for t in partitions.TABLES:
                x(f"ALTER TABLE {t} ATTACH PARTITION {t}_{sfx} FOR VALUES FROM ({t0}) TO ({t1})")
        print(f"  filled {y:04d}-{m:02d}: {hi - lo + 1:,} purchases "
              f"({time.perf_counter() - t_start:.0f} s)", flush=True)  # fmt: skip
    with central.engine.begin() as conn:
        x = conn.exec_driver_sql
        # The shadow balances the old rows imply (what post_legs would have added).
        x("INSERT INTO account_balances (account_id, stripe, balance, entries)"
          " SELECT account_id, 15, SUM(amount), COUNT(*) FROM ledger_entries"
          " WHERE created_ms < %s GROUP BY account_id"
          " ON CONFLICT (account_id, stripe) DO UPDATE SET"
          " balance = account_balances.balance + EXCLUDED.balance,"
          " entries = account_balances.entries + EXCLUDED.entries",
          (partitions.month_start_ms(*time.gmtime(now / 1000)[:2]),))  # fmt: skip
        for t, top in (("ledger_txns", n), ("ledger_entries", 2 * n)):
            x(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), {top})")
    with central.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        # The fill's dirty pages written now, not by a checkpoint during the rounds.
        conn.exec_driver_sql("CHECKPOINT")
    return time.perf_counter() - t_start


def fill_sqlite(central: Central, n: int) -> float:
    """``n`` old purchases into SQLite's single tables (a recursive CTE)."""
    t_start = time.perf_counter()
    t0 = central.now_ms() - 365 * 86_400_000
    with central.engine.begin() as conn:
        ledger.account_ids(conn, ["payee:P001"])
        x = conn.exec_driver_sql
        acc = int(x("SELECT min(id) FROM accounts WHERE kind = 'card'").scalar_one())
        ncards = int(x("SELECT count(*) FROM accounts WHERE kind = 'card'").scalar_one())
        payee = int(x("SELECT id FROM accounts WHERE code = 'payee:P001'").scalar() or acc)
        gen = f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n})"
        x(f"{gen} INSERT INTO terminal_records ({_TR}) SELECT '3206' || printf('%08d', g % 100),"
          " g, 'purchase', 'posted', '3299' || printf('%016d', g / 1000), 6, g % 1000, g,"
          " 100 + g % 900, 100000, 100000 - 100 - g % 900, '20251001', '101500', 'ABCDEF01',"
          f" 'P001', printf('%064d', g), g, {t0} + g, 1, 'S001' FROM s")  # fmt: skip
        x("INSERT INTO record_keys (terminal_id, seq, received_ms, asn, atc, ttype, ttc, tac)"
          " SELECT terminal_id, seq, received_ms, asn, atc, ttype, ttc, tac"
          " FROM terminal_records WHERE terminal_id LIKE '3206%'")  # fmt: skip
        x(f"{gen} INSERT INTO ledger_txns (id, kind, ref, created_ms)"
          f" SELECT g, 'purchase', 'old:' || g, {t0} + g FROM s")  # fmt: skip
        x(
            f"{gen} INSERT INTO ledger_entries (id, txn_id, account_id, amount, created_ms)"
            f" SELECT 2 * g - 1, g, {acc} + g % {ncards}, -(100 + g % 900), {t0} + g FROM s"
            f" UNION ALL SELECT 2 * g, g, {payee}, 100 + g % 900, {t0} + g FROM s"
        )
    return time.perf_counter() - t_start


def alternate(
    dbs: dict[str, Central], slices: list[list[tuple[str, bytes]]], batch: int,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> tuple[list[float], list[float]]:  # fmt: skip
    """Ingest round r's batches into each database, alternating which goes first;
    prints the rates; returns the full/empty ratios of each round, of purchases per
    wall second and per CPU second (this process and, given ``server_cpu``, the
    database server's processes: the runs are one at a time, so the server's CPU
    in a run is that run's)."""
    for c in dbs.values():
        run(c, slices[0], batch)  # warm-up, not counted
    ratios, cpu_ratios = [], []
    for r, bodies in enumerate(slices[1:]):
        rate: dict[str, float] = {}
        cpu: dict[str, float] = {}
        order = ["empty", "full"] if r % 2 == 0 else ["full", "empty"]
        n = sum(body.count(b'"seq":') for _tid, body in bodies)  # records, not batches
        for name in order:
            t0, c0, s0 = time.perf_counter(), time.process_time(), server_cpu()
            run(dbs[name], bodies, batch)
            rate[name] = n / (time.perf_counter() - t0)
            cpu[name] = (time.process_time() - c0 + server_cpu() - s0) / n * 1e6
        ratios.append(rate["full"] / rate["empty"])
        cpu_ratios.append(cpu["empty"] / cpu["full"])
        e, f = rate["empty"], rate["full"]
        print(f"  round {r + 1}: empty {e:8,.0f}/s {cpu['empty']:5.1f} us CPU;"
              f"  full {f:8,.0f}/s {cpu['full']:5.1f} us CPU;  ratio {ratios[-1]:.3f}"
              f" (CPU {cpu_ratios[-1]:.3f}); load {os.getloadavg()[0]:.1f}",
              flush=True)  # fmt: skip
    return ratios, cpu_ratios


def keys_probe(dbs: dict[str, Central], rows: int = 20_000, rounds: int = 3) -> None:
    """What the one unpartitioned table costs as it grows: ``rows`` new keys inserted
    into ``record_keys`` of each database (rolled back), alternating; us per key."""
    got: dict[str, list[float]] = {"empty": [], "full": []}
    for r in range(rounds):
        for name in ("empty", "full") if r % 2 == 0 else ("full", "empty"):
            with dbs[name].engine.connect() as conn:
                t0 = time.perf_counter()
                conn.exec_driver_sql(
                    "INSERT INTO record_keys (terminal_id, seq, received_ms, asn, atc, ttype, ttc,"
                    " tac) SELECT '3207' || lpad(mod(g, 10)::text, 8, '0'), g, 0,"
                    " '3215' || lpad(mod(g * 7919, 3000)::text, 16, '0'), 100000 + g / 3000, 6,"
                    f" g, 'ABCDEF01' FROM generate_series(1, {rows}) g"
                )  # fmt: skip
                got[name].append((time.perf_counter() - t0) / rows * 1e6)
                conn.rollback()
    e, f = statistics.median(got["empty"]), statistics.median(got["full"])
    print(f"  record_keys: {e:.2f} us per new key in the empty ledger, {f:.2f} us in the full one "
          f"(median of {rounds}; load {os.getloadavg()[0]:.1f})")  # fmt: skip


def verdict(engine: str, fill: int, ratios: list[float], cpu_ratios: list[float]) -> None:
    med, cmed = statistics.median(ratios), statistics.median(cpu_ratios)
    print(f"{engine}, {fill:,} old purchases: ingest at {med:.3f} of an empty ledger's "
          f"purchases/s (median of {len(ratios)} rounds; target 0.9: "
          f"{'met' if med >= 0.9 else 'MISSED'}), {cmed:.3f} per CPU-second; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


def _setting(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not (eq and name and value):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fill", type=int, default=10_000_000, help="old purchases (PostgreSQL)")
    ap.add_argument("--sqlite-fill", type=int, default=0, help="old purchases (SQLite run)")
    ap.add_argument("--records", type=int, default=50_000, help="purchases ingested per DB")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument(
        "--same-layout", action="store_true",
        help="PostgreSQL: the empty database gets the twelve past month partitions too (empty)",
    )  # fmt: skip
    ap.add_argument(
        "--pg", action="append", default=[], metavar="NAME=VALUE", type=_setting,
        help="a PostgreSQL server setting (repeatable); default shared_buffers: a quarter of RAM",
    )  # fmt: skip
    args = ap.parse_args()
    settings = dict(args.pg)
    # A dedicated database server: PostgreSQL's documentation starts shared_buffers
    # at a quarter of the memory. Its stock 128 MB is smaller than the exactly-once
    # keys' indexes at 10 M records (about 1.9 GB): `--pg shared_buffers=128MB`.
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    settings.setdefault("shared_buffers", f"{max(128, ram_mb // 4)}MB")
    keys = IssuerKeys.generate(Algorithm.TDES)
    certs, bodies = generate(keys, args.records, args.batch)
    # One slice more than rounds: the first warms both databases up, uncounted (the
    # cards' keys are derived and cached by the first ingest that meets them).
    k = len(bodies) // (args.rounds + 1)
    slices = [bodies[i * k : (i + 1) * k] for i in range(args.rounds + 1)]
    print(f"generated {args.records} purchases in {len(bodies)} batches of {args.batch}; "
          f"a warm-up and {args.rounds} rounds of {k} batches")  # fmt: skip
    if args.fill:
        pg = PrivatePostgres(durable=True, settings=settings).start()
        print("postgresql settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        try:
            dbs = {n: setup(pg.create_database(f"bench_{n}"), keys, certs)
                   for n in ("empty", "full")}  # fmt: skip
            print(f"postgresql: filling {args.fill:,} old purchases", flush=True)
            secs = fill_postgresql(dbs["full"], args.fill)
            print(f"  filled in {secs:.0f} s")
            with dbs["full"].engine.connect() as conn:
                sizes = conn.exec_driver_sql(
                    "SELECT pg_size_pretty(pg_table_size('record_keys')),"
                    " pg_size_pretty(pg_indexes_size('record_keys')),"
                    " current_setting('shared_buffers')"
                ).one()
            print(f"  record_keys (unpartitioned): table {sizes[0]}, indexes {sizes[1]};"
                  f" shared_buffers {sizes[2]}")  # fmt: skip
            if args.same_layout:  # a control: the partitions without the rows
                c = dbs["empty"]
                y, m = time.gmtime(c.now_ms() / 1000)[:2]
                with c.engine.begin() as conn:
                    partitions.ensure(conn, c.now_ms(), since=(y - 1, m))
                with c.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
                    conn.exec_driver_sql("CHECKPOINT")
            verdict("postgresql", args.fill,
                    *alternate(dbs, slices, args.batch, lambda: server_cpu(pg)))  # fmt: skip
            keys_probe(dbs)
            for c in dbs.values():
                c.engine.dispose()
        finally:
            pg.stop()
    if args.sqlite_fill:
        with tempfile.TemporaryDirectory() as tmp:
            dbs = {n: setup(f"sqlite:///{Path(tmp) / (n + '.db')}", keys, certs)
                   for n in ("empty", "full")}  # fmt: skip
            print(f"sqlite: filling {args.sqlite_fill:,} old purchases", flush=True)
            print(f"  filled in {fill_sqlite(dbs['full'], args.sqlite_fill):.0f} s")
            verdict("sqlite", args.sqlite_fill, *alternate(dbs, slices, args.batch))
            for c in dbs.values():
                c.engine.dispose()


if __name__ == "__main__":
    main()
