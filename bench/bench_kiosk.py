"""Kiosk core speed, in-process on simulators with the central on loopback.

- input → screen: from a controller call (a PIN digit) on the caller's thread to the
  ScreenChanged event delivered by the core thread.
- confirm → done: printer status, INITIALIZE / PSAM MAC1 / intent / DEBIT / MAC2,
  outbox record, receipt laid out, signed, queued and printed on the simulator.
- whole session: card in → checked (hotlist, expiry, certificate + challenge) → PIN
  → menu → a fixed-price item confirmed and paid with its receipt → card out.

Usage: .venv/bin/python bench/bench_kiosk.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kiosk.core.views import KioskEvent, ScreenChanged
from kiosk.demo.world import DemoWorld
from kiosk.journeys.citizen_states import State


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = DemoWorld.build(Path(tmp))
        try:
            run(world, args.rounds)
        finally:
            world.close()


def run(world: DemoWorld, rounds: int) -> None:
    m = world.controller
    changed = threading.Condition()
    seen: list[object] = []

    def on_event(event: KioskEvent) -> None:
        if isinstance(event, ScreenChanged):
            with changed:
                seen.append(event.screen.state)
                changed.notify_all()

    m.subscribe(on_event)
    stop = threading.Event()
    m.start(thread=False)
    core = threading.Thread(target=world.machine.run, args=(stop, 0.01), daemon=True)
    core.start()

    def wait_for(state: State) -> None:
        with changed:
            if not changed.wait_for(lambda: seen and seen[-1] is state, timeout=10):
                raise TimeoutError(f"no {state} (last {seen[-1:]})")

    citizen = world.citizen(3)  # the largest balance: enough for every round
    latencies: list[float] = []
    paying: list[float] = []
    sessions: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        world.insert(citizen.asn)
        wait_for(State.PIN_ENTRY)
        for d in citizen.pin:
            with changed:
                n = len(seen)
            t = time.perf_counter()
            m.pin_digit(int(d))
            with changed:
                changed.wait_for(lambda n=n: len(seen) > n, timeout=5)  # type: ignore[misc]
            latencies.append(time.perf_counter() - t)
        m.pin_submit()
        wait_for(State.MENU)
        m.choose_service("bike_enable")
        wait_for(State.CONFIRM)
        t = time.perf_counter()
        m.confirm()
        wait_for(State.DONE)
        paying.append(time.perf_counter() - t)
        m.finish()
        wait_for(State.TAKE_CARD)
        world.remove()
        wait_for(State.ATTRACT)
        sessions.append(time.perf_counter() - t0)
    stop.set()
    core.join(5)
    ms = 1000.0
    print(f"kiosk core, in-process simulators, central on loopback; {rounds} sessions")
    print(f"  input → screen (PIN digit)     median {statistics.median(latencies) * ms:7.2f} ms")
    print(f"  confirm → done (pay + receipt) median {statistics.median(paying) * ms:7.2f} ms")
    print(f"  whole session                  median {statistics.median(sessions) * ms:7.2f} ms")


if __name__ == "__main__":
    main()
