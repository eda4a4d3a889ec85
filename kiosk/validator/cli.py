"""``civicard validator bus --config FILE``: a bus validator on real (or vpcd) readers.

Prints one JSON line per tap (what its display would show), so a depot script or a
test can follow it; ``--taps N`` stops after N taps. It syncs when it starts, every
``central.sync_interval`` seconds, and when it stops.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("validator", help="a bus validator: flat fare, offline, no PIN")
    sub = p.add_subparsers(dest="validator_command", metavar="KIND", required=True)
    b = sub.add_parser("bus", help="run a flat-fare bus validator on PC/SC readers")
    b.add_argument("--config", type=Path, required=True, help="TOML file")
    b.add_argument("--taps", type=int, default=None, help="stop after this many taps")
    b.set_defaults(handler=_bus)
    s = sub.add_parser("sim", help="a simulated validator beside the demo world: a day offline")
    s.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default: $CIVICARD_DATA/validator-demo or var/...)",
    )
    s.add_argument("--rides", type=int, default=12, help="rides in the simulated day")
    s.set_defaults(handler=_sim)


def _bus(args: argparse.Namespace) -> int:
    from kiosk.validator.config import ValidatorConfigError, load_validator_config
    from kiosk.validator.core import Tap
    from kiosk.validator.runtime import build_validator

    try:
        rt = build_validator(load_validator_config(args.config))
    except ValidatorConfigError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    cfg = rt.config
    print(json.dumps({"validator": rt.terminal_id, "card_reader": rt.card_reader,
                      "fare_fen": cfg.fare_fen, "line": cfg.line}), flush=True)  # fmt: skip
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()  # finish the tap in progress, sync, exit

    signal.signal(signal.SIGTERM, on_signal)

    def show(tap: Tap) -> None:
        print(json.dumps({"outcome": tap.outcome.value, "asn": tap.asn, "fare": tap.fare,
                          "balance": tap.balance, "seq": tap.seq, "detail": tap.detail}),
              flush=True)  # fmt: skip

    try:
        rt.run(show, max_taps=args.taps, stop=stop)
    finally:
        st = rt.outbox.status()
        print(json.dumps({"stopped": True, "head_seq": st.head_seq, "acked_seq": st.acked_seq}),
              flush=True)  # fmt: skip
        rt.close()
    return 0


def _sim(args: argparse.Namespace) -> int:
    """A day of rides on simulated cards, offline, then the upload at the depot."""
    import os
    import shutil
    from datetime import datetime, timedelta

    from cardlib.apdu import ApduSession
    from cardlib.bcd import CARD_TZ
    from cardlib.purse import Purse
    from kiosk.demo_world import DemoWorld
    from kiosk.validator.core import Fare
    from kiosk.validator.sim import simulated_bus
    from simulators.transport import SimReader

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var")) / "validator-demo"
    shutil.rmtree(data, ignore_errors=True)  # fresh cards and central each time
    day = datetime.now(CARD_TZ).replace(hour=6, minute=0, second=0, microsecond=0)
    with DemoWorld.build(data, printer=False) as w:
        bus = simulated_bus(keys=w.wallet.keys(), central=w.central, central_url=w.central_url,
                            root=data / "bus", terminal_id="3205B5000001",
                            fare=Fare(200, "transit", 12, 345), start=day)  # fmt: skip
        try:
            print(f"depot: hotlist v{bus.agent.run_once().hotlist_version} downloaded; offline")
            riders = [c for c in w.wallet.cards() if c.role == "citizen"]
            for i in range(args.rides):
                c = riders[i % len(riders)]
                at = day + timedelta(minutes=55 * i)
                tap = bus.tap(w.wallet.open_card(c.asn), at=at)
                print(f"{at:%H:%M} {c.name:12s} {tap.outcome.value:22s} "
                      f"balance {tap.balance if tap.balance is not None else '-'}")  # fmt: skip
            c = riders[0]
            at = day + timedelta(minutes=55 * args.rides + 30)
            torn = bus.tap(w.wallet.open_card(c.asn), at=at, pull=True)
            again = bus.tap(w.wallet.open_card(c.asn), at=at + timedelta(seconds=3))
            print(f"{at:%H:%M} {c.name:12s} card pulled during DEBIT: {torn.outcome.value}; "
                  f"tapped again: {again.outcome.value} ({again.detail})")  # fmt: skip
            report = bus.agent.run_once()
            print(f"depot: uploaded, central acknowledged up to {report.acked_seq}")
            print(f"ledger payee:transit {w.ledger_balances().get('payee:transit', 0)} fen")
            reader = SimReader("history")
            reader.insert(w.wallet.open_card(c.asn))
            print(f"{c.name}'s card history (newest first):")
            for rec in Purse(ApduSession(reader)).log():
                kind = {6: "payment", 2: "top-up", 9: "bus ride"}.get(rec.ttype, "?")
                print(f"  {rec.when:%Y-%m-%d %H:%M} {kind:8s} {rec.amount:>6d} fen "
                      f"at {rec.terminal_id.hex().upper()}")  # fmt: skip
        finally:
            bus.close()
    return 0
