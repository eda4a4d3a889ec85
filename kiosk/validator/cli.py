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
