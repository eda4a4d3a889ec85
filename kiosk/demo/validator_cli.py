"""``civicard validator-sim``: a simulated bus validator beside the TEST ONLY demo world
(its own PSAM, enrolled key and outbox) plays a day of rides offline, a torn tap, the
upload at the depot and a card's history. Demo tooling: the product's validator is
``civicard validator bus`` (kiosk/validator)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = subparsers.add_parser(
        "validator-sim", help="a simulated bus validator beside the demo world: a day offline"
    )
    s.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default: $CIVICARD_DATA/validator-demo or var/...)",
    )
    s.add_argument("--rides", type=int, default=12, help="rides in the simulated day")
    s.set_defaults(handler=_sim)


def _sim(args: argparse.Namespace) -> int:
    """A day of rides on simulated cards, offline, then the upload at the depot."""
    import os
    import shutil
    from datetime import datetime, timedelta

    from cardlib.apdu import ApduSession
    from cardlib.bcd import CARD_TZ
    from cardlib.purse import Purse
    from kiosk.demo.validator_sim import simulated_bus
    from kiosk.demo.world import DemoWorld
    from kiosk.validator.core import Fare
    from simulators.transport import SimReader

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var")) / "validator-demo"
    shutil.rmtree(data, ignore_errors=True)  # fresh cards and central each time
    day = datetime.now(CARD_TZ).replace(hour=6, minute=0, second=0, microsecond=0)
    with DemoWorld.build(data, printer=False) as w:
        bus = simulated_bus(
            keys=w.wallet.keys(),
            central=w.central,
            ca_root=w.root,
            central_url=w.central_url,
            root=data / "bus",
            terminal_id="3205B5000001",
            fare=Fare(200, "transit", 12, 345),
            start=day,
        )
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
