"""The ``civicard`` command: the one composition root.

Each subcommand lives in its own module exposing ``register(subparsers)``; this
module only assembles them. Handlers import heavy or optional parts (Kivy, pyscard,
simulators, the central) lazily, inside themselves.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Modules that contribute subcommands. Keep in sync with README "Commands".
_COMMAND_MODULES = (
    "kiosk.demo.demo_cli",
    "kiosk.demo.session_cli",
    "kiosk.kiosk_cli",
    "terminal_ui.cli",
    "kiosk.demo.issuer_cli",
    "simulators.cli",
    "drivers.pcsc_cli",
    "backend_sync.central.cli",
    "kiosk.validator.cli",
    "kiosk.demo.validator_cli",
    "kiosk.diagnostics.cli",
    "backend_sync.terminal.outbox_cli",
    "kiosk.ticket_cli",
    "kiosk.demo.counter_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicard", description="civicard: citizen card kiosk, simulators and central"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--trace-apdu", action="store_true", help="log every APDU (PINs redacted)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )
    if args.trace_apdu:
        from cardlib.apdu import enable_apdu_trace

        enable_apdu_trace()
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
