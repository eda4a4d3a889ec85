"""Heartbeat ingest at the central: 10,000 kiosks at a 60 s interval need 167/s.

Pre-generated, signed heartbeats (a quarter of them with a device fault), from
10,000 enrolled terminals (100 keys shared round-robin: the central caches each
terminal's parsed certificate, as in steady state). Timed:

- in process: ``fleet.ingest_heartbeat`` (signature, replay check, latest upsert,
  history insert, commit), per heartbeat, on SQLite and a private PostgreSQL;
- over HTTP: the same through the FastAPI app on uvicorn in its own process,
  posted by client threads (the server's one process is the limit);
- the fleet status query over the 10,000 latest rows.

    .venv/bin/python bench/bench_heartbeat.py [--kiosks 10000] [--rounds 2] [--engine both]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from backend_sync import chain
from backend_sync.central import fleet, models, registry
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.service import Central
from backend_sync.fleet_wire import DeviceFault, Heartbeat, HeartbeatRequest
from backend_sync.pgserver import PrivatePostgres
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys, KeyRole

KEYS = 100
NEEDED = 10_000 / 60


def _central(url: str, signing_pem: bytes) -> Central:
    engine = make_engine(url)
    keys = IssuerKeys.generate(Algorithm.TDES).subset(KeyRole.LOAD, KeyRole.TAC)
    signing = chain.load_private_key(signing_pem)
    return Central(engine=engine, crypto=CardCrypto.of(keys), signing_key=signing,
                   admin_token="bench")  # fmt: skip


def generate(kiosks: int, rounds: int) -> tuple[list[tuple[str, str]], list[HeartbeatRequest]]:
    keys = [chain.generate_key() for _ in range(KEYS)]
    certs = [chain.self_signed_cert(k, "bench").decode() for k in keys]
    tids = [f"32{i:010d}" for i in range(kiosks)]
    boots = {t: uuid.uuid4().hex for t in tids}
    now = int(time.time() * 1000)
    reqs = []
    fault = DeviceFault(device="printer", health="warning", code="paper_near_end",
                        next_step="bring_paper")  # fmt: skip
    for r in range(rounds):
        for i, tid in enumerate(tids):
            faulty = (i + r) % 4 == 0
            hb = Heartbeat(
                terminal_id=tid, boot_id=boots[tid], counter=r + 1, ts=now + r * 60_000 + i,
                reason="interval", health="warning" if faulty else "ok",
                faults=[fault] if faulty else [], backlog=(i * 7) % 40, oldest_unsent_s=None,
                paper="near_end" if faulty else "adequate",
                versions={"software": "0.1.0", "catalog": "12", "hotlist": "3456"},
            )  # fmt: skip
            key = keys[i % KEYS]
            sig = chain.sign(key, chain.canonical(hb.model_dump(mode="json", exclude_none=True)))
            reqs.append(HeartbeatRequest(body=hb, signature=sig))
    return [(t, certs[i % KEYS]) for i, t in enumerate(tids)], reqs


def prepare(url: str, signing_pem: bytes, terminals: list[tuple[str, str]]) -> None:
    """Migrate and enroll (one bulk insert: setup, not timed; the rows are what
    ``registry.enroll_terminal`` writes, which the first terminal goes through)."""
    central = _central(url, signing_pem)
    upgrade(central.engine)
    first, rest = terminals[0], terminals[1:]
    registry.enroll_terminal(central, terminal_id=first[0], cert_pem=first[1])
    with central.engine.begin() as conn:
        conn.execute(models.terminals.insert(), [
            {"terminal_id": tid, "cert_pem": cert, "status": "active", "acked_seq": 0,
             "head_hash": chain.genesis_hash(bytes.fromhex(tid)).hex().upper(),
             "enrolled_ms": central.now_ms()}
            for tid, cert in rest
        ])  # fmt: skip
    central.engine.dispose()


def in_process(url: str, signing_pem: bytes, reqs: list[HeartbeatRequest],
               threads: int = 8) -> dict[str, float]:  # fmt: skip
    """A tenth one by one (a commit each), the rest from ``threads`` threads through
    the group-committing writer, as the HTTP endpoint uses it."""
    central = _central(url, signing_pem)
    solo = reqs[: len(reqs) // 10]
    t0, c0 = time.perf_counter(), time.thread_time()
    for req in solo:
        fleet.ingest_heartbeat(central, req)
    solo_rate = len(solo) / (time.perf_counter() - t0)
    solo_cpu = (time.thread_time() - c0) / len(solo) * 1e6
    rest = reqs[len(solo) :]
    writer = fleet.HeartbeatWriter(central)
    shares: list[list[HeartbeatRequest]] = [[] for _ in range(threads)]
    for r in rest:  # a terminal's heartbeats stay in order on one thread
        shares[int(r.body.terminal_id) % threads].append(r)

    def run(share: list[HeartbeatRequest]) -> float:
        c = time.thread_time()
        for r in share:
            writer.submit(r)
        return time.thread_time() - c

    t0, p0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, shares))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - p0
    t0 = time.perf_counter()
    status = fleet.fleet_status(central)
    status_ms = (time.perf_counter() - t0) * 1000
    assert status.counts["silent"] == 0, status.counts
    central.engine.dispose()
    return {"solo": solo_rate, "solo_cpu_us": solo_cpu, "rate": len(rest) / wall,
            "cpu_us": cpu / len(rest) * 1e6, "status_ms": status_ms}  # fmt: skip


def _serve(url: str, signing_pem: bytes, port: int) -> None:
    import uvicorn

    from backend_sync.central.app import create_app

    uvicorn.run(create_app(_central(url, signing_pem)), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)  # fmt: skip


def over_http(url: str, signing_pem: bytes, reqs: list[HeartbeatRequest],
              threads: int = 8) -> float:  # fmt: skip
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = mp.get_context("spawn").Process(target=_serve, args=(url, signing_pem, port))
    proc.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        bodies = [r.model_dump(mode="json", exclude_none=True) for r in reqs]
        # One client per thread, each posting its share in order (per terminal order kept:
        # a terminal's heartbeats all go to the same thread).
        shares: list[list[Any]] = [[] for _ in range(threads)]
        for b in bodies:
            shares[hash(b["body"]["terminal_id"]) % threads].append(b)

        def post(share: list[Any]) -> int:
            with httpx.Client(base_url=base, timeout=30) as c:
                for b in share:
                    r = c.post("/v1/heartbeats", json=b)
                    assert r.status_code == 200, r.text
            return len(share)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            n = sum(pool.map(post, shares))
        return n / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.join(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiosks", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--no-http", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    terminals, reqs = generate(args.kiosks, args.rounds)
    half = len(reqs) // 2
    print(f"{args.kiosks} kiosks, {len(reqs)} signed heartbeats generated "
          f"({time.perf_counter() - t0:.1f} s); needed: {NEEDED:.0f} heartbeats/s")  # fmt: skip
    signing_pem = chain.private_key_pem(chain.generate_key())
    for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        pg = None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                if engine == "sqlite":
                    url = f"sqlite:///{Path(tmp) / 'central.db'}"
                else:
                    pg = PrivatePostgres(durable=True).start()
                    url = pg.create_database("bench")
                prepare(url, signing_pem, terminals)
                # First half in process, second half (newer counters) over HTTP.
                got = in_process(url, signing_pem, reqs[:half] if not args.no_http else reqs)
                http_rate = None if args.no_http else over_http(url, signing_pem, reqs[half:])
            finally:
                if pg:
                    pg.stop()
        verdict = "meets" if got["rate"] >= NEEDED else "MISSES"
        print(f"{engine:10s} in process, one commit each: {got['solo']:7.0f} heartbeats/s "
              f"({got['solo_cpu_us']:.0f} µs CPU each)")  # fmt: skip
        print(f"{'':10s} in process, 8 threads, group commit: {got['rate']:7.0f} heartbeats/s "
              f"({got['cpu_us']:.0f} µs CPU each; {verdict} {NEEDED:.0f}/s, "
              f"{got['rate'] / NEEDED:.1f}x); fleet status of {args.kiosks}: "
              f"{got['status_ms']:.0f} ms")  # fmt: skip
        if http_rate is not None:
            print(f"{'':10s} over HTTP (uvicorn, 1 process, 8 client threads): "
                  f"{http_rate:7.0f} heartbeats/s ({http_rate / NEEDED:.1f}x needed)")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
