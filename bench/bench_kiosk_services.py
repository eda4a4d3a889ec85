"""City services at the kiosk: query round trips kiosk flow → central → department.

One demo world (``kiosk.demo.world.DemoWorld``): the kiosk's own flows on a simulated
card, the central on uvicorn over loopback, the department simulator in its own
process (``civicard sim departments``, SQLite). A citizen logs in once; then each
service's ``prepare`` — what PREPARING runs on the worker: the card read where the
flow needs it, the signed call, the central's checks and audit row, the adapter,
the department and back — is timed ``--n`` times. Prints p50 and p95 per service.

    python -m bench.bench_kiosk_services [--n 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kiosk.core.worker import JobContext

SERVICES: tuple[tuple[str, dict[str, str]], ...] = (
    ("social_security", {}),
    ("housing_fund", {}),
    ("application_progress", {"number": ""}),
    ("traffic_fines", {}),
    ("water_bill", {"account": ""}),
    ("gas_bill", {"account": "1000002"}),
)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    from kiosk.demo.world import DemoWorld
    from kiosk.journeys.citizen_states import State

    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        world = DemoWorld.build(Path(tmp), printer=False, departments_process=True)
        try:
            m = world.controller
            m.start(thread=False)
            world.settle()
            world.insert(world.citizen(1).asn)
            world.settle()
            for d in world.citizen(1).pin:
                m.pin_digit(int(d))
            m.pin_submit()
            world.settle()
            assert m.state is State.MENU, m.screen()
            ctx = JobContext(threading.Event(), lambda _s, _f: None)
            print(f"query round trips, kiosk flow → central → department, n={args.n} each (ms)")
            print(f"{'service':<22} {'p50':>7} {'p95':>7}")
            for sid, values in SERVICES:
                world.ops.prepare(sid, values, ctx)  # warm: connections, caches
                times = []
                for _ in range(args.n):
                    t0 = time.perf_counter()
                    world.ops.prepare(sid, values, ctx)
                    times.append((time.perf_counter() - t0) * 1000)
                print(f"{sid:<22} {statistics.median(times):7.2f} {_pct(times, 0.95):7.2f}")
        finally:
            world.close()
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
