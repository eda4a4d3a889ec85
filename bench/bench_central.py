"""Central ingest: verified purchases posted per second, SQLite and PostgreSQL.

Pre-generated realistic records: cards keyed from TEST ONLY issuer keys, real
TACs, each terminal's records hash-chained and its batches ECDSA-signed. Timed:
the whole ingest of an upload body (JSON parse and validation, signature, chain,
TAC of every record, set-based inserts, the commit), as the HTTP endpoint runs it.

    .venv/bin/python bench/bench_central.py [--records 60000] [--batch 2000] [--engine both]
        [--rounds 2] [--gc-default] [--cards 3000]
    .venv/bin/python bench/bench_central.py --http [--workers 1,2] [--records 60000] [--rounds 2]

On PostgreSQL it alternates ids taken in blocks (migration 0014) with one
nextval per id, prints the CPU per purchase of this process and every
PostgreSQL process together, and the same server's raw COPY ceiling for the
rows a purchase writes, with the ingest's share of it.

``--http`` measures the same batches through ``civicard central serve`` on
PostgreSQL over loopback, with 1 and 2 API processes (``--workers``) alternating
with an in-process run on the same server: purchases/s, the CPU per purchase of
every central and PostgreSQL process, the speed-up from one process to two and
HTTP against in-process. One client thread per terminal posts that terminal's
batches in order (the bodies built before the timer), as kiosks upload.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from backend_sync import chain
from backend_sync.central import documents, registry
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.cli import tune_gc
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.ingest import ingest_json
from backend_sync.central.ledger import ID_BLOCK
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres, free_port
from backend_sync.terminal_certs import (
    make_test_terminal_ca,
    save_test_terminal_ca,
    terminal_cert_pem_for,
)
from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

# TEST ONLY terminal CA the benchmark's central trusts.
TERMINAL_CA = make_test_terminal_ca(dt.datetime.now(dt.UTC))

TERMINALS = 10
CARDS = 3000
# Fixed-price catalog items the purchases cite (the central derives payees from them).
ITEMS = [(f"S{k:03d}", f"P{k:03d}", 100 + (k * 123) % 4900) for k in range(40)]
CATALOG = {"groups": [], "services": [
    {"id": sid, "flow": "fixed_price", "payment": {"payee": payee, "amount_fen": price}}
    for sid, payee, price in ITEMS
]}  # fmt: skip


def generate(
    keys: IssuerKeys, n: int, batch: int
) -> tuple[list[tuple[str, str]], list[tuple[str, bytes]]]:
    """(terminal id, cert) pairs and (terminal id, upload body) batches in upload order."""
    warnings.simplefilter("ignore")
    asns = [f"3215{i:016d}" for i in range(1, CARDS + 1)]
    mtk, alg = keys.master(KeyRole.TAC, 1), keys.algorithm
    tac_keys = {a: crypto.tac_key(crypto.diversify(mtk, bytes.fromhex(a), alg), alg) for a in asns}
    atc = dict.fromkeys(asns, 0)
    bal = dict.fromkeys(asns, 80_000)
    terms = []
    per_term: dict[str, list[dict[str, object]]] = {}
    for t in range(TERMINALS):
        tid = f"3205000{t:05d}"
        key = chain.generate_key()
        terms.append((tid, key))
        per_term[tid] = []
    for i in range(n):
        tid, _ = terms[i % TERMINALS]
        asn = asns[(i * 7919) % CARDS]
        sid, payee, amount = ITEMS[(i // 7) % len(ITEMS)]  # no card overdrawn
        recs = per_term[tid]
        ttc = len(recs) + 1
        date, tm = "20261128", f"{8 + (i // 3600) % 12:02d}{(i // 60) % 60:02d}{i % 60:02d}"
        tac = crypto.purchase_tac(
            tac_keys[asn], amount, TransactionType.PURCHASE, bytes.fromhex(tid), ttc,
            bytes.fromhex(date), bytes.fromhex(tm), alg,
        )  # fmt: skip
        before = bal[asn]
        bal[asn] -= amount
        recs.append({
            "kind": "purchase", "seq": ttc, "terminal_id": tid, "asn": asn, "amount": amount,
            "date": date, "time": tm, "key_version": 1, "algorithm": int(keys.algorithm),
            "balance_before": before, "atc": atc[asn], "ttc": ttc, "balance_after": bal[asn],
            "tac": tac.hex().upper(), "mac2": "00000000", "payee": payee,
            "catalog_version": 1, "service_id": sid,
        })  # fmt: skip
        atc[asn] += 1
    bodies: list[tuple[str, bytes]] = []
    certs = []
    for tid, key in terms:
        certs.append((tid, terminal_cert_pem_for(TERMINAL_CA, tid, key)))
        recs = per_term[tid]
        prev = chain.genesis_hash(bytes.fromhex(tid))
        hashes = chain.chain_hashes(prev, recs)
        for s in range(0, len(recs), batch):
            part = recs[s : s + batch]
            p = prev if s == 0 else hashes[s - 1]
            head = hashes[s + len(part) - 1].hex().upper()
            header = {"terminal_id": tid, "first_seq": part[0]["seq"],
                      "last_seq": part[-1]["seq"], "prev_hash": p.hex().upper(),
                      "head_hash": head}  # fmt: skip
            body = (b'{"header":' + chain.canonical(header) + b',"records":['
                    + b",".join(chain.canonical(r) for r in part) + b'],"signature":"'
                    + chain.sign(key, chain.canonical(header)).encode() + b'"}')  # fmt: skip
            bodies.append((tid, body))
    # Interleave terminals as a busy central sees them.
    order = sorted(range(len(bodies)), key=lambda k: (k % (len(bodies) // TERMINALS or 1), k))
    return certs, [bodies[k] for k in order]


def setup(url: str, keys: IssuerKeys, certs: list[tuple[str, str]]) -> Central:
    engine = make_engine(url)
    upgrade(engine)
    central = Central(engine=engine, crypto=CardCrypto.of(keys.subset(KeyRole.LOAD, KeyRole.TAC)),
                      signing_key=chain.generate_key(), admin_token="",
                      terminal_cas=[TERMINAL_CA[1]])  # fmt: skip
    asns = [f"3215{i:016d}" for i in range(1, CARDS + 1)]
    registry.register_cards(central, asns, algorithm=int(keys.algorithm), key_version=1)
    for tid, cert in certs:
        registry.enroll_terminal(central, terminal_id=tid, cert_pem=cert)
    assert documents.publish(central, "catalog", CATALOG) == 1
    return central


def run(
    central: Central, bodies: list[tuple[str, bytes]], batch: int
) -> tuple[list[float], list[float]]:
    """Per-batch wall and ingest-thread CPU rates (purchases/s)."""
    rates, cpu_rates = [], []
    for _tid, body in bodies:
        n = len(orjson.loads(body)["records"])  # a terminal's last batch may be short
        t0, c0 = time.perf_counter(), time.thread_time()
        ack = ingest_json(central, body)
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        assert ack.status == "ok" and not ack.results, ack
        rates.append(n / dt)
        cpu_rates.append(n / dc)
    return rates, cpu_rates


def server_cpu(pg: PrivatePostgres) -> float:
    """CPU seconds of every process of the private PostgreSQL (postmaster, backends,
    WAL writer, checkpointer), from /proc: the database's share of the work."""
    assert pg.proc is not None
    return proc_cpu(int((pg.root / "data" / "postmaster.pid").read_text().split()[0]))


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (/proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d.name) == pid or int(f[1]) == pid:
            total += (int(f[11]) + int(f[12])) / tick
    return total


def copy_ceiling(
    central: Central, rows: int, server: Callable[[], float] | None = None
) -> tuple[float, float]:
    """Rows/s PostgreSQL takes by COPY into copies of the ingest tables (same
    columns, indexes and constraints), in one transaction per 2,000 purchases: the
    database's own ceiling for the rows a purchase writes. The COPY text of every
    round is built before the timer (fresh keys per round, as the ingest writes new
    records), so only the server's work and the socket are timed."""
    tables = ("terminal_records", "record_keys", "ledger_txns", "ledger_entries")
    per_purchase = {"terminal_records": 1, "record_keys": 1, "ledger_txns": 1, "ledger_entries": 2}
    with central.engine.begin() as conn:
        shapes = {}
        for t in tables:
            conn.exec_driver_sql(f"CREATE TABLE copy_{t} (LIKE {t} INCLUDING ALL)"
                                 " WITH (autovacuum_enabled = off)")  # fmt: skip
            shapes[t] = conn.exec_driver_sql(f"SELECT * FROM {t} LIMIT 8000").all()
    per_round = sum(min(len(shapes[t]), 2000 * per_purchase[t]) for t in tables)
    texts: list[list[tuple[str, bytes]]] = []
    for rnd in range(1, -(-rows // per_round) + 1):
        parts = []
        for t in tables:
            cols = list(shapes[t][0]._fields)
            lines = []
            for r in shapes[t][: 2000 * per_purchase[t]]:
                row = list(r)
                if t in ("terminal_records", "record_keys"):
                    row[cols.index("seq")] += rnd * 10_000_000
                    row[cols.index("ttc")] += rnd * 10_000_000
                    asn = row[cols.index("asn")]
                    row[cols.index("asn")] = f"{rnd:04d}{asn[4:]}"
                else:
                    row[cols.index("id")] += rnd * 10_000_000
                lines.append("\t".join("\\N" if v is None else str(v) for v in row))
            parts.append((f"COPY copy_{t} ({', '.join(cols)}) FROM STDIN",
                          ("\n".join(lines) + "\n").encode()))  # fmt: skip
        texts.append(parts)
    with central.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The ingest's tables vacuumed now, so that no autovacuum of them runs (and
        # is counted in the server's CPU) while the ceiling is timed.
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")
    raw = central.engine.raw_connection()
    pgconn: Any = raw.driver_connection  # psycopg's own connection: COPY
    s0 = server() if server else 0.0
    t0 = time.perf_counter()
    try:
        for parts in texts:
            with pgconn.cursor() as cur:
                for sql, data in parts:
                    with cur.copy(sql) as cp:
                        cp.write(data)
            pgconn.commit()
    finally:
        raw.close()
    wall = time.perf_counter() - t0
    cpu = (server() - s0) if server else 0.0
    return len(texts) * per_round / wall, cpu / (len(texts) * per_round)


def floor(central: Central, bodies: list[tuple[str, bytes]]) -> dict[str, float]:
    """CPU seconds per purchase of the steps every ingest of these batches takes
    before the database, each timed alone over every body: parsing with strict
    validation, the chain, the signature, the TACs (the cards' keys already cached
    by the run before)."""
    from backend_sync.central.posting import precompute_tacs
    from backend_sync.wire import Batch

    docs = [orjson.loads(b) for _, b in bodies]
    batches = [Batch.model_validate(d, strict=True) for d in docs]
    n = sum(len(b.records) for b in batches)
    with central.engine.connect() as conn:
        keys = {tid: central.terminal_key(conn, tid) for tid in {t for t, _ in bodies}}
    steps: dict[str, Callable[[], object]] = {
        "parse and validate": lambda: [
            Batch.model_validate(orjson.loads(b), strict=True) for _, b in bodies
        ],
        "chain": lambda: [
            chain.chain_hashes(bytes.fromhex(b.header.prev_hash), d["records"])
            for b, d in zip(batches, docs, strict=True)
        ],
        "signature": lambda: [
            chain.verify(
                keys[b.header.terminal_id],
                chain.canonical(b.header.model_dump(mode="json")),
                b.signature,
            )
            for b in batches
        ],
        "TACs": lambda: [precompute_tacs(central, b.records) for b in batches],
    }
    out = {}
    for name, step in steps.items():
        c0 = time.thread_time()
        step()
        out[name] = (time.thread_time() - c0) / n
    return out


def main() -> None:
    global CARDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=60_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=2, help="PostgreSQL: alternating rounds")
    ap.add_argument("--gc-default", action="store_true",
                    help="Python's collector as is (not tuned as `central serve`)")  # fmt: skip
    ap.add_argument(
        "--http",
        action="store_true",
        help="PostgreSQL through `central serve` over loopback (see --workers)",
    )
    ap.add_argument("--workers", default="1,2", help="--http: API process counts alternated")
    ap.add_argument("--cards", type=int, default=CARDS,
                    help="cards the purchases spread over: the default reuses each card "
                    "about 20 times in 60,000 purchases (its keys cached at the central); "
                    "as many cards as purchases makes each one new to it")  # fmt: skip
    args = ap.parse_args()
    CARDS = args.cards
    if math.gcd(CARDS, 7919) != 1:
        ap.error("--cards must not be a multiple of 7919 (the stride over the cards)")
    keys = IssuerKeys.generate(Algorithm.TDES)
    t0 = time.perf_counter()
    certs, bodies = generate(keys, args.records, args.batch)
    print(f"generated {args.records} purchases on {CARDS} cards in {len(bodies)} signed batches "
          f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    if not args.gc_default:
        tune_gc()  # as `civicard central serve` runs (its start-up objects: the bench's)
    print(f"collector thresholds {gc.get_threshold()}")
    if args.http:
        http(keys, certs, bodies, args)
        return
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            central = setup(f"sqlite:///{Path(tmp) / 'central.db'}", keys, certs)
            rates, cpu_rates = run(central, bodies, args.batch)
            central.engine.dispose()
        report("sqlite", rates, cpu_rates, args.batch, 15_000)
    if args.engine in ("postgresql", "both"):
        postgres(keys, certs, bodies, args)


def report(name: str, rates: list[float], cpu_rates: list[float], batch: int, target: int) -> None:
    med = statistics.median(rates)
    total = len(rates) * batch / sum(batch / r for r in rates)
    verdict = "meets" if med >= target else f"MISSES by {target - med:.0f}/s"
    print(f"{name:14s} ingest median {med:8.0f} purchases/s  (overall {total:8.0f}/s, "
          f"batch {batch}, {len(rates)} batches; target {target}: {verdict})")  # fmt: skip
    # On a shared machine the wall clock includes other processes' turns; the
    # ingest thread's own CPU time does not.
    print(f"{'':14s} per CPU-second of the ingest thread: median "
          f"{statistics.median(cpu_rates):8.0f} purchases/s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


def postgres(keys: IssuerKeys, certs: list[tuple[str, str]], bodies: list[tuple[str, bytes]],
             args: argparse.Namespace) -> None:  # fmt: skip
    """Rounds alternating ids in blocks (migration 0014) with one nextval per id,
    each on a fresh database of one durable server; the CPU of every process."""
    pg = PrivatePostgres(durable=True).start()
    n = args.records
    try:
        for r in range(args.rounds):
            for block in (ID_BLOCK, 1):
                central = setup(pg.create_database(f"bench{r}_{block}"), keys, certs)
                with central.engine.begin() as conn:
                    for t in ("ledger_txns", "ledger_entries"):
                        seq = f"pg_get_serial_sequence('{t}', 'id')"
                        conn.exec_driver_sql(
                            f"DO $$ BEGIN EXECUTE 'ALTER SEQUENCE ' || {seq} ||"
                            f" ' INCREMENT BY {block}'; END $$"
                        )
                c0, s0, w0 = time.process_time(), server_cpu(pg), time.perf_counter()
                rates, cpu_rates = run(central, bodies, args.batch)
                cpu = time.process_time() - c0 + server_cpu(pg) - s0
                wall = time.perf_counter() - w0
                ceiling, pg_row = copy_ceiling(central, 5 * n, lambda: server_cpu(pg))
                ceiling /= 5
                steps = floor(central, bodies) if block > 1 else {}
                central.engine.dispose()
                name = f"postgresql/{'blocks' if block > 1 else 'nextval'}"
                report(name, rates, cpu_rates, args.batch, 45_000)
                print(f"{'':14s} CPU per purchase, this process + PostgreSQL: "
                      f"{cpu / n * 1e6:.1f} us (target 20); {n / wall:,.0f} purchases/s overall;"
                      f" raw COPY ceiling {ceiling:,.0f} purchases/s (5 rows each): ingest at "
                      f"{statistics.median(rates) / ceiling:.0%} of it")  # fmt: skip
                if steps:
                    # What no ingest of these rows can go below: PostgreSQL's own CPU
                    # for a purchase's five rows at its COPY ceiling, and the steps
                    # before the database, each alone.
                    low = 5 * pg_row + sum(steps.values())
                    print(
                        f"{'':14s} floor: PostgreSQL at its COPY ceiling {5 * pg_row * 1e6:.1f}"
                        " us per purchase; before the database "
                        + ", ".join(f"{k} {v * 1e6:.1f}" for k, v in steps.items())
                        + f" us: at least {low * 1e6:.1f} us per purchase (target 20), at most"
                        f" {1 / low:,.0f} purchases/s in one thread waiting for the database"
                    )
    finally:
        pg.stop()


def post_all(base: str, bodies: list[tuple[str, bytes]]) -> None:
    """Every terminal's batches in its order, the terminals in parallel, each
    acknowledged with nothing refused."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(base)
    per: dict[str, list[bytes]] = {}
    for tid, body in bodies:
        per.setdefault(tid, []).append(body)
    errors: list[str] = []

    def one(mine: list[bytes]) -> None:
        for body in mine:
            # A connection per upload, as a kiosk's agent makes one every sync
            # interval: with ``--workers`` each is accepted by whichever process is
            # free (ten kept-alive connections would stay where they landed).
            conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=120)
            try:
                conn.request("POST", "/v1/batches", body, {"content-type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
            finally:
                conn.close()
            ack = orjson.loads(data) if resp.status == 200 else {}
            if ack.get("status") != "ok" or ack.get("results"):
                errors.append(f"{resp.status} {data[:200]!r}")
                return

    threads = [threading.Thread(target=one, args=(m,)) for m in per.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"upload refused: {errors[0]}")


def http(keys: IssuerKeys, certs: list[tuple[str, str]], bodies: list[tuple[str, bytes]],
         args: argparse.Namespace) -> None:  # fmt: skip
    """In process, then ``central serve --workers N`` for each N, alternating, in
    rounds; a fresh database of one durable server each time."""
    counts = [int(x) for x in args.workers.split(",")]
    n = args.records
    results: dict[str, list[tuple[float, float]]] = {}
    ceilings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        keys.save(tmp / "keys.json")
        (tmp / "signing.pem").write_bytes(chain.private_key_pem(chain.generate_key()))
        ca_file, _ = save_test_terminal_ca(tmp, *TERMINAL_CA)
        pg = PrivatePostgres(durable=True).start()
        try:
            for r in range(args.rounds):
                for mode in ["in-process", *(f"{w} worker{'s' * (w > 1)}" for w in counts)]:
                    url = pg.create_database(f"http{r}_{mode.split()[0].replace('-', '_')}")
                    central = setup(url, keys, certs)
                    if mode == "in-process":
                        c0, s0, w0 = time.process_time(), server_cpu(pg), time.perf_counter()
                        run(central, bodies, args.batch)
                        wall = time.perf_counter() - w0
                        cpu = time.process_time() - c0 + server_cpu(pg) - s0
                        ceilings.append(copy_ceiling(central, 5 * n)[0] / 5)
                        central.engine.dispose()
                    else:
                        central.engine.dispose()
                        wall, cpu = serve_run(tmp, url, ca_file, int(mode.split()[0]), bodies, pg)
                    results.setdefault(mode, []).append((n / wall, cpu / n * 1e6))
                    print(f"  round {r + 1} {mode:11s} {n / wall:8,.0f} purchases/s, "
                          f"{cpu / n * 1e6:5.1f} us CPU per purchase (central + PostgreSQL),"
                          f" {cpu / wall:.2f} cores busy; load {os.getloadavg()[0]:.1f}",
                          flush=True)  # fmt: skip
        finally:
            pg.stop()
    med = {m: statistics.median(x[0] for x in v) for m, v in results.items()}
    cpu_med = {m: statistics.median(x[1] for x in v) for m, v in results.items()}
    for m in results:
        print(f"{m:11s} median {med[m]:8,.0f} purchases/s, {cpu_med[m]:5.1f} us CPU per purchase"
              f" (target 45,000/s, 20 us)")  # fmt: skip
    ceiling = statistics.median(ceilings)
    print(f"raw COPY ceiling of the same server {ceiling:,.0f} purchases/s (5 rows each);"
          f" in-process at {med['in-process'] / ceiling:.0%} of it")  # fmt: skip
    one = f"{counts[0]} worker{'s' * (counts[0] > 1)}"
    print(f"HTTP ({one}) at {med[one] / med['in-process']:.2f} of in-process (target >= 0.90)")
    for w in counts[1:]:
        m = f"{w} workers"
        print(f"{m} against {one}: {med[m] / med[one]:.2f}x (target 1.6x); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip


def serve_run(
    tmp: Path, url: str, ca_file: Path, workers: int, bodies: list[tuple[str, bytes]],
    pg: PrivatePostgres,
) -> tuple[float, float]:  # fmt: skip
    """Wall seconds and CPU seconds (every serving process and PostgreSQL) of
    posting every body to a fresh ``central serve --workers N``."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", url,
         "--issuer-keys", str(tmp / "keys.json"), "--signing-key", str(tmp / "signing.pem"),
         "--terminal-ca", str(ca_file), "--port", str(port), "--no-migrate",
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        time.sleep(0.5 if workers > 1 else 0)  # every worker listening
        # A warm-up: the first request of each worker builds its caches.
        for _ in range(4 * workers):
            httpx.get(base + "/healthz", timeout=5)
        c0, s0, w0 = proc_cpu(proc.pid), server_cpu(pg), time.perf_counter()
        k0 = time.process_time()
        post_all(base, bodies)
        wall = time.perf_counter() - w0
        cpu = proc_cpu(proc.pid) - c0 + server_cpu(pg) - s0
        # The client's own share of the same cores (not in the central's figures).
        print(f"    the uploading client: {(time.process_time() - k0) / wall:.2f} cores")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return wall, cpu


if __name__ == "__main__":
    main()
