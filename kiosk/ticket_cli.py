"""``civicard ticket validate``: check bus tickets' QR texts offline at boarding.

Each QR text (arguments, or one per line on standard input) is checked against
the central's public key and this bus's used list; ``--report`` then sends the
boardings to the central (as the validator terminal, signing with its key).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ticket`` group."""
    t = subparsers.add_parser("ticket", help="bus tickets: validate at boarding")
    sub = t.add_subparsers(dest="ticket_command", metavar="ACTION")
    v = sub.add_parser(
        "validate", help="check QR texts offline (a used ticket is refused)", description=__doc__
    )
    v.add_argument("qr", nargs="*", help="QR texts (default: one per line on stdin)")
    v.add_argument("--central-key", type=Path, required=True, help="central public key (PEM)")
    v.add_argument("--departure", required=True, help="the departure this bus serves")
    v.add_argument("--db", type=Path, default=Path("out/ticket-validator.db"), help="used list")
    v.add_argument("--report", metavar="URL", help="then report boardings to this central")
    v.add_argument("--terminal-id", help="validator terminal id (with --report)")
    v.add_argument("--key", type=Path, help="validator terminal key, PEM (with --report)")
    v.set_defaults(handler=_validate)

    def _help(_args: argparse.Namespace) -> int:
        t.print_help()
        return 2

    t.set_defaults(handler=_help)


def _validate(args: argparse.Namespace) -> int:
    from backend_sync import chain
    from backend_sync.terminal.bus_validation import TicketValidator

    key = chain.load_public_key(args.central_key.read_bytes())
    args.db.parent.mkdir(parents=True, exist_ok=True)
    validator = TicketValidator(args.db, key, args.departure)
    texts = args.qr or [line for line in sys.stdin.read().splitlines() if line.strip()]
    refused = 0
    try:
        for text in texts:
            verdict = validator.validate(text)
            refused += not verdict.ok
            seat = f" seat {verdict.seat}" if verdict.seat else ""
            print(
                f"{'BOARD' if verdict.ok else 'REFUSED'} {verdict.reason}"
                f" {verdict.ticket_id}{seat}".rstrip()
            )
        if args.report:
            from backend_sync.terminal.client import CentralClient

            if not (args.terminal_id and args.key):
                print("--report needs --terminal-id and --key", file=sys.stderr)
                return 2
            client = CentralClient(
                args.report,
                terminal_id=args.terminal_id,
                key=chain.load_private_key(args.key.read_bytes()),
                central_key=key,
                timeout=10,
            )
            try:
                ack = validator.report(client)
            finally:
                client.close()
            print(f"reported {ack.accepted} boardings; unknown {len(ack.unknown)}")
    finally:
        validator.close()
    return 1 if refused else 0
