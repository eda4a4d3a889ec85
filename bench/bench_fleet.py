"""A fleet of simulated kiosks and bus validators against ``civicard central serve``.

Each simulated terminal has its own ECDSA key and certificate under a TEST ONLY
terminal CA (enrolled at the central), its own PSAM counter (TTC) and its own
outbox: records hash-chained and canonically encoded exactly as
``Outbox.complete`` does (``backend_sync.chain``), kept in memory, uploaded in
signed batches as ``SyncAgent`` does (``CentralClient.build_batch``'s format),
acknowledged up to the central's answer. Cards are keyed from TEST ONLY issuer
keys; every TAC is the card's real one (cardlib.crypto); a load asks the central
for its authorization with the card's MAC1 first. Heartbeats are signed as
``HeartbeatSender`` signs them.

Daily curves (per terminal, per second, at the simulated time of day): bus
validators tap composite (type 09) fares with peaks 07-09 and 17-19; kiosks sell
fixed-price catalog items and top cards up, busiest 09-12 and 14-17. ``--scale``
multiplies every rate (a stress run); the clock starts at ``--at`` and runs in
real time for ``--seconds``.

The central runs in its own process on a private PostgreSQL (fsync on) over
loopback. Printed: sustained transactions/s (acknowledged), acknowledgement
latency p50/p99 (record made -> acknowledged, and the upload's round trip),
backlog (records made, not yet acknowledged: largest and at the end), then the
ledger check: every record held exactly once, every posted record one ledger
transaction, every card's ledger movement equal to what the cards did.

    .venv/bin/python bench/bench_fleet.py --terminals 1000 --at 08:00 --seconds 60
    .venv/bin/python bench/bench_fleet.py --storm --terminals 500 --queued 200
    .venv/bin/python bench/bench_fleet.py --terminals 50 --seconds 10      # quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend_sync import chain
from backend_sync.central import documents, ledger, models, registry
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.service import Central
from backend_sync.fleet_wire import Heartbeat
from backend_sync.pgserver import PrivatePostgres, free_port
from backend_sync.terminal_certs import (
    make_test_terminal_ca,
    save_test_terminal_ca,
    terminal_cert_pem_for,
)
from backend_sync.wire import AuthorizeLoad, record_dict
from bench.bench_central import proc_cpu
from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
ITEMS = [(f"S{k:02d}", f"P{k:02d}", 100 + 150 * k) for k in range(12)]
CATALOG = {"groups": [], "services": [
    {"id": sid, "flow": "fixed_price", "payment": {"payee": payee, "amount_fen": price}}
    for sid, payee, price in ITEMS
]}  # fmt: skip
FARE = 200  # fen, a bus fare
# What each card holds when the window opens (its earlier loads are not part of
# the run: the ledger check compares what the cards did during it).
START_BALANCE = 30_000
LOAD_AMOUNT = 20_000


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def validator_rate(hour: float) -> float:
    """Taps per second on one bus validator at this time of day (a busy route)."""
    if hour < 5.5 or hour > 23:
        return 0.0
    return 0.03 + 0.25 * _bump(hour, 8.0, 0.9) + 0.22 * _bump(hour, 18.0, 1.0)


def kiosk_rate(hour: float) -> float:
    """Sales per second at one kiosk (top-ups are a third on top of these)."""
    if hour < 7 or hour > 22:
        return 0.0
    return 0.002 + 0.012 * _bump(hour, 10.5, 1.5) + 0.010 * _bump(hour, 15.5, 1.5)


@dataclass
class Card:
    asn: str
    tac_key: bytes
    dlk: bytes
    balance: int = START_BALANCE
    offline_atc: int = 0
    online_atc: int = 0
    net: int = 0  # what the card did, as its ledger account must show
    busy: bool = False  # in a reader now (a load waits on the central)


@dataclass
class Term:
    tid: str
    kind: str  # "kiosk" | "validator"
    key: Any
    tid_bytes: bytes
    ttc: int = 0
    seq: int = 0
    head: bytes = b""
    acked: int = 0
    acked_hash: str = ""
    pending: list[tuple[int, str, str, float]] = field(default_factory=list)  # seq, body, hash, t
    hb_counter: int = 0
    boot: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Stats:
    made: int = 0
    acked: int = 0
    loads: int = 0
    heartbeats: int = 0
    errors: int = 0
    why: dict[str, int] = field(default_factory=dict)  # errors by status or exception
    ack_latency: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    first_ack: float = 0.0
    last_ack: float = 0.0
    per_terminal: dict[str, int] = field(default_factory=dict)
    card_net: dict[str, int] = field(default_factory=dict)


class Fleet:
    """One process's share of the terminals and cards, on one asyncio loop."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        keys = IssuerKeys.load(Path(cfg["keys"]))
        self.alg = keys.algorithm
        self.cards = []
        for asn in cfg["asns"]:
            ck = keys.card_keys(bytes.fromhex(asn), 1)
            self.cards.append(
                Card(asn, crypto.tac_key(ck[KeyRole.TAC], self.alg), ck[KeyRole.LOAD])
            )
        self.terms = []
        for tid, kind, pem in cfg["terminals"]:
            t = Term(tid, kind, chain.load_private_key(pem), bytes.fromhex(tid))
            t.head = chain.genesis_hash(t.tid_bytes)
            t.acked_hash = t.head.hex().upper()
            self.terms.append(t)
        self.rng = random.Random(cfg["seed"])
        self.stats = Stats()
        self.t0 = 0.0

    # -- the simulated world ----------------------------------------------------------

    def clock(self) -> dt.datetime:
        """Simulated local time (Asia/Shanghai), from --at, running in real time."""
        start: dt.datetime = self.cfg["start"]
        return start + dt.timedelta(seconds=time.monotonic() - self.t0)

    def _card(self) -> Card | None:
        for _ in range(8):
            c = self.cards[self.rng.randrange(len(self.cards))]
            if not c.busy:
                return c
        return None

    def _append(self, t: Term, rec: dict[str, Any]) -> None:
        body = chain.canonical(rec)
        t.head = chain.link(t.head, rec)
        t.pending.append((rec["seq"], body.decode(), t.head.hex().upper(), time.monotonic()))
        self.stats.made += 1

    def _card_fields(self, t: Term, c: Card, amount: int) -> dict[str, Any]:
        now = self.clock()
        t.seq += 1
        return {"seq": t.seq, "terminal_id": t.tid, "asn": c.asn, "amount": amount,
                "date": now.strftime("%Y%m%d"), "time": now.strftime("%H%M%S"),
                "key_version": 1, "algorithm": int(self.alg),
                "balance_before": c.balance}  # fmt: skip

    def sell(self, t: Term) -> None:
        c = self._card()
        if c is None:
            return
        if t.kind == "validator":
            amount, ttype, extra = (
                FARE,
                TransactionType.CAPP_PURCHASE,
                {"ttype": 9, "payee": "transit"},
            )
        else:
            sid, payee, amount = ITEMS[self.rng.randrange(len(ITEMS))]
            ttype = TransactionType.PURCHASE
            extra = {"payee": payee, "catalog_version": 1, "service_id": sid}
        if c.balance < amount:
            return  # the card refuses (9401): nothing is written
        t.ttc += 1
        rec = self._card_fields(t, c, amount)
        tac = crypto.purchase_tac(c.tac_key, amount, ttype, t.tid_bytes, t.ttc,
                                  bytes.fromhex(rec["date"]), bytes.fromhex(rec["time"]),
                                  self.alg)  # fmt: skip
        rec.update(kind="purchase", atc=c.offline_atc, ttc=t.ttc, balance_after=c.balance - amount,
                   tac=tac.hex().upper(), mac2="00000000", **extra)  # fmt: skip
        c.offline_atc += 1
        c.balance -= amount
        c.net -= amount
        self._append(t, rec)

    async def load(self, http: httpx.AsyncClient, t: Term) -> None:
        c = self._card()
        if c is None or c.balance + LOAD_AMOUNT > 100_000:
            return
        c.busy = True
        try:
            rnd = os.urandom(4)
            sk = crypto.load_session_key(c.dlk, rnd, c.online_atc, self.alg)
            mac1 = crypto.load_mac1(sk, c.balance, LOAD_AMOUNT, TransactionType.LOAD,
                                    t.tid_bytes, self.alg)  # fmt: skip
            now = self.clock()
            date, tm = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
            body = AuthorizeLoad(
                terminal_id=t.tid, request_id=uuid.uuid4().hex, asn=c.asn, amount=LOAD_AMOUNT,
                balance_before=c.balance, atc=c.online_atc, card_random=rnd.hex().upper(),
                key_version=1, algorithm=int(self.alg), mac1=mac1.hex().upper(), date=date,
                time=tm, funding="cash", ts=int(time.time() * 1000),
            )  # fmt: skip
            sig = chain.sign(t.key, chain.canonical(record_dict(body)))
            try:
                resp = await http.post(
                    "/v1/loads/authorize",
                    json={
                        "body": body.model_dump(mode="json", exclude_none=True),
                        "signature": sig,
                    },
                )
            except httpx.HTTPError:
                self.stats.errors += 1
                return
            if resp.status_code != 200:
                self.stats.errors += 1
                return
            load_id = resp.json()["load_id"]
            # CREDIT FOR LOAD with the central's MAC2: the card's TAC into the record.
            rec = self._card_fields(t, c, LOAD_AMOUNT)
            rec["date"], rec["time"] = date, tm
            new = c.balance + LOAD_AMOUNT
            tac = crypto.load_tac(
                c.tac_key,
                new,
                c.online_atc,
                LOAD_AMOUNT,
                TransactionType.LOAD,
                t.tid_bytes,
                bytes.fromhex(date),
                bytes.fromhex(tm),
                self.alg,
            )
            rec.update(kind="load", atc=c.online_atc, balance_after=new, tac=tac.hex().upper(),
                       load_id=load_id)  # fmt: skip
            c.online_atc += 1
            c.balance = new
            c.net += LOAD_AMOUNT
            self.stats.loads += 1
            self._append(t, rec)
        finally:
            c.busy = False

    # -- the terminal's agent -----------------------------------------------------------

    async def upload(self, http: httpx.AsyncClient, t: Term) -> None:
        batch = t.pending[: self.cfg["batch"]]
        if not batch:
            return
        header = {"terminal_id": t.tid, "first_seq": batch[0][0], "last_seq": batch[-1][0],
                  "prev_hash": t.acked_hash, "head_hash": batch[-1][2]}  # fmt: skip
        sig = chain.sign(t.key, chain.canonical(header))
        body = (b'{"header":' + chain.canonical(header) + b',"records":['
                + ",".join(b[1] for b in batch).encode() + b'],"signature":"'
                + sig.encode() + b'"}')  # fmt: skip
        sent = time.monotonic()
        try:
            resp = await http.post("/v1/batches", content=body,
                                   headers={"content-type": "application/json"})  # fmt: skip
        except httpx.HTTPError as exc:
            self._error(type(exc).__name__)
            return
        done = time.monotonic()
        if resp.status_code != 200:
            self._error(f"{resp.status_code} {resp.json().get('reason', '')}")  # sent again
            return
        acked = int(resp.json()["acked"])
        self.stats.round_trip.append(done - sent)
        kept = []
        for seq, b, h, made in t.pending:
            if seq <= acked:
                self.stats.ack_latency.append(done - made)
                self.stats.acked += 1
                t.acked, t.acked_hash = seq, h
            else:
                kept.append((seq, b, h, made))
        t.pending = kept
        self.stats.first_ack = self.stats.first_ack or done
        self.stats.last_ack = done

    def _error(self, why: str) -> None:
        self.stats.errors += 1
        self.stats.why[why] = self.stats.why.get(why, 0) + 1

    async def heartbeat(self, http: httpx.AsyncClient, t: Term) -> None:
        t.hb_counter += 1
        hb = Heartbeat(terminal_id=t.tid, boot_id=t.boot, counter=t.hb_counter,
                       ts=int(time.time() * 1000), reason="interval", health="ok", faults=[],
                       backlog=len(t.pending), paper="adequate",
                       versions={"software": "0.1.0"})  # fmt: skip
        body = hb.model_dump(mode="json", exclude_none=True)
        sig = chain.sign(t.key, chain.canonical(body))
        try:
            resp = await http.post("/v1/heartbeats", json={"body": body, "signature": sig})
            if resp.status_code == 200:
                self.stats.heartbeats += 1
            else:
                self.stats.errors += 1
        except httpx.HTTPError:
            self.stats.errors += 1

    async def run_terminal(self, http: httpx.AsyncClient, t: Term, end: float) -> None:
        """Sales, the agent and heartbeats run side by side, as on a terminal: a sale
        never waits for an upload (a load does wait for the central's authorization)."""
        rng = random.Random(hash(t.tid) ^ self.cfg["seed"])

        async def sales() -> None:
            while (now := time.monotonic()) < end:
                hour = self.clock().hour + self.clock().minute / 60
                rate = (validator_rate if t.kind == "validator" else kiosk_rate)(hour)
                rate *= self.cfg["scale"]
                wait = rng.expovariate(rate) if rate > 0 else 60.0
                await asyncio.sleep(min(wait, max(0.0, end - now)))
                if time.monotonic() >= end:
                    break
                if t.kind == "kiosk" and rng.random() < 0.25:
                    await self.load(http, t)
                else:
                    self.sell(t)

        async def agent() -> None:
            every = self.cfg["sync_s"]
            # Terminals do not start in step: each one's timer begins at a random phase
            # (within the window: the drain after it must not wait for a late timer).
            await asyncio.sleep(min(rng.uniform(0, every), max(0.0, end - time.monotonic())))
            while time.monotonic() < end:
                await self.upload(http, t)
                await asyncio.sleep(min(every * rng.uniform(0.8, 1.2),
                                        max(0.0, end - time.monotonic())))  # fmt: skip

        async def heartbeats() -> None:
            every = self.cfg["heartbeat_s"]
            await asyncio.sleep(min(rng.uniform(0, every), max(0.0, end - time.monotonic())))
            while time.monotonic() < end:
                await self.heartbeat(http, t)
                await asyncio.sleep(min(every, max(0.0, end - time.monotonic())))

        await asyncio.gather(sales(), agent(), heartbeats())

    async def drain(self, http: httpx.AsyncClient, t: Term, deadline: float) -> None:
        """After the timed window: upload until acknowledged (the backlog catching up)."""
        while t.pending and time.monotonic() < deadline:
            before = len(t.pending)
            await self.upload(http, t)
            if len(t.pending) == before:
                await asyncio.sleep(0.5)

    async def sample_backlog(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.stats.backlog.append(sum(len(t.pending) for t in self.terms))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def main(self) -> Stats:
        limits = httpx.Limits(max_connections=self.cfg["connections"])
        async with httpx.AsyncClient(base_url=self.cfg["url"], timeout=120, limits=limits) as http:
            stop = asyncio.Event()
            sampler = asyncio.create_task(self.sample_backlog(stop))
            self.cfg["barrier"].wait()
            self.t0 = time.monotonic()
            if self.cfg["storm"]:
                for t in self.terms:  # queued while the kiosks were offline
                    for _ in range(self.cfg["queued"]):
                        self.sell(t)
                self.stats.backlog.append(sum(len(t.pending) for t in self.terms))
                self.cfg["barrier2"].wait()
                self.t0 = time.monotonic()
                for t in self.terms:  # made before the storm: latency from its start
                    t.pending = [(s, b, h, self.t0) for s, b, h, _ in t.pending]
            else:
                end = self.t0 + self.cfg["seconds"]
                await asyncio.gather(*(self.run_terminal(http, t, end) for t in self.terms))
            deadline = time.monotonic() + self.cfg["drain_s"]
            await asyncio.gather(*(self.drain(http, t, deadline) for t in self.terms))
            stop.set()
            await sampler
        st = self.stats
        st.first_ack = st.first_ack - self.t0 if st.first_ack else 0.0
        st.last_ack = st.last_ack - self.t0 if st.last_ack else 0.0
        st.per_terminal = {t.tid: t.seq for t in self.terms}
        st.card_net = {c.asn: c.net for c in self.cards if c.net}
        return st


def _worker(cfg: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(Fleet(cfg).main()))


def setup(tmp: Path, n_term: int, validators: float, n_cards: int, pg: PrivatePostgres,
          ) -> tuple[str, list[tuple[str, str, bytes]], list[str], Path, Path, Path]:  # fmt: skip
    """Migrate, register the cards, enroll the terminals, publish the catalog."""
    url = pg.create_database("fleet")
    keys = IssuerKeys.generate(Algorithm.TDES)
    keys.save(tmp / "keys.json")
    signing = chain.generate_key()
    (tmp / "signing.pem").write_bytes(chain.private_key_pem(signing))
    ca = make_test_terminal_ca(dt.datetime.now(dt.UTC))
    ca_file, _ = save_test_terminal_ca(tmp, *ca)
    engine = make_engine(url)
    upgrade(engine)
    central = Central(engine=engine, crypto=CardCrypto.of(keys.subset(KeyRole.TAC)),
                      signing_key=signing, admin_token="", terminal_cas=[ca[1]])  # fmt: skip
    asns = [f"3215{i:016d}" for i in range(1, n_cards + 1)]
    # The first card through the registry; the rest as the same rows in one
    # transaction (setup, not timed: one durable commit per card takes minutes).
    registry.register_card(central, asn=asns[0], algorithm=0, key_version=1)
    with engine.begin() as conn:
        ids = ledger.account_ids(conn, [ledger.card_account(a) for a in asns[1:]])
        now = central.now_ms()
        ledger.insert_ignore(conn, models.cards, [
            {"asn": a, "algorithm": 0, "key_version": 1, "status": "active",
             "account_id": ids[ledger.card_account(a)], "registered_ms": now, "updated_ms": now}
            for a in asns[1:]], ["asn"])  # fmt: skip
    terms = []
    n_val = round(n_term * validators)
    for i in range(n_term):
        kind = "validator" if i < n_val else "kiosk"
        tid = f"32{'7' if kind == 'validator' else '5'}0{i:08d}"
        key = chain.generate_key()
        registry.enroll_terminal(
            central, terminal_id=tid, cert_pem=terminal_cert_pem_for(ca, tid, key)
        )
        terms.append((tid, kind, chain.private_key_pem(key)))
    assert documents.publish(central, "catalog", CATALOG) == 1
    engine.dispose()
    return url, terms, asns, tmp / "keys.json", tmp / "signing.pem", ca_file


def check_ledger(url: str, per_terminal: dict[str, int], card_net: dict[str, int]) -> list[str]:
    """Every record held exactly once, posted once, and the cards' money agrees."""
    problems = []
    engine = make_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        held = {r[0]: (r[1], r[2], r[3]) for r in q(
            "SELECT terminal_id, COUNT(*), COUNT(DISTINCT seq), MAX(seq) FROM terminal_records"
            " GROUP BY terminal_id")}  # fmt: skip
        for tid, n in per_terminal.items():
            got = held.get(tid, (0, 0, 0))
            if n and got != (n, n, n):
                problems.append(f"{tid}: made {n}, held (rows, seqs, max) {got}")
        bad = q("SELECT status, reason, COUNT(*) FROM terminal_records WHERE status <> 'posted'"
                " GROUP BY status, reason").all()  # fmt: skip
        problems += [f"{n} records {s} ({r})" for s, r, n in bad]
        doubled = q(
            "SELECT COUNT(*) FROM (SELECT ref FROM ledger_txns WHERE kind IN"
            " ('purchase', 'load') GROUP BY ref HAVING COUNT(*) > 1) d"
        ).scalar_one()
        if doubled:
            problems.append(f"{doubled} records posted twice")
        posted = q("SELECT COUNT(*) FROM terminal_records WHERE status = 'posted'").scalar_one()
        txns = q("SELECT COUNT(*) FROM ledger_txns WHERE kind IN ('purchase', 'load')").scalar_one()
        if posted != txns:
            problems.append(f"{posted} posted records, {txns} ledger transactions")
        total = q("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries").scalar_one()
        if total != 0:
            problems.append(f"ledger sums to {total}")
        shadow: dict[str, int] = dict(
            q(
                "SELECT a.code, SUM(e.amount) FROM ledger_entries e JOIN accounts a"
                " ON a.id = e.account_id WHERE a.kind = 'card' GROUP BY a.code"
            ).all()
        )
        for asn, net in card_net.items():
            if int(shadow.get(f"card:{asn}", 0)) != net:
                problems.append(f"card {asn}: did {net}, ledger {shadow.get(f'card:{asn}')}")
    engine.dispose()
    return problems


def pct(xs: list[float], p: int) -> float:
    return statistics.quantiles(xs, n=100)[p - 1] if len(xs) >= 2 else (xs[0] if xs else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--terminals", type=int, default=1000)
    ap.add_argument("--validators", type=float, default=0.7, help="share of bus validators")
    ap.add_argument("--cards", type=int, default=20_000)
    ap.add_argument("--at", default="08:00", help="simulated time of day at the start")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every rate")
    ap.add_argument("--sync-s", type=float, default=30.0, help="agent upload interval (s)")
    ap.add_argument("--heartbeat-s", type=float, default=60.0)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--procs", type=int, default=1, help="load generator processes")
    ap.add_argument("--connections", type=int, default=64, help="HTTP connections per process")
    ap.add_argument("--storm", action="store_true", help="catch-up storm: all back online at once")
    ap.add_argument("--queued", type=int, default=200, help="records each kiosk queued (--storm)")
    ap.add_argument("--drain-s", type=float, default=300)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--workers", type=int, default=1, help="central API processes")
    args = ap.parse_args()
    if args.storm:
        args.validators = 0.0
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        pg = PrivatePostgres(durable=True).start()
        proc = None
        try:
            t0 = time.perf_counter()
            url, terms, asns, keys, signing, ca_file = setup(
                tmp, args.terminals, args.validators, args.cards, pg)  # fmt: skip
            took = time.perf_counter() - t0
            print(f"set up {len(terms)} terminals, {len(asns)} cards ({took:.0f} s)")
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", url,
                 "--issuer-keys", str(keys), "--signing-key", str(signing),
                 "--terminal-ca", str(ca_file), "--port", str(port), "--no-migrate",
                 "--workers", str(args.workers)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            hh, mm = (int(x) for x in args.at.split(":"))
            start = dt.datetime.now(SHANGHAI).replace(hour=hh, minute=mm, second=0, microsecond=0)
            ctx = mp.get_context("fork")
            barrier, barrier2, out = ctx.Barrier(args.procs), ctx.Barrier(args.procs), ctx.Queue()
            workers = []
            for p in range(args.procs):
                cfg = {"url": base, "keys": str(keys), "asns": asns[p :: args.procs],
                       "terminals": terms[p :: args.procs], "start": start, "seed": args.seed + p,
                       "seconds": args.seconds, "scale": args.scale, "sync_s": args.sync_s,
                       "heartbeat_s": args.heartbeat_s, "batch": args.batch,
                       "connections": args.connections, "storm": args.storm,
                       "queued": args.queued, "drain_s": args.drain_s, "barrier": barrier,
                       "barrier2": barrier2}  # fmt: skip
                w = ctx.Process(target=_worker, args=(cfg, out))
                w.start()
                workers.append(w)
            cpu0 = proc_cpu(proc.pid)
            results = [out.get() for _ in workers]
            cpu = proc_cpu(proc.pid) - cpu0
            for w in workers:
                w.join()
            load = os.getloadavg()
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        per_terminal: dict[str, int] = {}
        card_net: dict[str, int] = {}
        for r in results:
            per_terminal.update(r.per_terminal)
            card_net.update(r.card_net)
        lat = [x for r in results for x in r.ack_latency]
        rtt = [x for r in results for x in r.round_trip]
        made = sum(r.made for r in results)
        acked = sum(r.acked for r in results)
        span = max(r.last_ack for r in results) if args.storm else args.seconds
        backlog = [sum(xs) for xs in zip(*(r.backlog for r in results), strict=False)]
        mode = (f"catch-up storm: {args.terminals} kiosks x {args.queued} queued, "
                f"{args.workers} central worker(s)" if args.storm
                else f"{args.terminals} terminals ({args.validators:.0%} validators) at {args.at}"
                     f" x{args.scale:g} for {args.seconds:g} s")  # fmt: skip
        print(mode)
        loads = sum(r.loads for r in results)
        print(f"  made {made} records ({loads} loads), acknowledged {acked};"
              f" {sum(r.heartbeats for r in results)} heartbeats; {sum(r.errors for r in results)}"
              " errors (retried)")  # fmt: skip
        why: dict[str, int] = {}
        for r in results:
            for k, v in r.why.items():
                why[k] = why.get(k, 0) + v
        if why:
            print("  upload errors: " + ", ".join(f"{k}: {v}" for k, v in sorted(why.items())))
        print(
            f"  sustained {acked / span:,.0f} acknowledged transactions/s over {span:.1f} s"
            f" (made {made / (args.seconds if not args.storm else span):,.0f}/s)"
        )
        print(f"  ack latency, record made -> acknowledged: p50 {pct(lat, 50):.2f} s,"
              f" p99 {pct(lat, 99):.2f} s; upload round trip p50 {pct(rtt, 50) * 1000:.0f} ms,"
              f" p99 {pct(rtt, 99) * 1000:.0f} ms over {len(rtt)} uploads")  # fmt: skip
        at_end = (
            ""
            if args.storm or not backlog
            else (f", at the end of the window {backlog[min(len(backlog), int(args.seconds)) - 1]}")
        )
        print(f"  backlog: largest {max(backlog, default=0)}{at_end}, after the"
              f" drain {made - acked}")  # fmt: skip
        print(
            f"  central process CPU {cpu:.1f} s ({cpu / max(acked, 1) * 1e6:.0f} us per record,"
            f" heartbeats and loads included); load average {load[0]:.2f} {load[1]:.2f}"
        )
        problems = check_ledger(url, per_terminal, card_net)
        pg.stop()
    print(
        "  ledger: every record exactly once, the cards' money agrees"
        if not problems
        else "  LEDGER PROBLEMS:\n    " + "\n    ".join(problems[:20])
    )
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
