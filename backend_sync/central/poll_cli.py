"""``civicard central poll create | list | close | results``: polls from the shell,
until the staff console has its poll pages (docs/polls.md).

    civicard central poll create --db URL --file poll.toml
    civicard central poll close --db URL --poll P1 [--force]
    civicard central poll results --db URL --poll P1

These commands sign nothing (the poll document is signed when a kiosk fetches it
from ``civicard central serve``), so they need only the database.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["register_poll"]


def _central(db: str) -> Any:
    from backend_sync import chain
    from backend_sync.central.cardcrypto import CardCrypto
    from backend_sync.central.db import make_engine
    from backend_sync.central.service import Central

    # A key that signs nothing here: poll documents are signed by the serving central.
    return Central(
        engine=make_engine(db), crypto=CardCrypto.of(), signing_key=chain.generate_key(),
        admin_token="",
    )  # fmt: skip


def _poll(args: argparse.Namespace) -> int:
    from backend_sync.central import polls
    from backend_sync.central.service import Refused

    central = _central(args.db)
    try:
        if args.poll_command == "create":
            path = Path(args.file)
            text = path.read_text(encoding="utf-8")
            spec = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
            poll_id = polls.create_poll(central, spec, key_bits=args.key_bits)
            print(f"poll {poll_id} created; kiosks fetch it from /v1/polls/{poll_id}")
        elif args.poll_command == "list":
            for sd in polls.poll_documents(central):
                p = sd.payload
                print(f"{p['poll_id']}  {p['status']}  {p['question']['zh-Hans']}")
        elif args.poll_command == "close":
            polls.close_poll(central, args.poll, force=args.force)
            print(f"poll {args.poll} closed; results are public")
        elif args.poll_command == "results":
            print(json.dumps(polls.results(central, args.poll).model_dump(), indent=2))
        else:
            return 2
    except (Refused, OSError, ValueError) as exc:  # tomllib/json errors are ValueErrors
        reason = exc.reason if isinstance(exc, Refused) else type(exc).__name__
        detail = exc.detail if isinstance(exc, Refused) else str(exc)
        print(f"refused: {reason}: {detail}")
        return 1
    finally:
        central.engine.dispose()
    return 0


def register_poll(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    with_db: Callable[..., argparse.ArgumentParser],
) -> None:
    """Add ``civicard central poll`` and its actions."""
    p = sub.add_parser("poll", help="polls: create, list, close, results")
    ps = p.add_subparsers(dest="poll_command", metavar="ACTION", required=True)
    cr = with_db(
        ps.add_parser("create", help="publish a poll from a TOML or JSON file"), keys=False
    )
    cr.add_argument("--file", required=True, help="poll spec (docs/polls.md, 'Publishing')")
    cr.add_argument("--key-bits", type=int, default=2048, choices=[2048, 3072, 4096])
    with_db(ps.add_parser("list", help="polls not yet closed"), keys=False)
    cl = with_db(ps.add_parser("close", help="close a poll; results become public"), keys=False)
    cl.add_argument("--poll", required=True)
    cl.add_argument("--force", action="store_true", help="close before the closing time")
    rs = with_db(ps.add_parser("results", help="totals and counted token hashes"), keys=False)
    rs.add_argument("--poll", required=True)
    p.set_defaults(handler=_poll)
    for name in ("create", "list", "close", "results"):
        ps.choices[name].set_defaults(handler=_poll)
