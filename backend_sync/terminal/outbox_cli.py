"""``civicard outbox ...``: the technician's outbox recovery (docs/sync.md, "Outbox
recovery"), with the kiosk stopped.

    civicard outbox check --outbox DATA/outbox.db --terminal-id 320500000001
    civicard outbox quarantine --outbox DATA/outbox.db
    civicard outbox continue --outbox DATA/outbox.db --terminal-id 320500000001 \\
        --central URL --central-key central.pub --terminal-key terminal-key.pem

``check`` says whether the kiosk may sell on the outbox (exit 0) or why not (exit 1);
``quarantine`` moves the outbox's files, never deleting them, into a dated folder
beside it; ``continue`` creates a new outbox whose chain continues from the
central's signed head for this terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    from backend_sync.terminal.outbox import OutboxError
    from backend_sync.terminal.outbox_guard import OutboxGuard

    try:
        guard = OutboxGuard(Path(args.outbox), args.terminal_id)
    except OutboxError as exc:  # another terminal's outbox
        print(str(exc))
        return 1
    problem = guard.problem()
    if problem is None:
        assert guard.outbox is not None
        st = guard.outbox.status()
        print(f"ok: head {st.head_seq}, acknowledged {st.acked_seq}, {st.unacked} to upload")
        guard.outbox.close()
        return 0
    print(f"{problem}: {guard.error or 'the outbox is behind what was recorded'}")
    if guard.outbox is not None:
        guard.outbox.close()
    return 1


def _quarantine(args: argparse.Namespace) -> int:
    from backend_sync.terminal.outbox_files import existing_traces

    path = Path(args.outbox)
    traces = existing_traces(path)
    if not traces:
        print(f"nothing of an outbox at {path}")
        return 1
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = path.with_name(f"{path.name}.quarantine-{stamp}")
    folder.mkdir()
    for p in traces:
        shutil.move(p, folder / p.name)
    print(f"moved {', '.join(p.name for p in traces)} to {folder} (keep it)")
    return 0


def _continue(args: argparse.Namespace) -> int:
    from backend_sync import chain
    from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
    from backend_sync.terminal.outbox import Outbox, OutboxError

    client = CentralClient(
        args.central, terminal_id=args.terminal_id,
        key=chain.load_private_key(Path(args.terminal_key).read_bytes()),
        central_key=chain.load_public_key(Path(args.central_key).read_bytes()), timeout=15,
    )  # fmt: skip
    try:
        acked, head = client.terminal_head()
    except (CentralUnavailable, CentralRefused) as exc:
        print(f"the central's head for {args.terminal_id} could not be read: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        client.close()
    try:
        ob = Outbox.continue_from(Path(args.outbox), args.terminal_id, acked_seq=acked,
                                  head_hash=head)  # fmt: skip
    except OutboxError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    ob.close()
    print(f"new outbox at {args.outbox}, continuing after record {acked} (the central's head)")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``civicard outbox`` and its subcommands."""
    p = subparsers.add_parser("outbox", help="the kiosk outbox: check and recover")
    sub = p.add_subparsers(dest="outbox_command", metavar="ACTION")
    ck = sub.add_parser("check", help="may the kiosk sell on this outbox?")
    ck.add_argument("--outbox", required=True, help="the outbox file (DATA_DIR/outbox.db)")
    ck.add_argument("--terminal-id", required=True)
    ck.set_defaults(handler=_check)
    qu = sub.add_parser("quarantine", help="move the outbox's files aside (never deleted)")
    qu.add_argument("--outbox", required=True)
    qu.set_defaults(handler=_quarantine)
    co = sub.add_parser("continue", help="a new outbox continuing from the central's head")
    co.add_argument("--outbox", required=True)
    co.add_argument("--terminal-id", required=True)
    co.add_argument("--central", required=True, help="the central's URL")
    co.add_argument("--central-key", required=True, help="the central's public key (PEM)")
    co.add_argument("--terminal-key", required=True, help="this terminal's key (PEM)")
    co.set_defaults(handler=_continue)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=_help)
