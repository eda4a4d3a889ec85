"""``civicard demo``: the README's main job.

Until the kiosk UI lands, the demo is a whole scripted citizen session on
simulated devices and an embedded central (``civicard session`` with its default
script): card inserted and checked (hotlist, expiry, authenticity), PIN, balance,
a water bill fetched from the central and paid from the e-purse (the payment
order held before the debit, the intent in the outbox before DEBIT), the receipt
printed on the simulated printer, the record uploaded and posted to the ledger,
card taken. No root, no display needed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="scripted citizen session on simulators")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default: $CIVICARD_DATA/demo or var/demo)",
    )
    p.add_argument("--language", default="zh-Hans", help="zh-Hans, zh-Hant or en")
    p.add_argument("--script", type=Path, default=None, help="another session script")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import shutil

    from kiosk.session_cli import DEFAULT_SCRIPT, run_script

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var")) / "demo"
    # Each demo starts from fresh cards, central and outbox, so it reads the same
    # every time (the script pays bill 1000001 once).
    shutil.rmtree(data, ignore_errors=True)
    script = args.script.read_text(encoding="utf-8") if args.script else DEFAULT_SCRIPT
    return run_script(script, data=data, language=args.language)
