"""City services on loopback: query round trips and ticket validations per second.

Round trip = a kiosk's signed call (``CentralClient``) → the central on uvicorn
(signature, card check, audit row) → the provider adapter → the departments
simulator in its own process (SQLite) and back. Prints p50 and p95 per service,
then bus ticket validations per second (signature check + the used-list insert).

    python -m bench.bench_services [--n 200] [--extra 3000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from backend_sync import chain, tickets_qr
from backend_sync.central import registry
from backend_sync.central.app import create_app
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.departments import Departments
from backend_sync.central.service import Central
from backend_sync.terminal.bus_validation import TicketValidator
from backend_sync.terminal.client import CentralClient
from backend_sync.terminal_certs import make_test_terminal_ca, terminal_cert_pem_for
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys, KeyRole

ASN = "32150000000000000001"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(central: Central, port: int) -> Any:
    import threading

    import uvicorn

    cfg = uvicorn.Config(
        create_app(central), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(cfg)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="calls per service")
    ap.add_argument("--extra", type=int, default=3000, help="generated citizens in the simulator")
    ap.add_argument("--tickets", type=int, default=2000, help="tickets to validate")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-services-"))
    dport = _free_port()
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "sim",
            "departments",
            "--db",
            str(tmp / "d.db"),
            "--port",
            str(dport),
            "--extra",
            str(args.extra),
            "--person",
            f"{ASN}=张三",
        ],
        env=dict(os.environ, PYTHONPATH=str(root)),
        stdout=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{dport}/healthz", timeout=0.5).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        keys = IssuerKeys.generate(Algorithm.TDES)
        engine = make_engine(f"sqlite:///{tmp / 'central.db'}")
        upgrade(engine)
        # Terminal certificates must chain to a trusted terminal CA (TEST ONLY one here).
        terminal_ca = make_test_terminal_ca(dt.datetime.now(dt.UTC))
        central = Central(
            engine=engine,
            crypto=CardCrypto.of(keys.subset(KeyRole.LOAD, KeyRole.TAC)),
            signing_key=chain.generate_key(),
            admin_token="x",
            terminal_cas=[terminal_ca[1]],
        )
        central.departments = central.bills = Departments(f"http://127.0.0.1:{dport}")
        registry.register_card(central, asn=ASN, algorithm=0, key_version=1)
        tkey = chain.generate_key()
        registry.enroll_terminal(
            central,
            terminal_id="320500000001",
            cert_pem=terminal_cert_pem_for(terminal_ca, "320500000001", tkey),
        )
        cport = _free_port()
        server = _serve(central, cport)
        client = CentralClient(
            f"http://127.0.0.1:{cport}",
            terminal_id="320500000001",
            key=tkey,
            central_key=central.signing_key.public_key(),
        )
        day = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        calls: dict[str, Callable[[], object]] = {
            "social_security": lambda: client.social_security(asn=ASN),
            "housing_fund": lambda: client.housing_fund(asn=ASN),
            "utility_bills": lambda: client.utility_bills(asn=ASN, utility="water"),
            "traffic_fines": lambda: client.traffic_fines(asn=ASN),
            "applications": lambda: client.application_progress(asn=ASN),
            "appointment_slots": lambda: client.appointment_slots(service="hukou"),
            "queue_number": lambda: client.queue_number(service="permit"),
            "bus_timetable": lambda: client.bus_timetable(day=day),
            "bike_status": lambda: client.bike_status(asn=ASN),  # the central alone
        }
        print(f"query round trips, kiosk client → central → departments, n={args.n} each (ms)")
        print(f"{'service':<20} {'p50':>7} {'p95':>7}")
        for name, fn in calls.items():
            for _ in range(5):
                fn()
            times = []
            for _ in range(args.n):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{name:<20} {statistics.median(times):7.2f} {_pct(times, 0.95):7.2f}")
        client.close()
        server.should_exit = True
        key = central.signing_key
        qrs = [
            tickets_qr.encode(key, tickets_qr.TicketClaim(f"T{i:08d}", "D1", i % 50 + 1, 6500))
            for i in range(args.tickets)
        ]
        v = TicketValidator(tmp / "used.db", key.public_key(), "D1")
        t0 = time.perf_counter()
        ok = sum(v.validate(q).ok for q in qrs)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = sum(v.validate(q).ok for q in qrs)
        second = time.perf_counter() - t0
        assert ok == args.tickets and again == 0
        print(
            f"ticket validations: {args.tickets / first:,.0f}/s accepted (signature + used-list"
            f" insert, synchronous FULL), {args.tickets / second:,.0f}/s refused as used"
        )
        v.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
