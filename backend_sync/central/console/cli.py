"""``civicard central staff add``: staff accounts from the shell (the first
administrator, before anyone can log in to the console to make the others).

    CIVICARD_STAFF_PASSWORD=... civicard central staff add --db URL --username u \\
        --role administrator --display-name "..." [--department D]

Without CIVICARD_STAFF_PASSWORD the password is asked for on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable

__all__ = ["register_staff"]


def _staff(args: argparse.Namespace) -> int:
    from backend_sync.central.console import accounts
    from backend_sync.central.poll_cli import _central
    from backend_sync.central.service import Refused

    password = os.environ.get("CIVICARD_STAFF_PASSWORD") or getpass.getpass("password: ")
    central = _central(args.db)
    try:
        accounts.create_account(
            central, username=args.username, password=password, role=args.role,
            display_name=args.display_name, department=args.department, by="cli",
        )  # fmt: skip
    except Refused as exc:
        print(f"refused: {exc.reason}: {exc.detail}")
        return 1
    finally:
        central.engine.dispose()
    print(f"staff account {args.username} ({args.role}) created")
    return 0


def register_staff(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    with_db: Callable[..., argparse.ArgumentParser],
) -> None:
    """Add ``civicard central staff add``."""
    from backend_sync.central.console.models import ROLES

    p = sub.add_parser("staff", help="staff console accounts")
    ps = p.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = with_db(ps.add_parser("add", help="create a staff account"), keys=False)
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", required=True)
    add.add_argument("--department")
    add.set_defaults(handler=_staff)
    p.set_defaults(handler=_staff)
