"""Feedback at the central on PostgreSQL: the response-figures page over a million
cases (p50 render time), and feedback submissions ingested per second.

- Figures: ``--cases`` cases (default 1,000,000) over the last 52 weeks, 10
  departments, made inside PostgreSQL with one INSERT ... SELECT over
  generate_series, then ANALYZE; the page /console/figures is requested through
  the real ASGI app with a supervisor's session (all departments, 8 weeks) and
  with a department's (its own and the city's), ``--renders`` times each.
- Ingest: signed, hash-chained batches of ``--batch`` feedback records (distinct
  cards, so none is refused) from enrolled terminals, through ``ingest_json`` as
  the upload route runs it (schema, signature, chain, the poster, the intake).

    .venv/bin/python bench/bench_feedback.py [--cases 1000000] [--renders 21] [--batches 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from backend_sync import chain
from backend_sync.central import ingest, registry
from backend_sync.central.app import create_app
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.console import accounts
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.feedback import rules
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from backend_sync.terminal_certs import issue_terminal_certificate, make_test_terminal_ca
from backend_sync.tracking import new_tracking
from backend_sync.wire import FeedbackRecord, record_dict

DEPTS = [f"dept{i}" for i in range(10)]
PASSWORD = "TEST-ONLY-bench-pass"  # TEST ONLY
NOW_MS = 1_796_000_000_000  # 2026-12-01 (a fixed clock, inside the 2026 holiday table)
# TEST ONLY: the terminal CA the bench's central trusts, and its terminal's
# certificate, both valid from 2024 (the central's clock is fixed, above).
CERTS_FROM = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TERMINAL_CA = make_test_terminal_ca(CERTS_FROM)


def _central(url: str) -> Central:
    engine = make_engine(url)
    upgrade(engine)
    c = Central(engine=engine, crypto=CardCrypto.of(), signing_key=chain.generate_key(),
                admin_token="", terminal_cas=[TERMINAL_CA[1]])  # fmt: skip
    c.clock = lambda: NOW_MS / 1000
    return c


def seed(central: Central, n: int) -> float:
    """``n`` cases spread over 52 weeks before now; returns the seconds it took."""
    cats = [
        {"code": f"{d}.c{j}", "department": d, "deadline_days": 1 + 2 * j, "importance": 2,
         "names": {"zh-Hans": f"{d}{j}", "zh-Hant": f"{d}{j}", "en": f"{d} {j}"}}
        for d in DEPTS for j in range(3)
    ]  # fmt: skip
    rules.set_categories(central, cats)
    t0 = time.perf_counter()
    sql = f"""
    INSERT INTO feedback_cases (tracking, terminal_id, seq, asn, identified, category,
      department, ftype, urgency, importance, body, publish_consent, state, submitted_ms,
      submitted_day, arrived_ms, arrived_week, deadline_ms, skew_flagged, escalated,
      reopened, updated_ms, first_answered_ms, answered_ms, at_once, within_2wd, on_time,
      satisfied)
    SELECT lpad(to_hex(g), 16, '0'), '0000000000B1', g, '32' || lpad(g::text, 18, '0'), false,
      'dept' || (g % 10) || '.c' || (g % 3), 'dept' || (g % 10), 'ask', 1 + g % 3, 2,
      'bench case', g % 4 = 0, CASE WHEN g % 7 = 0 THEN 'dispatched' ELSE 'closed' END,
      t, to_char(to_timestamp(t / 1000) AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'),
      t, to_char(to_timestamp(t / 1000) AT TIME ZONE 'Asia/Shanghai', 'IYYY"W"IW'),
      t + 259200000, false, false, 0, t,
      CASE WHEN g % 7 = 0 THEN NULL ELSE t + 3600000 END,
      CASE WHEN g % 7 = 0 THEN NULL ELSE t + 3600000 END,
      CASE WHEN g % 7 = 0 THEN NULL ELSE g % 5 < 3 END,
      CASE WHEN g % 7 = 0 THEN NULL ELSE g % 50 <> 0 END,
      CASE WHEN g % 7 = 0 THEN NULL ELSE g % 20 <> 0 END,
      CASE WHEN g % 7 = 0 OR g % 3 = 0 THEN NULL ELSE g % 10 < 8 END
    FROM (SELECT g, {NOW_MS} - (g::bigint * 31449600000 / {n}) AS t
          FROM generate_series(1, {n}) AS g) AS s
    """
    with central.engine.begin() as conn:
        conn.execute(sa.text(sql))
    with central.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE feedback_cases"
        )
    return time.perf_counter() - t0


def renders(central: Central, username: str, role: str, dept: str | None, k: int) -> list[float]:
    accounts.create_account(central, username=username, password=PASSWORD, role=role,
                            display_name=username, department=dept)  # fmt: skip
    token, _ = accounts.login(central, username=username, password=PASSWORD, client="bench")
    client = TestClient(create_app(central), base_url="https://localhost")
    client.cookies.set("civicard_console", token)
    out = []
    for _ in range(k):
        t0 = time.perf_counter()
        r = client.get("/console/figures")
        out.append(time.perf_counter() - t0)
        if r.status_code != 200 or "2026W" not in r.text:
            raise SystemExit(f"figures page failed: {r.status_code}")
    return out


def ingest_rate(central: Central, batches: int, size: int) -> list[float]:
    tid = "0000000000F1"
    key = chain.generate_key()
    cert = issue_terminal_certificate(ca_key=TERMINAL_CA[0], ca_cert=TERMINAL_CA[1],
                                      terminal_id=tid, public_key=key.public_key(),
                                      now=CERTS_FROM)  # fmt: skip
    registry.enroll_terminal(central, terminal_id=tid, cert_pem=cert.public_bytes(
        serialization.Encoding.PEM).decode())  # fmt: skip
    n = batches * size
    with central.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (code, kind) "
                "SELECT 'card:31' || lpad(g::text, 18, '0'), 'card' "
                f"FROM generate_series(1, {n}) g"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO cards (asn, algorithm, key_version, status, account_id, registered_ms,"
                " updated_ms) SELECT substr(code, 6), 0, 1, 'active', id, 0, 0 FROM accounts "
                "WHERE kind = 'card' AND code LIKE 'card:31%'"
            )
        )
    prev = chain.genesis_hash(bytes.fromhex(tid))
    bodies: list[bytes] = []
    seq = 0
    for b in range(batches):
        recs = []
        for i in range(size):
            seq += 1
            recs.append(record_dict(FeedbackRecord(
                seq=seq, terminal_id=tid, asn=f"31{b * size + i + 1:018d}",
                tracking=new_tracking(), category=f"dept{i % 10}.c0", ftype="report",
                urgency=2, body="路灯不亮，已经三天了", place="人民路 12 号", identified=False,
                publish_consent=True, submitted_ms=NOW_MS - 60_000)))  # fmt: skip
        hashes = chain.chain_hashes(prev, recs)
        header = {"terminal_id": tid, "first_seq": seq - size + 1, "last_seq": seq,
                  "prev_hash": prev.hex().upper(),
                  "head_hash": hashes[-1].hex().upper()}  # fmt: skip
        sig = chain.sign(key, chain.canonical(header))
        bodies.append(orjson.dumps({"header": header, "records": recs, "signature": sig}))
        prev = hashes[-1]
    rates = []
    for body in bodies:
        t0 = time.perf_counter()
        ack = ingest.ingest_json(central, body)
        rates.append(size / (time.perf_counter() - t0))
        if ack.status != "ok" or any(r.status != "accepted" for r in ack.results):
            raise SystemExit(f"ingest refused: {ack.status} {ack.results[:1]}")
    return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--renders", type=int, default=21)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    pg = PrivatePostgres(durable=True).start()
    try:
        central = _central(pg.create_database("feedback"))
        secs = seed(central, args.cases)
        print(f"seeded {args.cases} cases in {secs:.1f} s")
        for who, role, dept in (("super", "supervisor", None), ("dept3", "department_staff",
                                                                 "dept3")):  # fmt: skip
            times = renders(central, who, role, dept, args.renders)
            print(f"figures page ({role:16s}) over {args.cases} cases: p50 "
                  f"{statistics.median(times) * 1000:7.1f} ms, max {max(times) * 1000:7.1f} ms "
                  f"({args.renders} renders)")  # fmt: skip
        rates = ingest_rate(central, args.batches, args.batch)
        print(f"feedback ingest: median {statistics.median(rates):7.0f} records/s "
              f"(batches of {args.batch}, {args.batches} batches, each a case)")  # fmt: skip
    finally:
        pg.stop()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
